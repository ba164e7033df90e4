"""html_to_text, sanitize_html, rewrite_cid and cid_references."""

from __future__ import annotations

from typing import ClassVar

import pytest

from opora.kit.html import cid_references, html_to_text, rewrite_cid, sanitize_html


class TestHtmlToText:
    @pytest.mark.parametrize(
        ("html", "text"),
        [
            ("", ""),
            ("plain words", "plain words"),
            ("<p>One</p><p>Two<br>three</p>", "One\n\nTwo\nthree"),
            ("<p>  lots   of\n\n spaces\t here </p>", "lots of spaces here"),
            ("a<br>b<br/><br />c", "a\nb\n\nc"),
            ("<div>a<br></div><div>b</div>", "a\nb"),
            # Gmail: a line per div, an empty line as <div><br></div>
            ('<div dir="ltr">Привет<div><br></div><div>Текст</div></div>', "Привет\n\nТекст"),
            ("<h1>Title</h1>body", "Title\n\nbody"),
            ("<ul><li>a</li><li>b</li></ul>after", "- a\n- b\n\nafter"),
            ("<ol><li>x</li><li>y</li></ol>", "1. x\n2. y"),
            ("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", "- a\n  - b\n- c"),
            ("<a href='https://ex.ru/a'>click</a>", "click (https://ex.ru/a)"),
            ("<a href='https://ex.ru/'>https://ex.ru</a>", "https://ex.ru"),
            ("<a href='https://www.ex.ru/'>ex.ru</a>", "ex.ru"),
            ("<a href='mailto:a@b.ru'>a@b.ru</a>", "a@b.ru"),
            ("<a href='mailto:a@b.ru'>Иван</a>", "Иван (a@b.ru)"),
            ("<a href='javascript:alert(1)'>x</a>", "x"),
            ("<a href='cid:logo'>x</a>", "x"),
            ("<a href='https://ex.ru'><img src='logo.png'></a>", ""),
            ("Hi<blockquote>quoted</blockquote>after", "Hi\n\n> quoted\n\nafter"),
            (
                "<blockquote><p>one</p><p>two</p><blockquote>deep</blockquote></blockquote>",
                "> one\n>\n> two\n>\n> > deep",
            ),
            (
                "<table><tr><td>A</td><td>B</td></tr><tr><td>1</td><td></td><td>3</td></tr></table>",
                "A | B\n1 | 3",
            ),
            ("<table><tr><td><p>cell</p></td><td>next</td></tr></table>", "cell\n\nnext"),
            ("<pre>\n  code\n    more</pre>text", "  code\n    more\n\ntext"),
            ("<p>x</p><hr><p>y</p>", "x\n\n---\n\ny"),
            (
                "AT&amp;T &lt;tag&gt; &laquo;ёлка&raquo; &#1055;&#x41; &nbsp;end",
                "AT&T <tag> «ёлка» ПA  end",
            ),
            ("&bogus; 5 < 6 & 7 > 2", "&bogus; 5 < 6 & 7 > 2"),
            (
                "<html><head><title>T</title><style>p{color:red}</style></head>"
                "<body><p>Body</p><script>alert(1)</script></body></html>",
                "Body",
            ),
            ("<head><meta charset=utf-8><body>no head close", "no head close"),
            ("<b>unclosed <i>tags <p>para <div>div", "unclosed tags\n\npara\ndiv"),
            ("<p>a</p>\n\n\n<p></p><p></p><br><br><br><p>b</p>", "a\n\nb"),
            ("<div>x\x00y</div>", "xy"),
            ("<![foo]> weird <!DOCTYPE html><!-- comment --> ok", "weird ok"),
            ("<svg><text>drawn</text></svg>visible", "visible"),
        ],
    )
    def test_conversions(self, html: str, text: str) -> None:
        assert html_to_text(html) == text

    def test_word_html_is_single_spaced_and_loses_its_markup(self) -> None:
        html = (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
            "<style><!-- p.MsoNormal {margin:0cm} --></style>"
            "<!--[if gte mso 9]><xml><o:shapedefaults v:ext='edit'/></xml><![endif]--></head>"
            '<body><div class="WordSection1">'
            '<p class="MsoNormal">Hello,<o:p></o:p></p>'
            '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
            '<p class="MsoNormal">Thanks<o:p></o:p></p>'
            '<p class="MsoListParagraph"><![if !supportLists]>-<![endif]>item</p>'
            "</div></body></html>"
        )
        assert html_to_text(html) == "Hello,\n\nThanks\n-item"

    def test_the_result_has_no_trailing_spaces_and_no_carriage_returns(self) -> None:
        text = html_to_text("<pre>a   \r\nb\r\n</pre><p>c&nbsp;</p>")
        assert text == "a\nb\n\nc"

    @pytest.mark.parametrize(
        ("html", "text"),
        [
            # html.parser needs minutes for the first two; a linear scan, milliseconds.
            ("<a " * 20000, ("<a " * 20000).strip()),
            ("<!--" * 20000 + "-->after", "after"),
            ("< " * 20000 + ">", "< " * 20000 + ">"),
            ("<script>" * 20000 + "</script>shown", "shown"),
            # indentation and quote marks stop growing at ten levels
            ("<ul>" * 3000 + "<li>x" * 3, "\n".join([" " * 20 + "- x"] * 3)),
            ("<blockquote>" * 3000 + "deep", "> " * 10 + "deep"),
        ],
    )
    def test_hostile_documents_stay_linear_and_bounded(self, html: str, text: str) -> None:
        assert html_to_text(html) == text

    def test_a_big_document_is_linear(self) -> None:
        html = (
            "<div><p>Строка <b>текста</b> &amp; <a href='https://ex.ru'>ссылка</a></p></div>" * 1000
        )
        text = html_to_text(html)
        assert text.count("Строка текста & ссылка (https://ex.ru)") == 1000


