"""An email ticket on the agent's ticket page: who wrote to whom, the HTML with its inline
image, the original message, the delivery state of replies, the composer's warning."""

from __future__ import annotations

import re

import httpx
import pytest

from opora.config import Settings
from opora.db import Database
from opora.tickets.models import DeliveryState, Message
from tests.channels.email.support import add_mailbox, build, ingest, messages
from tests.conftest import Company
from tests.web.helpers import csrf_of, set_password, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, db: Database, company: Company) -> None:
    await set_password(db, company.l1_agent.id, "lena-password")
    r = await sign_in(client, "lena@opora.dev", "lena-password")
    assert r.status_code == 303


def _with_inline_image() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Иван Петров <ivan@example.ru>"
    msg["To"] = "support@acme-help.ru"
    msg["Cc"] = "Ольга <olga@example.ru>"
    msg["Subject"] = "Ошибка на экране оплаты"
    msg["Message-ID"] = "<inline-image@example.ru>"
    msg.set_content("Смотрите скриншот.")
    msg.add_alternative('<p>Смотрите <b>скриншот</b>:</p><img src="cid:shot@example.ru">',
                        subtype="html")  # fmt: skip
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<shot@example.ru>")
    return msg.as_bytes()


async def test_the_timeline_shows_an_email_as_it_came(
    client: httpx.AsyncClient, db: Database, settings: Settings, company: Company, signed_in: None
) -> None:
    await add_mailbox(db, group_id=company.l1_group_id)
    raw = _with_inline_image()
    result = await ingest(db, settings, raw)
    tid = result.ticket_id
    page = await client.get(f"/tickets/{tid}")
    assert page.status_code == 200
    html = page.text
    assert "Иван Петров &lt;ivan@example.ru&gt;" in html  # From
    assert "Ольга &lt;olga@example.ru&gt;" in html  # Cc
    assert "<b>скриншот</b>" in html  # the sanitized HTML is shown
    [image] = re.findall(rf'<img src="(/tickets/{tid}/attachments/\d+)"', html)
    got = await client.get(image)
    assert got.status_code == 200 and got.content == PNG
    [msg] = await messages(db, tid or 0)
    original = await client.get(f"/tickets/{tid}/messages/{msg.id}/original")
    assert original.status_code == 200 and original.content == raw
    assert 'id="composer-delivery"' in html and "ivan@example.ru" in html


async def test_a_reply_shows_it_is_sending_then_its_outcome(
    client: httpx.AsyncClient, db: Database, settings: Settings, company: Company, signed_in: None
) -> None:
    await add_mailbox(db, group_id=company.l1_group_id)
    result = await ingest(db, settings, build())
    tid = result.ticket_id or 0
    page = await client.get(f"/tickets/{tid}")
    r = await client.post(
        f"/tickets/{tid}/messages",
        data={"csrf_token": csrf_of(page.text), "visibility": "public", "body": "Ответ"},
    )
    assert r.status_code == 303
    page = await client.get(f"/tickets/{tid}")
    assert 'data-delivery="queued"' in page.text
    reply = (await messages(db, tid))[-1]
    async with db.unit_of_work() as s:
        stored = await s.get(Message, reply.id)
        assert stored is not None
        stored.delivery_state = DeliveryState.BOUNCED
        stored.delivery_error = "ivan@example.ru: 550 5.1.1 User unknown"
    page = await client.get(f"/tickets/{tid}")
    assert 'data-delivery="bounced"' in page.text and "550 5.1.1 User unknown" in page.text


async def test_the_original_follows_the_tickets_access(
    client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
) -> None:
    """An agent who may read only their groups' tickets gets a 404 for the original of a
    mail on another group's ticket, as for the ticket itself."""
    from opora.auth import service as auth_service
    from opora.auth.actor import system_actor
    from opora.auth.schemas import UserCreate

    async with db.unit_of_work() as s:
        await auth_service.create_user(
            s, actor=system_actor("t"),
            data=UserCreate(email="gina@opora.dev", name="Gina", password="gina-password",
                            ticket_access="groups", group_ids=[company.l1_group_id]),
        )  # fmt: skip
    assert (await sign_in(client, "gina@opora.dev", "gina-password")).status_code == 303
    await add_mailbox(db, group_id=company.l2_group_id)  # the mail lands in L2
    result = await ingest(db, settings, build())
    [msg] = await messages(db, result.ticket_id or 0)
    assert (await client.get(f"/tickets/{result.ticket_id}")).status_code == 404
    r = await client.get(f"/tickets/{result.ticket_id}/messages/{msg.id}/original")
    assert r.status_code == 404 and b"Subject:" not in r.content
