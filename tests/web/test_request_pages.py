"""The customer's link to their request from our emails (/requests/{id}/{token}): their own
rendering of the ticket, never an internal note, nothing with a wrong token."""

from __future__ import annotations

import re

import httpx

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.config import Settings, load_secret_key
from opora.db import Database
from opora.kit.blobs import BlobStore
from opora.tickets import rules
from opora.tickets import service as tickets
from opora.tickets.schemas import MessageCreate
from tests.channels.email.support import add_mailbox, build, email_jobs, ingest
from tests.conftest import Company


async def _world(db: Database, settings: Settings, company: Company) -> tuple[int, str, dict]:
    await add_mailbox(db, group_id=company.l1_group_id)
    result = await ingest(db, settings, build())
    tid = result.ticket_id or 0
    async with db.unit_of_work() as s:
        user = await auth_service.get_user(s, actor=system_actor("t"), user_id=company.l1_agent.id)
        actor = await auth_service.actor_for_user(s, user)
        store = BlobStore(settings.attachments_dir)
        public_file = await tickets.upload_attachment(
            s, actor=actor, store=store, filename="инструкция.txt", content_type="text/plain",
            data=b"step 1", max_bytes=10**6,
        )  # fmt: skip
        secret_file = await tickets.upload_attachment(
            s, actor=actor, store=store, filename="logs.txt", content_type="text/plain",
            data=b"internal logs", max_bytes=10**6,
        )  # fmt: skip
        await tickets.add_message(
            s, actor=actor, ticket_id=tid,
            data=MessageCreate(body="Попробуйте ещё раз.", attachment_ids=[public_file.id]),
        )  # fmt: skip
        await tickets.add_message(
            s, actor=actor, ticket_id=tid,
            data=MessageCreate(body="Клиент ошибся в пароле", visibility="internal",
                               attachment_ids=[secret_file.id]),
        )  # fmt: skip
    [receipt, *_] = await email_jobs(db)
    link = re.search(r"http://\S+/requests/(\d+)/(\w+)", receipt["text"])
    assert link is not None, receipt["text"]
    return tid, f"/requests/{link[1]}/{link[2]}", {"public": public_file.id,
                                                    "internal": secret_file.id}  # fmt: skip


class TestRequestLink:
    async def test_the_receipts_link_shows_the_request_without_the_note(
        self, client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        tid, path, _ = await _world(db, settings, company)
        assert path.startswith(f"/requests/{tid}/")
        r = await client.get(path)
        assert r.status_code == 200
        assert "Попробуйте ещё раз." in r.text and "Не могу войти в аккаунт" in r.text
        assert "ошибся" not in r.text and "logs.txt" not in r.text
        assert 'lang="ru"' in r.text  # the requester's language, no sign-in needed

    async def test_files_of_public_replies_download_and_notes_files_do_not(
        self, client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        _, path, files = await _world(db, settings, company)
        ok = await client.get(f"{path}/attachments/{files['public']}")
        assert ok.status_code == 200 and ok.content == b"step 1"
        hidden = await client.get(f"{path}/attachments/{files['internal']}")
        assert hidden.status_code == 404 and b"internal logs" not in hidden.content

    async def test_a_wrong_or_someone_elses_token_is_a_404(
        self, client: httpx.AsyncClient, db: Database, settings: Settings, company: Company
    ) -> None:
        tid, path, _ = await _world(db, settings, company)
        assert (await client.get(f"/requests/{tid}/{'0' * 24}")).status_code == 404
        other = rules.request_token(load_secret_key(settings), tid, company.customer.id)
        assert (await client.get(f"/requests/{tid}/{other}")).status_code == 404
        assert (
            await client.get(f"/requests/{tid + 1}/{path.rsplit('/', 1)[1]}")
        ).status_code == 404
