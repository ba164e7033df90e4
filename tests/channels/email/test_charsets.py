"""Charset names, decoding with and without a declared charset, and header decoding."""

from __future__ import annotations

import base64

import pytest

from opora.channels.email.charsets import (
    decode_bytes,
    decode_header,
    decode_header_value,
    guess_charset,
    normalize_charset,
)


def b_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


class TestNormalizeCharset:
    @pytest.mark.parametrize(
        ("label", "codec"),
        [
            ("windows-1251", "cp1251"),
            ("Windows-1251", "cp1251"),
            ("win-1251", "cp1251"),
            ("cp-1251", "cp1251"),
            ("windows1251", "cp1251"),
            ("x-cp1251", "cp1251"),
            ('"windows-1251"', "cp1251"),
            ("koi8r", "koi8-r"),
            ("KOI8-R", "koi8-r"),
            ("koi8-u", "koi8-u"),
            ("utf8", "utf-8"),
            ("UTF-8", "utf-8"),
            ("utf-8*ru", "utf-8"),
            ("x-mac-cyrillic", "mac-cyrillic"),
            ("ibm866", "cp866"),
            ("iso-8859-5", "iso8859-5"),
            ("latin1", "iso8859-1"),
            ("ISO-8859-15", "iso8859-15"),
            ("us-ascii", "ascii"),
            ("gb2312", "gb18030"),
            ("ks_c_5601-1987", "cp949"),
            ("windows-1252", "cp1252"),
        ],
    )
    def test_known_labels_and_aliases(self, label: str, codec: str) -> None:
        assert normalize_charset(label) == codec

    @pytest.mark.parametrize(
        "label",
        [None, "", "x-user-defined", "unknown-8bit", "x-unknown", "8bit", "no-such-charset",
         "base64", "rot13", "zlib", "unicode_escape", "idna", "undefined"],
    )  # fmt: skip
    def test_labels_naming_no_usable_charset(self, label: str | None) -> None:
        assert normalize_charset(label) is None


RUSSIAN = "Привет, мир! Всё хорошо."


class TestDecodeBytes:
    @pytest.mark.parametrize(
        ("data", "declared", "text"),
        [
            (RUSSIAN.encode("cp1251"), "windows-1251", RUSSIAN),
            (RUSSIAN.encode("cp1251"), "win-1251", RUSSIAN),
            (RUSSIAN.encode("cp1251"), "cp-1251", RUSSIAN),
            (RUSSIAN.encode("koi8-r"), "koi8r", RUSSIAN),
            (RUSSIAN.encode("utf-8"), "utf8", RUSSIAN),
            (RUSSIAN.encode("utf-8"), None, RUSSIAN),
            (RUSSIAN.encode("cp866"), "ibm866", RUSSIAN),
            ("Ça coûte 5 €".encode("cp1252"), "windows-1252", "Ça coûte 5 €"),
            ("Grüße".encode("latin-1"), "iso-8859-1", "Grüße"),
            # ISO-8859-1 in mail means windows-1252: its curly quotes are kept.
            (b"\x93quoted\x94", "iso-8859-1", "“quoted”"),
            (b"plain ascii", None, "plain ascii"),
            (b"plain ascii", "x-user-defined", "plain ascii"),
            (b"", "utf-8", ""),
        ],
    )
    def test_clean_decoding_reports_no_defect(
        self, data: bytes, declared: str | None, text: str
    ) -> None:
        assert decode_bytes(data, declared) == (text, None)

    @pytest.mark.parametrize(
        ("data", "declared", "text", "defect"),
        [
            (
                RUSSIAN.encode("cp1251"),
                "utf-8",
                RUSSIAN,
                "charset 'utf-8' does not fit the bytes; decoded as cp1251",
            ),
            (
                RUSSIAN.encode("utf-8"),
                "us-ascii",
                RUSSIAN,
                "charset 'us-ascii' does not fit the bytes; decoded as utf-8",
            ),
            (
                RUSSIAN.encode("cp1251"),
                None,
                RUSSIAN,
                "no charset declared; decoded as cp1251",
            ),
            (
                RUSSIAN.encode("koi8-r"),
                "x-user-defined",
                RUSSIAN,
                "unknown charset 'x-user-defined'; decoded as koi8-r",
            ),
            (
                RUSSIAN.encode("cp1251"),
                "iso-8859-1",
                RUSSIAN,
                "charset 'iso-8859-1' does not fit the text; decoded as cp1251",
            ),
            (
                RUSSIAN.encode("utf-8"),
                "windows-1251",
                RUSSIAN,
                "charset 'windows-1251' does not fit the text; decoded as utf-8",
            ),
            (
                "Grüße aus München".encode("cp1252"),
                None,
                "Grüße aus München",
                "no charset declared; decoded as cp1252",
            ),
        ],
    )
    def test_mislabelled_or_missing_charsets_are_detected(
        self, data: bytes, declared: str | None, text: str, defect: str
    ) -> None:
        assert decode_bytes(data, declared) == (text, defect)

    def test_mostly_utf8_with_a_broken_byte_stays_utf8(self) -> None:
        text, defect = decode_bytes(RUSSIAN.encode() + b"\xff", None)
        assert text == RUSSIAN + "\ufffd"
        assert defect == "no charset declared; decoded as utf-8"

    def test_western_text_declared_latin1_is_not_taken_for_cyrillic(self) -> None:
        data = "Où est la gare? Je suis très pressé.".encode("latin-1")
        assert decode_bytes(data, "iso-8859-1") == ("Où est la gare? Je suis très pressé.", None)