class TestSanitizeHtml:
    @pytest.mark.parametrize(
        ("html", "expected"),
        [
            ("<p>Hi <b>there</b></p>", "<p>Hi <b>there</b></p>"),
            ("<p style='color:red' class='x' id='y'>a</p>", "<p>a</p>"),
            ("<font color=red face=Arial>text</font>", "text"),
            ("<script>alert(1)</script>after", "after"),
            ("<style>p{}</style>after", "after"),
            ("<iframe src='https://evil'>inside</iframe>after", "after"),
            ("<form action='x'><input name='q'><button>Go</button></form>after", "after"),
            ("<img src='x.png' onerror='alert(1)'>", '<img src="x.png">'),
            (
                "<img src='cid:logo@x' alt='Logo' width='10' height='5'>",
                '<img src="cid:logo@x" alt="Logo" width="10" height="5">',
            ),
            ("<img src='data:image/png;base64,AAAA'>", "<img>"),
            (
                "<a href='javascript:alert(1)'>x</a>",
                '<a target="_blank" rel="noopener noreferrer nofollow">x</a>',
            ),
            (
                "<a href='https://ex.ru' target='_top' onclick='x()'>x</a>",
                '<a href="https://ex.ru" target="_blank" rel="noopener noreferrer nofollow">x</a>',
            ),
            (
                "<a href='mailto:a@b.ru'>a</a>",
                '<a href="mailto:a@b.ru" target="_blank" rel="noopener noreferrer nofollow">a</a>',
            ),
            ("<td colspan=2 rowspan=3 width=5>c</td>", "c"),
            (
                "<table><tr><td colspan=2 width=5>c</td></tr></table>",
                '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>',
            ),
            ("<p>a<!-- secret --></p>", "<p>a</p>"),
            ("<o:p>&nbsp;</o:p>", "&nbsp;"),
            ("<blockquote type='cite'>q</blockquote>", "<blockquote>q</blockquote>"),
            ("", ""),
        ],
    )
    def test_cases(self, html: str, expected: str) -> None:
        assert sanitize_html(html) == expected

    def test_deep_nesting_is_cut_before_cleaning(self) -> None:
        # The cleaner's tree building is quadratic in depth: 40,000 divs took seconds.
        html = "<div>" * 40000 + "text"
        cleaned = sanitize_html(html)
        assert cleaned == "<div>" * 200 + "text" + "</div>" * 200

    def test_shallow_documents_with_many_tags_are_untouched(self) -> None:
        html = "<div><b>x</b></div>" * 3000
        assert sanitize_html(html) == html

    def test_a_whole_document_keeps_only_its_body(self) -> None:
        html = (
            "<!DOCTYPE html><html><head><title>Secret title</title>"
            "<meta http-equiv='refresh' content='0;url=https://evil'></head>"
            "<body onload='x()'><p>Body</p></body></html>"
        )
        assert sanitize_html(html) == "<p>Body</p>"


class TestCid:
    URLS: ClassVar[dict[str, str]] = {
        "img1@x": "/files/1?a=1&b=2",
        "<img2@x>": "/files/2",
        "Logo@X": "/files/3",
    }

    @pytest.mark.parametrize(
        ("html", "expected"),
        [
            ('<img src="cid:img1@x">', '<img src="/files/1?a=1&amp;b=2">'),
            ("<img src='cid:img1@x'>", '<img src="/files/1?a=1&amp;b=2">'),
            ("<img src=cid:img1@x>", '<img src="/files/1?a=1&amp;b=2">'),
            ('<img SRC = "CID:img1@x" alt="a">', '<img SRC = "/files/1?a=1&amp;b=2" alt="a">'),
            ('<img src="cid:img2@x">', '<img src="/files/2">'),
            ('<img src="cid:%3Cimg2@x%3E">', '<img src="/files/2">'),
            ('<img src="cid:logo@x">', '<img src="/files/3">'),
            ('<img src="cid:unknown@x">', '<img src="cid:unknown@x">'),
            ('<a href="cid:img1@x">x</a>', '<a href="cid:img1@x">x</a>'),
            ("<p>no images</p>", "<p>no images</p>"),
        ],
    )
    def test_rewrite(self, html: str, expected: str) -> None:
        assert rewrite_cid(html, self.URLS) == expected

    def test_no_urls_leave_the_html_alone(self) -> None:
        assert rewrite_cid('<img src="cid:a">', {}) == '<img src="cid:a">'

    def test_it_works_on_sanitized_html(self) -> None:
        html = sanitize_html("<p><img src='cid:img1@x' onerror='x'></p>")
        assert rewrite_cid(html, self.URLS) == '<p><img src="/files/1?a=1&amp;b=2"></p>'

    def test_references(self) -> None:
        html = (
            "<img src=\"cid:a@x\"><img src='CID:%3Cb@x%3E'>"
            '<td background="cid:c@x"><img src="https://ex.ru/cid:no">'
        )
        assert cid_references(html) == {"a@x", "b@x", "c@x"}
        assert cid_references("<p>nothing</p>") == set()
