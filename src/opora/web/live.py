"""Live updates for the agent pages, over a websocket (``/live``).

A signed-in page opens ``/live`` (``/live?ticket=ID`` on a ticket page). The socket
forwards committed ticket changes from the realtime hub (in-process, or Redis in
scale-out mode, so a change made through another process arrives too):

- ``{"type": "tickets"}``: some ticket changed. It names no ticket, so an agent who may
  only read some groups' tickets learns nothing about the others; the inbox answers by
  reloading its view counts.
- ``{"type": "ticket", "event": "message.created", "by": "user:5", "by_name": "Igor"}``:
  the ticket this socket watches changed (readability is checked once, on connect). The
  ticket page shows "updated by Igor" unless ``by`` is the viewer.

The handshake needs the page session cookie and an ``Origin`` equal to the page's own host
(a socket is not covered by SameSite, so a foreign page must not open one with the
user's cookie). Nothing is sent to the client but these notices; the page fetches what it
shows through the normal, permission-checked routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from opora.auth import service as auth_service
from opora.auth.models import User
from opora.db import Database
from opora.errors import NotFound
from opora.tickets import service as tickets
from opora.web.page_auth import signed_in_user

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

HEARTBEAT_SECONDS = 25.0
POLICY_VIOLATION = 1008  # the websocket close code for "not allowed"
NAME_CACHE_SIZE = 500
# the hub's event names that mean "a ticket the inbox shows may have changed"
TICKET_EVENTS = ("ticket.", "message.")


def same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc == host


async def _admit(websocket: WebSocket, ticket_id: int | None) -> int | None:
    """The signed-in user's id if this socket may open (and read ``ticket_id``), else None."""
    db: Database = websocket.app.state.db
    async with db.unit_of_work(write=False) as session:
        user = await signed_in_user(websocket, session)
        if user is None:
            return None
        if ticket_id is not None:
            actor = await auth_service.actor_for_user(session, user)
            try:
                await tickets.get_ticket(session, actor=actor, ticket_id=ticket_id)
            except NotFound:
                return None
        return user.id


class _Names:
    """Display names of the users who make changes, looked up once each."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._names: dict[int, str] = {}

    async def of(self, by: Any) -> str:
        kind, _, raw = str(by or "").partition(":")
        if kind != "user" or not raw.isdigit():
            return ""
        user_id = int(raw)
        if user_id not in self._names:
            if len(self._names) >= NAME_CACHE_SIZE:
                self._names.clear()
            async with self._db.unit_of_work(write=False) as session:
                name = await session.scalar(select(User.name).where(User.id == user_id))
            self._names[user_id] = name or ""
        return self._names[user_id]


def notice_for(
    message: dict[str, Any], ticket_id: int | None, user_id: int
) -> dict[str, Any] | None:
    """What one socket is told about one hub message, or None."""
    name = str(message.get("name", ""))
    if not name.startswith(TICKET_EVENTS):
        return None
    if ticket_id is None:
        return {"type": "tickets"}
    payload = message.get("payload") or {}
    if ticket_id not in (payload.get("ticket_id"), payload.get("into_id")):
        return None
    by = payload.get("by", "")
    return {"type": "ticket", "event": name, "by": by, "mine": by == f"user:{user_id}"}


@router.websocket("/live")
async def live(websocket: WebSocket, ticket: int | None = None) -> None:
    if not same_origin(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    user_id = await _admit(websocket, ticket)
    if user_id is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    names = _Names(websocket.app.state.db)
    hub = websocket.app.state.hub
    async with hub.subscribe() as queue:
        receiver = asyncio.create_task(_until_closed(websocket))
        try:
            while not receiver.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver},
                    timeout=HEARTBEAT_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getter not in done:
                    getter.cancel()
                    if not done:
                        await websocket.send_json({"type": "ping"})
                    continue
                notice = notice_for(getter.result(), ticket, user_id)
                if notice is None:
                    continue
                if notice["type"] == "ticket" and not notice["mine"]:
                    notice["by_name"] = await names.of(notice["by"])
                await websocket.send_json(notice)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the browser went away mid-send
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await receiver


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the browser sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