# Subjects, names and first lines as customers write them: short, capitalized or not,
# sometimes all capitals. Each must survive a trip through cp1251 and KOI8-R undeclared.
PHRASES = [
    "Привет мир",
    "Счёт оплачен",
    "Не работает вход",
    "Жалоба",
    "Претензия",
    "Заявка на подключение",
    "Вопрос по договору №15",
    "Иван Петров",
    "Мария Иванова",
    "Отчёт.xlsx",
    "счёт-фактура",
    "Re: Заказ 12345",
    "Автоответ",
    "Здравствуйте",
    "Спасибо",
    "Техподдержка",
    "СРОЧНО",
    "СРОЧНО ОПЛАТА",
    "ПРОБЛЕМА С ОПЛАТОЙ",
    "ООО «Ромашка»",
    "Добрый день! Подскажите, пожалуйста, как сменить пароль в личном кабинете?",
    "В связи с техническими работами сайт будет недоступен с 10:00 до 12:00.",
]
SENTENCES = [
    "Добрый день! Подскажите, пожалуйста, как сменить пароль в личном кабинете? Спасибо.",
    "Здравствуйте, Иван Петрович.\nВаш заказ отправлен, номер для отслеживания придёт"
    " отдельным письмом.\nС уважением, служба поддержки",
]


def _writable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


class TestDetection:
    @pytest.mark.parametrize(
        ("phrase", "codec"),
        [(p, c) for p in PHRASES for c in ("cp1251", "koi8-r") if _writable(p, c)],
    )
    def test_short_russian_text_in_the_two_common_charsets(self, phrase: str, codec: str) -> None:
        assert decode_bytes(phrase.encode(codec), None)[0] == phrase

    @pytest.mark.parametrize("codec", ["cp1251", "koi8-r", "iso8859-5", "cp866", "mac-cyrillic"])
    @pytest.mark.parametrize("sentence", SENTENCES)
    def test_sentences_in_every_cyrillic_charset(self, sentence: str, codec: str) -> None:
        data = sentence.encode(codec)
        assert guess_charset(data) == codec
        assert decode_bytes(data, None) == (sentence, f"no charset declared; decoded as {codec}")

    @pytest.mark.parametrize(
        "text",
        [
            "Grüße aus München",
            "Café crème à la française",
            "Ça va très bien, merci",
            "Señor Muñoz, ¿qué tal?",
            "Straße",
            "Déjà vu",
        ],
    )
    def test_western_text_is_not_taken_for_cyrillic(self, text: str) -> None:
        assert guess_charset(text.encode("cp1252")) == "cp1252"
        assert decode_bytes(text.encode("cp1252"), None)[0] == text

    @pytest.mark.parametrize(
        ("data", "codec"),
        [
            (b"ascii only", "ascii"),
            ("Ёлка".encode(), "utf-8"),
            ("Ёлка и шары".encode("cp1251"), "cp1251"),
        ],
    )
    def test_guess_charset(self, data: bytes, codec: str) -> None:
        assert guess_charset(data) == codec


