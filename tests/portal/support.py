"""Helpers of the portal tests: sign in as a browser does (ask for a link, read it from the
outbox job, open it, press the button), make tickets through the services."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.actor import system_actor
from opora.db import Database
from opora.jobs.models import Job
from opora.notifications.service import SEND_EMAIL
from opora.tickets import service as tickets
from opora.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate
from tests.web.helpers import csrf_of

LINK = re.compile(r"https?://[^/\s]+(/help/sign-in/[A-Za-z0-9_\-]+)")


async def outbox(db: Database) -> list[dict[str, Any]]:
    """Payloads of the queued emails, oldest first."""
    async with db.unit_of_work(write=False) as session:
        rows = await session.execute(select(Job).where(Job.name == SEND_EMAIL).order_by(Job.id))
        return [j.payload for j in rows.scalars()]


async def sign_in_links(db: Database, address: str) -> list[str]:
    """The paths of the sign-in links emailed to ``address``, oldest first."""
    found = []
    for payload in await outbox(db):
        if any(address in to for to in payload["to"]):
            match = LINK.search(payload["text"])
            if match:
                found.append(match[1])
    return found


async def ask_for_link(
    client: httpx.AsyncClient, email: str, *, next_path: str | None = None
) -> httpx.Response:
    page = await client.get("/help/sign-in")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "email": email}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/help/sign-in", data=data)


async def open_link(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Open the emailed link and press its button: the sign-in itself."""
    page = await client.get(path)
    if page.status_code != 200:
        return page
    return await client.post(path, data={"csrf_token": csrf_of(page.text)})


async def portal_sign_in(
    client: httpx.AsyncClient, db: Database, email: str, *, next_path: str | None = None
) -> httpx.Response:
    r = await ask_for_link(client, email, next_path=next_path)
    assert r.status_code == 200, r.text
    links = await sign_in_links(db, email)
    assert links, f"no sign-in link was emailed to {email}"
    r = await open_link(client, links[-1])
    assert r.status_code == 303, r.text
    return r


async def make_ticket(
    db: Database,
    *,
    requester_email: str,
    subject: str = "Не могу войти",
    body: str = "Пишет, что пароль неверный.",
    internal_note: str | None = None,
    reply: str | None = None,
    status: str | None = None,
    agent_id: int | None = None,
) -> int:
    """A ticket opened by the system for ``requester_email``, with an optional public
    reply (by the agent ``agent_id``), internal note and status."""
    async with db.unit_of_work() as s:
        actor = system_actor("tests")
        ticket = await tickets.create_ticket(
            s, actor=actor,
            data=TicketCreate(subject=subject, body=body,
                              requester={"email": requester_email, "name": ""}),
        )  # fmt: skip
        agent = actor
        if agent_id is not None:
            user = await auth_service.get_user(s, actor=actor, user_id=agent_id)
            agent = await auth_service.actor_for_user(s, user)
        if reply:
            await tickets.add_message(s, actor=agent, ticket_id=ticket.id,
                                      data=MessageCreate(body=reply))  # fmt: skip
        if internal_note:
            await tickets.add_message(
                s, actor=agent, ticket_id=ticket.id,
                data=MessageCreate(body=internal_note, visibility="internal"),
            )  # fmt: skip
        if status:
            await tickets.update_ticket(
                s, actor=actor, ticket_id=ticket.id, data=TicketUpdate(status=status)
            )
        return ticket.id
