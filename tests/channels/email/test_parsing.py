"""parse_email on the corpus (tests/channels/email/corpus/) and on small built messages.

Expected values are the ones the corpus files were written with (see corpus/README.md),
not copies of the parser's output.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from opora.channels.email.parsing import (
    Address,
    AutoKind,
    Bounce,
    EmailParseError,
    ParsedEmail,
    parse_email,
)
from opora.kit.html import html_to_text, rewrite_cid
from tests.channels.email.corpus import CORPUS, load, names


def parse(name: str) -> ParsedEmail:
    return parse_email(load(name))


def message(headers: str, body: str = "Hello.\n") -> bytes:
    """A small CRLF message from header lines and a body."""
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


class TestEveryCorpusMessage:
    @pytest.mark.parametrize("name", names())
    def test_parses_into_clean_fields(self, name: str) -> None:
        raw = load(name)
        parsed = parse_email(raw)
        assert parsed.size == len(raw)
        assert "\x00" not in parsed.text
        assert "\r" not in parsed.text
        assert all(line == line.rstrip() for line in parsed.text.split("\n"))
        assert not any(defect.startswith("internal error") for defect in parsed.defects)
        assert "\n" not in parsed.subject
        assert parsed.date is None or parsed.date.utcoffset() == timedelta(0)
        addresses = [parsed.sender, *parsed.to, *parsed.cc, *parsed.reply_to]
        for address in addresses:
            assert address is None or address.email.count("@") == 1
        for attachment in parsed.attachments:
            assert attachment.filename
            assert "/" not in attachment.filename and "\\" not in attachment.filename
            assert len(attachment.filename) <= 255
            assert attachment.filename.isprintable()
            assert re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", attachment.content_type)
        if parsed.html is not None:
            assert "<script" not in parsed.html.lower()
            assert "style=" not in parsed.html.lower()

    def test_the_corpus_is_large_enough(self) -> None:
        assert len(names()) >= 35

    def test_the_readme_lists_every_file_and_no_other(self) -> None:
        listed = set(re.findall(r"`([a-z0-9-]+\.eml)`", (CORPUS / "README.md").read_text()))
        assert listed == set(names())


class TestBodyAndSender:
    CASES: ClassVar[dict[str, tuple[str, Address, str]]] = {
        "plain-utf8-ru.eml": (
            "Не могу войти в личный кабинет",
            Address("Иван Петров", "ivan.petrov@yandex.ru"),
            "Здравствуйте!\n\nНе могу войти в личный кабинет: после ввода пароля страница"
            " обновляется\nи ничего не происходит.\n\nС уважением,\nИван Петров",
        ),
        "koi8r-declared.eml": (
            "Счёт на продление",
            Address("Сергей Волков", "s.volkov@sever.example.ru"),
            "Добрый день.\n\nПрошу выставить счёт на продление лицензии на 25 рабочих мест."
            '\n\n--\nСергей Волков\nООО "Север"',
        ),
        "cp1251-declared.eml": (
            "Re: Ошибка при входе",
            Address("Марина Кузнецова", "marina@romashka.example.ru"),
            "Здравствуйте, Ольга!\n\nСпасибо за быстрый ответ. Ошибка «Доступ запрещён» больше"
            " не появляется.\n\n--\nС уважением,\nМарина Кузнецова",
        ),
        "cp1251-no-charset.eml": (
            "Заявка на подключение",
            Address("Ольга Смирнова", "olga.smirnova@shop.example.ru"),
            "Прошу подключить нашу компанию к тарифу «Бизнес».\n"
            "Контактный телефон: +7 495 123-45-67",
        ),
        "koi8r-no-charset.eml": (
            "Re: order 4411",
            Address("Boris", "boris@old-unix.example.ru"),
            "Заказ получили, но в коробке не хватает двух кабелей питания.\n"
            "Пришлите, пожалуйста, недостающее.",
        ),
        "latin1-western.eml": (
            "Problème de connexion",
            Address("François Lefèvre", "francois.lefevre@example.fr"),
            "Bonjour,\n\nJe n'arrive pas à me connecter depuis la mise à jour. Le message"
            " d'erreur indique « mot de passe incorrect ».\n\nCordialement,\nFrançois Lefèvre",
        ),
        "latin9-western.eml": (
            "Rechnung über 50 €",
            Address("Jürgen Weiß", "j.weiss@example.de"),
            "Sehr geehrte Damen und Herren,\n\ndie Rechnung über 50 € wurde doppelt abgebucht."
            " Bitte prüfen Sie das.\n\nMit freundlichen Grüßen\nJürgen Weiß",
        ),
        "mislabeled-utf8-is-cp1251.eml": (
            "Не приходит SMS с кодом",
            Address("Dmitry", "dmitry@example.ru"),
            "Добрый день. Уже третий день не приходит SMS с кодом подтверждения на мой номер.",
        ),
        "unknown-charset.eml": (
            "Срочно: не работает касса",
            Address("", "ivan@example.ru"),
            "Касса не печатает чеки с утра. Перезагрузка не помогла.",
        ),
        "alternative-text-html.eml": (
            "Двухфакторная аутентификация",
            Address("Анна Белова", "anna.belova@outlook.example.com"),
            "Здравствуйте!\n\nКак подключить двухфакторную аутентификацию?\n\nАнна",
        ),
        "smime-signed.eml": (
            "Signed",
            Address("Антон Крылов", "a.krylov@bank.example.ru"),
            "Подписанное письмо: реквизиты для оплаты не изменились.",
        ),
        "bare-lf.eml": (
            "Лог ошибки",
            Address("Кирилл", "kirill@example.ru"),
            "Лог во вложении.\nВторая строка.",
        ),
        "broken-base64.eml": ("broken base64", Address("", "ivan@example.ru"), "Привет! Это тест."),
    }

    @pytest.mark.parametrize("name", CASES)
    def test_subject_sender_and_text(self, name: str) -> None:
        subject, sender, text = self.CASES[name]
        parsed = parse(name)
        assert parsed.subject == subject
        assert parsed.sender == sender
        assert parsed.text == text


class TestCharsetDefects:
    @pytest.mark.parametrize(
        ("name", "defect"),
        [
            ("cp1251-no-charset.eml", "text/plain part: no charset declared; decoded as cp1251"),
            ("cp1251-no-charset.eml", "Subject: 8-bit header bytes; decoded as cp1251"),
            ("koi8r-no-charset.eml", "text/plain part: no charset declared; decoded as koi8-r"),
            (
                "mislabeled-utf8-is-cp1251.eml",
                "text/plain part: charset 'UTF-8' does not fit the bytes; decoded as cp1251",
            ),
            (
                "unknown-charset.eml",
                "text/plain part: unknown charset 'x-user-defined'; decoded as cp1251",
            ),
            (
                "unknown-charset.eml",
                "Subject: encoded-word: unknown charset 'x-unknown'; decoded as utf-8",
            ),
            ("broken-base64.eml", "invalid base64 characters"),
        ],
    )
    def test_a_guess_is_recorded(self, name: str, defect: str) -> None:
        assert defect in parse(name).defects

    @pytest.mark.parametrize(
        "name",
        [
            "plain-utf8-ru.eml",
            "koi8r-declared.eml",
            "cp1251-declared.eml",
            "latin1-western.eml",
            "latin9-western.eml",
            "rfc2047-koi8r-b-split.eml",
            "rfc2047-malformed.eml",
            "reply-gmail-ru.eml",
        ],
    )
    def test_declared_charsets_that_fit_leave_no_defects(self, name: str) -> None:
        assert parse(name).defects == ()


class TestEncodedHeaders:
    def test_koi8r_words_split_across_lines(self) -> None:
        parsed = parse("rfc2047-koi8r-b-split.eml")
        assert parsed.sender == Address("Александра Григорьева", "a.grigorieva@example.ru")
        assert parsed.subject == "Вопрос по договору поставки оборудования"

    def test_a_character_split_between_q_encoded_words(self) -> None:
        parsed = parse("rfc2047-utf8-q-split.eml")
        assert parsed.subject == "Re: Ошибка 500 при оплате картой"
        assert parsed.sender == Address("Анна", "anna@example.ru")

    def test_malformed_encoded_words(self) -> None:
        parsed = parse("rfc2047-malformed.eml")
        assert parsed.subject == "Проблема с оплатой"
        assert parsed.sender == Address("Бухгалтерия ООО «Ромашка»", "buh@romashka.example.ru")
        assert parsed.to == (Address("Поддержка", "support@opora.example"),)
        assert parsed.cc == (
            Address("Анна", "anna@romashka.example.ru"),
            Address("Пётр", "petr@romashka.example.ru"),
        )

    def test_a_long_folded_subject_becomes_one_line(self) -> None:
        parsed = parse("long-folded-subject.eml")
        assert parsed.subject == (
            "Просьба срочно проверить начисления по договору № 2024-117 за январь и февраль, "
            "так как сумма в личном кабинете не совпадает с суммой в выставленном счёте, "
            "а бухгалтерия не может закрыть месяц без корректного акта сверки; "
            "также прошу прислать копии всех актов за прошлый квартал"
        )

    def test_the_first_of_duplicate_headers_wins(self) -> None:
        parsed = parse("duplicate-subject.eml")
        assert parsed.subject == "First subject"
        assert parsed.message_id == "dup-1@example.ru"
        assert "duplicate Subject header; the first one used" in parsed.defects
        assert "duplicate Message-ID header; the first one used" in parsed.defects

    def test_raw_utf8_subject_and_a_broken_header_block(self) -> None:
        parsed = parse("broken-headers.eml")
        assert parsed.subject == "Привет из RFC 6532"
        assert parsed.sender == Address("Ivan", "ivan@example.ru")
        assert "missing header body separator" in parsed.defects
        assert parsed.text.endswith("Body after a broken header block.")

    def test_nul_bytes_are_removed(self) -> None:
        parsed = parse("nul-bytes.eml")
        assert parsed.subject == "NUL in subject"
        assert parsed.text == "Текст с нулевым байтом."
        assert "NUL characters removed from the text" in parsed.defects

    def test_a_raw_8bit_name_in_the_body_charset(self) -> None:
        parsed = parse("attachment-8bit-cp1251-name.eml")
        assert parsed.sender == Address("Отдел закупок", "zakupki@example.ru")
        assert parsed.subject == "Прайс"


class TestIdentityAndDates:
    def test_ids_dates_and_recipients(self) -> None:
        parsed = parse("plain-utf8-ru.eml")
        assert parsed.message_id == "1705311045.123456@web42.yandex.ru"
        assert parsed.date == datetime(2024, 1, 15, 9, 30, 45, tzinfo=UTC)
        assert parsed.to == (Address("", "support@opora.example"),)
        assert parsed.delivered_to == ("support@opora.example",)
        assert parsed.headers == {"Return-Path": "<ivan.petrov@yandex.ru>"}

    def test_thread_headers_in_order(self) -> None:
        parsed = parse("reply-gmail-ru.eml")
        assert parsed.in_reply_to == ("ticket-1042.msg-2@opora.example",)
        assert parsed.references == (
            "ticket-1042.msg-1@opora.example",
            "ticket-1042.msg-2@opora.example",
        )
        assert parsed.delivered_to == ("support@opora.example", "help@opora.example")

    def test_reply_to_and_kept_headers(self) -> None:
        parsed = parse("cp1251-declared.eml")
        assert parsed.reply_to == (Address("Марина Кузнецова", "m.kuznetsova@romashka.example.ru"),)
        assert parsed.to == (Address("Служба поддержки", "support@opora.example"),)
        assert parsed.in_reply_to == ("ticket-1001.msg-2@opora.example",)
        assert parsed.headers == {
            "Return-Path": "<marina@romashka.example.ru>",
            "X-Mailer": "The Bat! (v9.5.3) Professional",
        }

    def test_envelope_to_counts_as_delivered_to(self) -> None:
        assert parse("reply-yandex-ru.eml").delivered_to == ("support@opora.example",)

    @pytest.mark.parametrize(
        ("name", "defect"),
        [("no-message-id.eml", "no Message-ID"), ("no-date.eml", "no Date")],
    )
    def test_missing_headers(self, name: str, defect: str) -> None:
        parsed = parse(name)
        assert defect in parsed.defects
        assert parsed.message_id is None or parsed.date is None
        assert parsed.sender == Address("Ivan", "ivan@example.ru")

    def test_no_message_id(self) -> None:
        assert parse("no-message-id.eml").message_id is None

    def test_no_date(self) -> None:
        assert parse("no-date.eml").date is None

    def test_a_date_in_free_text(self) -> None:
        parsed = parse("garbage-date.eml")
        assert parsed.date is None
        assert any(defect.startswith("unparseable Date") for defect in parsed.defects)
        assert parsed.message_id == "garbage-date-1@example.ru"

    def test_no_from(self) -> None:
        parsed = parse("no-from.eml")
        assert parsed.sender is None
        assert "no From header" in parsed.defects
        assert parsed.to == (Address("", "support@opora.example"),)
        assert parsed.subject == "who am I"

    @pytest.mark.parametrize(
        ("date", "expected"),
        [
            ("Mon, 15 Jan 2024 12:30:45 +0300", datetime(2024, 1, 15, 9, 30, 45, tzinfo=UTC)),
            ("15 Jan 2024 12:30:45 -0500 (EST)", datetime(2024, 1, 15, 17, 30, 45, tzinfo=UTC)),
            ("Mon, 15 Jan 2024 12:30:45 -0000", datetime(2024, 1, 15, 12, 30, 45, tzinfo=UTC)),
            ("2024-01-15 12:30:45", datetime(2024, 1, 15, 12, 30, 45, tzinfo=UTC)),
            ("yesterday", None),
            ("Mon, 45 Foo 2024 99:99:99 +9999", None),
        ],
    )
    def test_dates_become_utc(self, date: str, expected: datetime | None) -> None:
        assert parse_email(message(f"From: a@b.ru\nDate: {date}")).date == expected

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("Message-ID: <abc@example.ru>", "abc@example.ru"),
            ("Message-ID: abc@example.ru", "abc@example.ru"),
            ("Message-ID:  <abc@example.ru> (comment)", "abc@example.ru"),
            ("Message-ID: <>", None),
            ("Message-ID: not an id at all", None),
        ],
    )
    def test_message_ids(self, header: str, expected: str | None) -> None:
        assert parse_email(message(f"From: a@b.ru\n{header}")).message_id == expected

    def test_references_keep_order_and_drop_repeats(self) -> None:
        raw = message(
            "From: a@b.ru\nIn-Reply-To: Your message of Monday <c@x>\n"
            "References: <a@x>\n <b@x> <a@x>\n\t<c@x>"
        )
        parsed = parse_email(raw)
        assert parsed.references == ("a@x", "b@x", "c@x")
        assert parsed.in_reply_to == ("c@x",)

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("To: Ivan <Ivan.Petrov@Example.RU>", (Address("Ivan", "Ivan.Petrov@example.ru"),)),
            ("To: ivan@mail.ru (Иван Петров)", (Address("Иван Петров", "ivan@mail.ru"),)),
            (
                'To: "Петров, Иван" <ivan@x.ru>, b@y.ru',
                (Address("Петров, Иван", "ivan@x.ru"), Address("", "b@y.ru")),
            ),
            ("To: undisclosed-recipients:;", ()),
            ("To: <ivan@x.ru> broken <<<", (Address("", "ivan@x.ru"),)),
            ('To: "ivan@x.ru" <ivan@x.ru>', (Address("", "ivan@x.ru"),)),
            ("To: a@x.ru, A@X.RU", (Address("", "a@x.ru"),)),
        ],
    )
    def test_address_lists(self, header: str, expected: tuple[Address, ...]) -> None:
        assert parse_email(message(f"From: a@b.ru\n{header}")).to == expected

    def test_kept_headers(self) -> None:
        raw = message(
            "From: a@b.ru\nX-Opora-Ticket: 1042\nUser-Agent: Mozilla Thunderbird\n"
            "X-Spam-Score: 5\nReturn-Path: <a@b.ru>"
        )
        assert parse_email(raw).headers == {
            "Return-Path": "<a@b.ru>",
            "User-Agent": "Mozilla Thunderbird",
            "X-Opora-Ticket": "1042",
        }


class TestHtmlBodies:
    def test_html_only_gives_text_and_safe_html(self) -> None:
        parsed = parse("html-only-ru.eml")
        assert parsed.text == (
            "Добрый день!\n\nПосле обновления приложения пропали:\n\n- история заказов;\n"
            "- избранные товары.\n\nПодробнее «тут»: мои заказы"
            " (https://shop.example.ru/orders?id=42&tab=1)\n\n--\nАлексей"
        )
        assert parsed.html is not None
        assert "<li>история заказов;</li>" in parsed.html
        assert "alert" not in parsed.html and "Письмо" not in parsed.html
        assert 'target="_blank"' in parsed.html
        assert parsed.raw_html is not None and "<script>" in parsed.raw_html

    def test_the_alternative_keeps_both(self) -> None:
        parsed = parse("alternative-text-html.eml")
        assert parsed.html is not None and "<b>двухфакторную</b>" in parsed.html
        assert parsed.attachments == ()

    def test_a_message_without_html_has_none(self) -> None:
        parsed = parse("plain-utf8-ru.eml")
        assert parsed.html is None
        assert parsed.raw_html is None

    def test_inline_image_referenced_by_cid(self) -> None:
        parsed = parse("related-inline-image.eml")
        cid = "part1.Xy7Qe2Lm.Ab3De4Fg@example.ru"
        assert [
            (a.filename, a.content_type, a.content_id, a.inline) for a in parsed.attachments
        ] == [
            ("screenshot.png", "image/png", cid, True),
            ("logo.jpg", "image/jpeg", "logo.unused@example.ru", False),
            ("invoice.pdf", "application/pdf", None, False),
        ]
        assert parsed.attachments[0].data.startswith(b"\x89PNG\r\n")
        assert parsed.attachments[2].data == b"%PDF-1.4\n%fake\n"
        assert parsed.text == "Вот скриншот ошибки:\n\nЧто делать?"
        assert parsed.html is not None
        assert 'src="/files/7"' in rewrite_cid(parsed.html, {cid: "/files/7"})

    def test_apple_mail_text_around_an_image_is_joined(self) -> None:
        parsed = parse("apple-mail-mixed-inline.eml")
        assert parsed.text == "Вот что я вижу:\n\n\nОльга"
        assert [(a.filename, a.content_type, a.inline) for a in parsed.attachments] == [
            ("IMG_0042.jpeg", "image/jpeg", False)
        ]
        assert parsed.html is None


class TestReplies:
    @pytest.mark.parametrize(
        ("name", "subject", "in_text", "in_html_text"),
        [
            (
                "reply-gmail-ru.eml",
                "Re: [#1042] Не могу войти в личный кабинет",
                "пн, 15 янв. 2024 г. в 12:30, Служба поддержки <support@opora.example>:\n\n"
                "> Здравствуйте, Иван!\n>\n> Попробуйте очистить кэш браузера и войти снова.",
                "\n\n> Здравствуйте, Иван!\n>\n> Попробуйте очистить кэш браузера и войти снова.",
            ),
            (
                "reply-yandex-ru.eml",
                "Re: [#1050] Не открывается сайт",
                '15.01.2024, 12:30, "Служба поддержки" <support@opora.example>:\n> Здравствуйте!',
                "> Здравствуйте!\n> Проверьте, пожалуйста, настройки прокси.",
            ),
            (
                "reply-mailru-ru.eml",
                "Re[2]: [#1063] Ошибка при оплате",
                ">Здравствуйте! Пришлите, пожалуйста, скриншот.",
                "> Понедельник, 15 января 2024, 12:30 +03:00 от Служба поддержки"
                " <support@opora.example>:\n>\n> Здравствуйте! Пришлите, пожалуйста, скриншот.",
            ),
            (
                "reply-apple-mail.eml",
                "Re: [#1090] Оплата",
                "> 15 янв. 2024 г., в 12:30, Служба поддержки <support@opora.example>"
                " написал(а):\n>\n> Платёж не прошёл, попробуйте ещё раз.",
                "> Платёж не прошёл, попробуйте ещё раз.",
            ),
            (
                "reply-outlook-en.eml",
                "RE: [#1077] VPN client crashes",
                "John\n\n-----Original Message-----\nFrom: Support <support@opora.example>",
                "Thanks, that fixed it.\n\nJohn\n\nFrom: Support <support@opora.example>\n"
                "Sent: Monday, February 12, 2024 10:00 AM",
            ),
        ],
    )
    def test_quoted_history_is_in_the_text_and_the_html(
        self, name: str, subject: str, in_text: str, in_html_text: str
    ) -> None:
        parsed = parse(name)
        assert parsed.subject == subject
        assert in_text in parsed.text
        assert parsed.raw_html is not None
        assert in_html_text in html_to_text(parsed.raw_html)

    def test_outlook_word_html_is_single_spaced(self) -> None:
        parsed = parse("reply-outlook-en.eml")
        assert parsed.raw_html is not None
        text = html_to_text(parsed.raw_html)
        assert text.endswith("Hello John,\nPlease update the client to version 5.2.")
        assert "\n\n\n" not in text and "Cambria" not in text and "shapedefaults" not in text

    def test_thunderbird_flowed_text_is_unwrapped(self) -> None:
        parsed = parse("reply-thunderbird-flowed.eml")
        assert parsed.text == (
            "Hello,\n\nthank you for the quick answer. The export works again, but the dates in "
            "the CSV file are still in the wrong format (MM/DD instead of DD.MM). Could you "
            "check that too?\n\nOn 12.02.2024 10:00, Support wrote:\n> Hello Peter, the export"
            " was fixed in version 3.4.1, please update and try again.\n>\n>> The export to CSV"
            " fails with an error since yesterday.\n\n--\nPeter Novak"
        )
        assert parsed.headers == {"User-Agent": "Mozilla Thunderbird"}

    def test_an_inline_forward_stays_in_the_text(self) -> None:
        parsed = parse("forwarded-inline-gmail.eml")
        assert parsed.text.startswith(
            "Коллеги, посмотрите, пожалуйста.\n\n---------- Forwarded message ---------\n"
            "От: Иван Петров <ivan.petrov@gmail.com>"
        )
        assert parsed.text.endswith("Выгрузка в 1С падает с ошибкой «Неверный формат даты».")
        assert parsed.attachments == ()


class TestAttachments:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            (
                "attachment-rfc2231.eml",
                [
                    ("Счёт №15.pdf", "application/pdf", b"%PDF-1.4 one"),
                    (
                        "Акт сверки взаиморасчётов за 2023 год.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        b"PK\x03\x04 two",
                    ),
                    (
                        "Реквизиты.docx",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        b"PK\x03\x04 three",
                    ),
                ],
            ),
            (
                "attachment-rfc2047-outlook.eml",
                [
                    (
                        "Коммерческое предложение на 2024 год.docx",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        b"PK\x03\x04 proposal",
                    )
                ],
            ),
            (
                "attachment-8bit-cp1251-name.eml",
                [
                    (
                        "Прайс-лист.xls",
                        "application/vnd.ms-excel",
                        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 xls",
                    )
                ],
            ),
            (
                "attachment-no-name.eml",
                [
                    ("attachment-1.pdf", "application/pdf", b"%PDF-1.3 scan"),
                    ("attachment-2.png", "image/png", None),
                    ("attachment-3.txt", "text/plain", b"device log: paper jam at 08:29"),
                    ("attachment-4.bin", "application/x-unknown-thing", b"\x00\x01\x02"),
                ],
            ),
            ("bare-lf.eml", [("error.log", "text/plain", b"line 1\nline 2\n")]),
            ("broken-base64.eml", [("doc.pdf", "application/pdf", b"%PDF-1.4\n")]),
            (
                "winmail-dat.eml",
                [("winmail.dat", "application/ms-tnef", None)],
            ),
            ("smime-signed.eml", []),
        ],
    )
    def test_names_types_and_data(
        self, name: str, expected: list[tuple[str, str, bytes | None]]
    ) -> None:
        attachments = parse(name).attachments
        assert [(a.filename, a.content_type) for a in attachments] == [e[:2] for e in expected]
        for attachment, (_, _, data) in zip(attachments, expected, strict=True):
            if data is not None:
                assert attachment.data == data
            assert attachment.inline is False

    def test_a_text_attachment_is_not_merged_into_the_text(self) -> None:
        assert parse("attachment-no-name.eml").text == "Scanned document attached."

    def test_unsafe_names_are_made_safe(self) -> None:
        names_ = [a.filename for a in parse("attachment-unsafe-names.eml").attachments]
        assert names_[:3] == ["отчёт.doc", "passwd", "invoicefdp.exe"]
        assert len(names_[3]) == 255
        assert names_[3].startswith("Очень длинное имя файла Очень")
        assert names_[3].endswith(".pdf")
        assert names_[4] == "attachment-5.pdf"

    def test_winmail_dat_keeps_its_bytes(self) -> None:
        (attachment,) = parse("winmail-dat.eml").attachments
        assert attachment.data.startswith(b"\x78\x9f\x3e\x22")
        assert attachment.data.endswith(b"fake tnef")

    def test_a_calendar_invitation_is_an_attachment(self) -> None:
        parsed = parse("calendar-invite-outlook.eml")
        assert parsed.text == "Let's walk through the setup together."
        (invite,) = parsed.attachments
        assert (invite.filename, invite.content_type) == ("attachment-1.ics", "text/calendar")
        assert invite.data.startswith(b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n")

    def test_a_forwarded_message_is_kept_whole(self) -> None:
        parsed = parse("forwarded-as-attachment.eml")
        assert parsed.text == "Пересылаю письмо клиента, см. вложение."
        (forwarded,) = parsed.attachments
        assert (forwarded.filename, forwarded.content_type) == ("Re: счёт.eml", "message/rfc822")
        assert forwarded.data.startswith(b"Return-Path: <ivan@client.example.ru>\r\nFrom: ")
        inner = parse_email(forwarded.data)
        assert inner.subject == "Re: счёт"
        assert inner.message_id == "inner-forwarded-1@client.example.ru"
        assert inner.text == "Счёт оплатим до пятницы."
        assert "Счёт оплатим" not in parsed.text

    def test_a_forwarded_message_without_subject_is_message_eml(self) -> None:
        raw = message(
            'From: a@b.ru\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"',
            "--b\nContent-Type: text/plain\n\nsee\n--b\nContent-Type: message/rfc822\n\n"
            "From: c@d.ru\n\ninner\n--b--\n",
        )
        (forwarded,) = parse_email(raw).attachments
        assert forwarded.filename == "message.eml"

    @pytest.mark.parametrize(
        ("name", "attachment", "defect"),
        [
            (
                "smime-encrypted.eml",
                ("smime.p7m", "application/pkcs7-mime"),
                "encrypted S/MIME message: content not readable",
            ),
            (
                "pgp-encrypted.eml",
                ("encrypted.asc", "application/octet-stream"),
                "encrypted message (multipart/encrypted): content not readable",
            ),
        ],
    )
    def test_encrypted_mail_is_an_attachment_with_no_text(
        self, name: str, attachment: tuple[str, str], defect: str
    ) -> None:
        parsed = parse(name)
        assert parsed.text == ""
        assert [(a.filename, a.content_type) for a in parsed.attachments] == [attachment]
        assert defect in parsed.defects


class TestAutomaticMail:
    @pytest.mark.parametrize(
        ("name", "kind", "reason"),
        [
            (
                "autoreply-auto-submitted.eml",
                AutoKind.AUTO_REPLIED,
                "Auto-Submitted: auto-replied (vacation)",
            ),
            ("autoreply-x-autoreply.eml", AutoKind.AUTO_REPLIED, "X-Autoreply: yes"),
            (
                "autoreply-exchange-oof.eml",
                AutoKind.AUTO_REPLIED,
                "Subject: Automatic reply: [#1077] VPN client crashes with "
                "X-Auto-Response-Suppress: All",
            ),
            ("autoreply-yandex-ru.eml", AutoKind.AUTO_REPLIED, "Auto-Submitted: auto-replied"),
            ("bulk-newsletter.eml", AutoKind.BULK, "Precedence: bulk"),
            ("list-mailing.eml", AutoKind.LIST, "Precedence: list"),
            (
                "mdn-read-receipt.eml",
                AutoKind.AUTO_GENERATED,
                "Content-Type: multipart/report; report-type=disposition-notification",
            ),
            ("noreply-robot.eml", AutoKind.AUTO_GENERATED, "From: noreply@bank.example.ru"),
            (
                "bounce-postfix-dsn.eml",
                AutoKind.BOUNCE,
                "Content-Type: multipart/report; report-type=delivery-status",
            ),
            (
                "bounce-postfix-delayed.eml",
                AutoKind.BOUNCE,
                "Content-Type: multipart/report; report-type=delivery-status",
            ),
            (
                "bounce-exchange-ndr.eml",
                AutoKind.BOUNCE,
                "Content-Type: multipart/report; report-type=delivery-status",
            ),
            ("bounce-mailru-text.eml", AutoKind.BOUNCE, "From: mailer-daemon@corp.mail.ru"),
            ("plain-utf8-ru.eml", None, None),
            ("reply-gmail-ru.eml", None, None),
            ("reply-outlook-en.eml", None, None),
            ("calendar-invite-outlook.eml", None, None),
        ],
    )
    def test_corpus_kinds(self, name: str, kind: AutoKind | None, reason: str | None) -> None:
        parsed = parse(name)
        assert (parsed.auto, parsed.auto_reason) == (kind, reason)
        if kind is not AutoKind.BOUNCE:
            assert parsed.bounce is None

    def test_newsletter_headers_are_kept(self) -> None:
        parsed = parse("bulk-newsletter.eml")
        assert parsed.headers["Precedence"] == "bulk"
        assert parsed.headers["X-Mailer"] == "Sendsay"
        assert parsed.headers["List-Unsubscribe"].startswith("<mailto:unsubscribe-abc@")
        assert "Отписаться (https://news.example.ru/unsubscribe?u=abc)" in parsed.text
        assert parsed.html is not None and "onload" not in parsed.html

    @pytest.mark.parametrize(
        ("headers", "kind", "reason"),
        [
            ("Subject: Out of office hours support", None, None),
            (
                "Subject: Автоответ: Re: заявка\nPrecedence: bulk",
                AutoKind.AUTO_REPLIED,
                "Subject: Автоответ: Re: заявка with Precedence: bulk",
            ),
            ("Auto-Submitted: no", None, None),
            (
                "Auto-Submitted: auto-generated",
                AutoKind.AUTO_GENERATED,
                "Auto-Submitted: auto-generated",
            ),
            (
                "Auto-Submitted: auto-notified",
                AutoKind.AUTO_GENERATED,
                "Auto-Submitted: auto-notified",
            ),
            ("X-Autorespond: vacation", AutoKind.AUTO_REPLIED, "X-Autorespond: vacation"),
            ("Precedence: auto_reply", AutoKind.AUTO_REPLIED, "Precedence: auto_reply"),
            (
                "X-Auto-Response-Suppress: OOF",
                AutoKind.AUTO_GENERATED,
                "X-Auto-Response-Suppress: OOF",
            ),
            ("X-Auto-Response-Suppress: RN, NRN", None, None),
            ("Precedence: junk", AutoKind.BULK, "Precedence: junk"),
            (
                "List-Id: <team.lists.example.org>",
                AutoKind.LIST,
                "List-Id: <team.lists.example.org>",
            ),
            (
                "X-Mailer: MailChimp Mailer - **CID1234**",
                AutoKind.BULK,
                "X-Mailer: MailChimp Mailer - **CID1234**",
            ),
            ("Return-Path: <>", AutoKind.BOUNCE, "Return-Path: <>"),
            (
                "From: no-reply@shop.example.ru",
                AutoKind.AUTO_GENERATED,
                "From: no-reply@shop.example.ru",
            ),
            ("From: noreplyclub@example.ru", None, None),
            ("From: postmaster@mx.example.ru", AutoKind.BOUNCE, "From: postmaster@mx.example.ru"),
            (
                "From: MAILER-DAEMON (Mail Delivery System)",
                AutoKind.BOUNCE,
                "From: MAILER-DAEMON (Mail Delivery System)",
            ),
            (
                "Return-Path: <>\nSubject: Undelivered Mail Returned to Sender",
                AutoKind.BOUNCE,
                "Return-Path: <> and a delivery-failure subject",
            ),
        ],
    )
    def test_header_rules(self, headers: str, kind: AutoKind | None, reason: str | None) -> None:
        lines = headers if headers.startswith("From:") else f"From: ivan@example.ru\n{headers}"
        parsed = parse_email(message(lines))
        assert (parsed.auto, parsed.auto_reason) == (kind, reason)

    def test_a_null_sender_alone_is_no_recognizable_bounce(self) -> None:
        parsed = parse_email(message("From: ivan@example.ru\nReturn-Path: <>"))
        assert parsed.auto is AutoKind.BOUNCE
        assert parsed.bounce is None


class TestBounces:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            (
                "bounce-postfix-dsn.eml",
                Bounce(
                    original_message_id="ticket-1042.msg-3@opora.example",
                    recipient="ivan@example.com",
                    status="5.1.1",
                    action="failed",
                    diagnostic="550 5.1.1 <ivan@example.com>: Recipient address rejected: User"
                    " unknown in virtual mailbox table",
                    permanent=True,
                ),
            ),
            (
                "bounce-postfix-delayed.eml",
                Bounce(
                    original_message_id="ticket-1043.msg-1@opora.example",
                    recipient="olga@slow.example.org",
                    status="4.4.1",
                    action="delayed",
                    diagnostic="connect to mx.slow.example.org[198.51.100.7]:25: Connection"
                    " timed out",
                    permanent=False,
                ),
            ),
            (
                "bounce-exchange-ndr.eml",
                Bounce(
                    original_message_id="ticket-1100.msg-1@opora.example",
                    recipient="anna.smirnova@contoso.example",
                    status="5.1.10",
                    action="failed",
                    diagnostic="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by"
                    " SMTP address lookup",
                    permanent=True,
                ),
            ),
        ],
    )
    def test_delivery_status_notifications(self, name: str, expected: Bounce) -> None:
        assert parse(name).bounce == expected

    def test_the_exchange_ndr_keeps_its_reports(self) -> None:
        parsed = parse("bounce-exchange-ndr.eml")
        assert [(a.filename, a.content_type) for a in parsed.attachments] == [
            ("attachment-1.txt", "message/delivery-status"),
            ("[#1100] Your invoice.eml", "message/rfc822"),
        ]
        assert parsed.text.startswith(
            "Your message to anna.smirnova@contoso.example couldn't be delivered."
        )

    def test_a_plain_text_bounce_from_mailer_daemon(self) -> None:
        bounce = parse("bounce-mailru-text.eml").bounce
        assert bounce is not None
        assert bounce.original_message_id == "ticket-2077.msg-3@opora.example"
        assert bounce.recipient == "olga.s@example.org"
        assert bounce.status == "5.2.2"
        assert bounce.action is None
        assert bounce.permanent is True
        assert "552 5.2.2 Mailbox full, message size exceeds quota" in bounce.diagnostic
        assert "создано автоматически" not in bounce.diagnostic
        assert "Return-path" not in bounce.diagnostic
        assert len(bounce.diagnostic) <= 500

    def test_an_exim_delay_without_dsn(self) -> None:
        raw = message(
            "From: Mail Delivery System <Mailer-Daemon@mx.example.ru>\n"
            "Subject: Warning: message 1rQaBc-0001Xy-Ab delayed 24 hours\n"
            "X-Failed-Recipients: petr@slow.example.org\n"
            "In-Reply-To: <ticket-7.msg-1@opora.example>",
            "This message was created automatically by mail delivery software.\n"
            "A message that you sent has not yet been delivered to one or more of its\n"
            "recipients after more than 24 hours on the queue. The message will keep trying.\n",
        )
        bounce = parse_email(raw).bounce
        assert bounce is not None
        assert bounce.recipient == "petr@slow.example.org"
        assert bounce.original_message_id == "ticket-7.msg-1@opora.example"
        assert bounce.permanent is False
        assert bounce.diagnostic.startswith("A message that you sent has not yet been delivered")


class TestGarbage:
    @pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  "])
    def test_empty_input_is_not_an_email(self, raw: bytes) -> None:
        with pytest.raises(EmailParseError):
            parse_email(raw)

    @pytest.mark.parametrize(
        "raw",
        [
            bytes(range(256)) * 20,
            b"\x00" * 1000,
            b"From: a@b.ru\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
            b"From: a@b.ru\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--",
            b'From: a@b.ru\r\nContent-Type: text/plain; charset="utf-8\r\n\r\nunclosed quote',
            b"From: a@b.ru\r\nContent-Type: ;;;=;\r\n"
            b"Content-Disposition: attachment; filename*0*=\r\n\r\nx",
            b"From: \xff\xfe <@>\r\nTo: ,,,<>\r\nSubject: =?utf-8?B?###?=\r\n\r\nbody",
            b"Content-Type: message/rfc822\r\n\r\ngarbage without headers",
            b"Content-Type: multipart/alternative; boundary=a\r\n\r\n"
            + b"--a\r\nContent-Type: multipart/related; boundary=a\r\n\r\n--a\r\n" * 50,
        ],
    )
    def test_garbage_parses_best_effort(self, raw: bytes) -> None:
        parsed = parse_email(raw)
        assert parsed.size == len(raw)
        assert "\x00" not in parsed.text and "\r" not in parsed.text
        assert not any(defect.startswith("internal error") for defect in parsed.defects)

    def test_a_multipart_without_boundary_is_read_as_text(self) -> None:
        raw = b"From: a@b.ru\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n"
        parsed = parse_email(raw)
        assert parsed.text == "no boundary at all"
        assert parsed.defects
