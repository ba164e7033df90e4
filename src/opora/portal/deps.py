"""Who is on a portal page, in which language, and the portal's route class.

A signed-in customer is a ``portal_sessions`` row. The browser keeps its random token in
the pages' signed cookie under ``portal_sid`` (the agents' token is ``sid``; the two are
looked up in different tables, so neither session is ever taken for the other). The CSRF
token is the cookie's ``csrf``, shared with the agent pages and checked by
``web.page_auth.verify_csrf`` on every portal form.

- ``portal_actor`` / ``PortalActor``: the signed-in contact's ``Actor`` or None; for any
  ``/help`` page (it also lets the header show the customer's name).
- ``portal_customer`` / ``OptionalCustomer``: the same with the session row's id, name
  and language; ``SignedInCustomer`` sends a visitor to ``/help/sign-in?next=…``.
- ``PortalRoute``: ``UnitOfWorkRoute`` plus the portal's answers to a missing sign-in (a
  redirect) and a failed CSRF check (the portal's "page expired" with the text kept), the
  visitor cookie (``portal.visitor``). No framing by other sites is the whole app's rule
  (``web/framing.py``; only the embeddable form sets its own ``frame-ancestors``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.portal import rules, service
from opora.portal.visitor import keep_visitor
from opora.web import i18n
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.page_auth import CsrfFailed, safe_next
from opora.web.templating import render

SESSION_KEY = "portal_sid"


@dataclass(frozen=True, slots=True)
class PortalCustomer:
    """The signed-in customer (plain values: nothing here is tied to the transaction)."""

    actor: Actor
    session_id: int
    name: str
    language: str
    timezone: str

    @property
    def contact_id(self) -> int:
        assert self.actor.id is not None
        return self.actor.id


def session_token(request: HTTPConnection) -> str | None:
    raw: Any = request.session.get(SESSION_KEY)
    return raw if isinstance(raw, str) and raw else None


async def portal_customer(request: Request, session: Session) -> PortalCustomer | None:
    """The customer whose portal session the cookie names, or None (the stale token is
    then forgotten). Sets ``request.state.portal_customer`` for the header."""
    known = getattr(request.state, "portal_customer", None)
    if isinstance(known, PortalCustomer):
        return known
    raw = session_token(request)
    if raw is None:
        return None
    found = await service.resolve_session(session, raw)
    if found is None:
        request.session.pop(SESSION_KEY, None)
        return None
    row, contact = found
    customer = PortalCustomer(
        actor=auth_service.actor_for_contact(contact),
        session_id=row.id,
        name=contact.name,
        language=contact.language,
        timezone=contact.timezone,
    )
    request.state.portal_customer = customer
    return customer


OptionalCustomer = Annotated[PortalCustomer | None, Depends(portal_customer)]


async def portal_actor(customer: OptionalCustomer) -> Actor | None:
    """The signed-in contact's Actor, or None for a visitor (or an agent: agents' sessions
    are not customers')."""
    return customer.actor if customer is not None else None


PortalActor = Annotated[Actor | None, Depends(portal_actor)]


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to the portal first")
        self.next_path = next_path


def _here(request: Request) -> str:
    if request.method == "GET":
        url = urlsplit(str(request.url))
        return url.path + (f"?{url.query}" if url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    return referer.path + (f"?{referer.query}" if referer.query else "")


async def signed_in_customer(request: Request, customer: OptionalCustomer) -> PortalCustomer:
    if customer is None:
        raise SignInRequired(rules.safe_portal_path(_here(request)))
    return customer


SignedInCustomer = Annotated[PortalCustomer, Depends(signed_in_customer)]


def sign_in_url(next_path: str) -> str:
    if next_path == rules.DEFAULT_AFTER_SIGN_IN:
        return "/help/sign-in"
    return "/help/sign-in?next=" + quote(next_path, safe="/")


def portal_language(request: Request) -> str:
    """The signed-in customer's own language; else the ``lang`` cookie (the language
    switch), the browser's, English."""
    customer = getattr(request.state, "portal_customer", None)
    own = customer.language if isinstance(customer, PortalCustomer) else None
    return i18n.request_language(request, own)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _portal_answers(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            response = await handler(request)
        except SignInRequired as exc:
            response = RedirectResponse(sign_in_url(exc.next_path), status_code=303)
        except CsrfFailed as exc:
            # rolled back: the header must not read anything of that transaction
            request.state.portal_customer = None
            back = safe_next(exc.back, "/help")
            response = render(
                request, "portal/expired.html", status_code=403,
                lang=portal_language(request), fields=exc.fields,
                back=back if back.startswith("/help") else "/help",
            )  # fmt: skip
        keep_visitor(request, response)
        return response

    return run


class PortalRoute(UnitOfWorkRoute):
    """A portal page in the request's transaction (see the module's docstring). Every
    such page resolves the signed-in customer (after the router's own dependencies, so
    after the CSRF check), so the header always knows who is there."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["dependencies"] = [*(kwargs.get("dependencies") or []), Depends(portal_customer)]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        return _portal_answers(super().get_route_handler())


class PortalOwnTransactionsRoute(APIRoute):
    """A portal page that opens its own transactions (the password sign-in: a failure
    answers 400 and must still be counted)."""

    def get_route_handler(self) -> Handler:
        return _portal_answers(super().get_route_handler())
