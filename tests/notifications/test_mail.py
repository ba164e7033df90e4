"""Composing messages and rendering email templates: no server, no database."""

from __future__ import annotations

import email
import email.policy

import pytest

from opora.notifications import mail
from opora.notifications.service import email_language, render_email


def compose(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "mail_from": "Опора <support@opora.test>",
        "to": "Мария Иванова <maria@example.ru>",
        "subject": "Сброс пароля в Opora",
        "text": "Здравствуйте!\n",
        "message_id": "<abc@opora.test>",
    }
    fields.update(overrides)
    return mail.serialize(mail.build_message(**fields))  # type: ignore[arg-type]


class TestBuildMessage:
    def test_russian_subject_and_names_are_rfc2047_encoded_and_decode_back(self) -> None:
        raw = compose()
        raw.decode("ascii")  # 7-bit headers and body: any server takes it
        headers = raw.split(b"\r\n\r\n", 1)[0]
        assert b"=?utf-8?" in headers
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["Subject"] == "Сброс пароля в Opora"
        assert msg["From"] == "Опора <support@opora.test>"
        assert msg["To"] == "Мария Иванова <maria@example.ru>"
        assert msg["Message-ID"] == "<abc@opora.test>"
        assert msg["Date"]
        assert msg.get_content().strip() == "Здравствуйте!"

    @pytest.mark.parametrize(
        "subject",
        [
            "#1 is assigned to you: Не могу войти в аккаунт",
            "Обращение #1042 принято: Не могу войти в аккаунт после обновления приложения "
            "до версии 5.10.3 на Android, помогите пожалуйста",
        ],
    )
    def test_a_long_russian_subject_keeps_every_space(self, subject: str) -> None:
        """The standard library's folding at 78 dropped the space between encoded-words."""
        msg = email.message_from_bytes(compose(subject=subject), policy=email.policy.default)
        assert msg["Subject"] == subject

    def test_a_text_attachment_says_its_charset(self) -> None:
        part = mail.FilePart("инструкция.txt", "text/plain", "Шаг 1: настройки.".encode())
        msg = email.message_from_bytes(compose(attachments=[part]), policy=email.policy.default)
        [att] = list(msg.iter_attachments())
        assert att.get_filename() == "инструкция.txt"
        assert att.get_content_charset() == "utf-8"
        assert att.get_payload(decode=True) == "Шаг 1: настройки.".encode()  # byte for byte

    def test_lines_end_with_crlf(self) -> None:
        raw = compose()
        assert b"\n" not in raw.replace(b"\r\n", b"")

    def test_html_goes_in_an_alternative_part(self) -> None:
        msg = email.message_from_bytes(
            compose(html="<p>Здравствуйте!</p>"), policy=email.policy.default
        )
        assert msg.get_content_type() == "multipart/alternative"
        html = msg.get_body(preferencelist=("html",))
        text = msg.get_body(preferencelist=("plain",))
        assert html is not None and "<p>Здравствуйте!</p>" in html.get_content()
        assert text is not None and "Здравствуйте!" in text.get_content()

    def test_extra_headers_are_added(self) -> None:
        msg = email.message_from_bytes(
            compose(headers={"Auto-Submitted": "auto-generated"}), policy=email.policy.default
        )
        assert msg["Auto-Submitted"] == "auto-generated"

    @pytest.mark.parametrize("name", ["Subject", "from", "Message-ID", "Content-Type"])
    def test_headers_the_composer_sets_cannot_be_overridden(self, name: str) -> None:
        with pytest.raises(ValueError, match="set by the composer"):
            compose(headers={name: "x"})

    def test_a_header_value_cannot_inject_lines(self) -> None:
        with pytest.raises(ValueError):
            compose(headers={"X-Note": "a\r\nBcc: victim@example.com"})

    @pytest.mark.parametrize("to", ["not an address", "a@b.ru\r\nBcc: c@d.ru"])
    def test_a_bad_recipient_is_refused(self, to: str) -> None:
        with pytest.raises(ValueError):
            compose(to=to)

    def test_our_domain_comes_from_mail_from(self) -> None:
        config = mail.SmtpConfig(mail_from="Опора <help@support.example.ru>")
        assert config.sender_address == "help@support.example.ru"
        assert config.domain == "support.example.ru"


class TestRenderEmail:
    @pytest.mark.parametrize(
        ("language", "expected"),
        [("ru", "ru"), ("ru-RU", "ru"), ("en", "en"), ("de", "en"), (None, "en"), ("", "en")],
    )
    def test_the_language_falls_back_to_english(self, language: str | None, expected: str) -> None:
        assert email_language(language) == expected

    @pytest.mark.parametrize(
        ("language", "subject"),
        [("ru", "Сброс пароля в Opora"), ("en", "Reset your Opora password")],
    )
    def test_the_reset_email_has_a_subject_text_and_html(self, language: str, subject: str) -> None:
        rendered = render_email(
            "password_reset",
            language=language,
            name="<b>Мария</b>",
            email="maria@example.ru",
            link="http://opora.test/password/reset?token=a.b&x=1",
            valid_minutes=60,
        )
        assert rendered.subject == subject
        assert "http://opora.test/password/reset?token=a.b&x=1" in rendered.text
        assert "<b>Мария</b>" in rendered.text  # plain text is not escaped
        assert rendered.html is not None
        assert "&lt;b&gt;Мария&lt;/b&gt;" in rendered.html  # HTML is
        assert 'href="http://opora.test/password/reset?token=a.b&amp;x=1"' in rendered.html