class TestDecodeHeader:
    @pytest.mark.parametrize(
        ("raw", "text"),
        [
            (b_word("Счёт на оплату", "koi8-r"), "Счёт на оплату"),
            (b_word("Счёт на оплату", "windows-1251"), "Счёт на оплату"),
            ("=?utf-8?Q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82_=D0=BC=D0=B8=D1=80?=", "Привет мир"),
            ("Re: =?utf-8?Q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?= world", "Re: Привет world"),
            # one character split between two words, folded
            ("=?utf-8?Q?=D0=9F=D1?=\r\n =?utf-8?Q?=80=D0=B8?=", "При"),
            # glued words, each with its own padding
            ("=?utf-8?B?0J/RgA==?==?utf-8?B?0LjQsg==?=", "Прив"),
            ("=?UTF-8?b?0JDQvdC90LA?=", "Анна"),  # lower-case b, padding missing
            ('"=?utf-8?B?0JjQstCw0L0=?=" <ivan@x.ru>', '"Иван" <ivan@x.ru>'),
            ("=?cp-1251?B?" + base64.b64encode("Пётр".encode("cp1251")).decode() + "?=", "Пётр"),
            ("=?utf-8*ru?B?0JDQvdC90LA=?=", "Анна"),  # RFC 2231 language suffix
            ("=?unknown-8bit?Q?=D0=9F=D1=80=D0=B8?=", "При"),
            (
                "=?x-weird?B?" + base64.b64encode("Привет мир".encode("cp1251")).decode() + "?=",
                "Привет мир",
            ),
            ("=?utf-8?B?###?=", ""),
            ("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"),
            ("=?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_cr=E8me?=", "café crème"),
            ("a\r\n b\tc\x00d", "a b c d"),
            ("  many    spaces  ", "many spaces"),
            ("Привет".encode("cp1251").decode("ascii", "surrogateescape"), "Привет"),
            ("Привет".encode(), "Привет"),
            ("Заявка на подключение".encode("cp1251"), "Заявка на подключение"),
            ("", ""),
        ],
    )
    def test_values(self, raw: str | bytes, text: str) -> None:
        assert decode_header_value(raw) == text

    def test_a_fallback_charset_settles_short_8bit_values(self) -> None:
        assert decode_header_value("Иван".encode("koi8-r"), fallback_charset="koi8-r") == "Иван"
        assert (
            decode_header_value("Иван".encode("cp1251"), fallback_charset="windows-1251") == "Иван"
        )

    def test_utf8_wins_over_the_fallback_charset(self) -> None:
        assert decode_header_value("Иван".encode(), fallback_charset="koi8-r") == "Иван"

    @pytest.mark.parametrize(
        ("raw", "defects"),
        [
            (b_word("Тест", "utf-8"), ()),
            ("Тест".encode("cp1251"), ("8-bit header bytes; decoded as cp1251",)),
            (
                "=?x-unknown?B?" + base64.b64encode("Тест".encode()).decode() + "?=",
                ("encoded-word: unknown charset 'x-unknown'; decoded as utf-8",),
            ),
        ],
    )
    def test_defects_are_reported(self, raw: str | bytes, defects: tuple[str, ...]) -> None:
        assert decode_header(raw)[1] == defects
