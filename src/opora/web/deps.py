"""Per-request unit of work and the current actor.

Every API router uses ``UnitOfWorkRoute``: the request's session is opened before the
endpoint runs and committed after it returns, *before* the response is sent, so a
client never sees a 2xx for a change that did not commit. Any exception rolls back, and
so does a response with an error status.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.auth.service import authenticate_token
from opora.db import Database
from opora.errors import Forbidden, Unauthorized

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            db: Database = request.app.state.db
            try:
                async with db.unit_of_work(write=request.method not in READ_METHODS) as session:
                    request.state.session = session
                    response = await handler(request)
                    if response.status_code >= 400:
                        # a handler that answers with an error (e.g. a form re-rendered
                        # with its mistakes) keeps nothing it began
                        raise _ErrorResponse(response)
            except _ErrorResponse as error:
                return error.response
            return response

        return run_in_transaction


class _ErrorResponse(Exception):
    """Carries an error response out of the unit of work so that it rolls back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def get_session(request: Request) -> AsyncSession:
    session: AsyncSession | None = getattr(request.state, "session", None)
    if session is None:
        raise RuntimeError("this route is not a UnitOfWorkRoute")
    return session


Session = Annotated[AsyncSession, Depends(get_session)]


async def current_actor(request: Request, session: Session) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    return await authenticate_token(session, token.strip())


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def optional_actor(request: Request, session: Session) -> Actor | None:
    """The token's actor, or None without an Authorization header (public endpoints);
    a token that is sent but not valid is still a 401."""
    if not request.headers.get("authorization", "").strip():
        return None
    return await current_actor(request, session)


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def agent_actor(actor: CurrentActor) -> Actor:
    if not actor.is_user:
        raise Forbidden("this endpoint is for agents; customers use /api/v1/me/...")
    return actor


AgentActor = Annotated[Actor, Depends(agent_actor)]


async def customer_actor(actor: CurrentActor) -> Actor:
    if not actor.is_customer:
        raise Forbidden("this endpoint is for customers (a contact's token)")
    return actor


CustomerActor = Annotated[Actor, Depends(customer_actor)]
