"""The global search page, ``GET /search?q=``, behind the search box in every page's header.

- A ticket number («123» or «#123») of a ticket the agent may read opens that ticket.
- Otherwise the results come in sections: tickets (full text through
  ``tickets.service.list_tickets``, so only readable tickets, internal notes included for
  agents, Russian and English morphology), contacts (email or phone beginning, a word of
  the name) and organizations (a part of the name).
- An empty query shows the page with a hint and runs no query.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from opora.auth import service as auth_service
from opora.contacts import service as contacts_service
from opora.errors import InvalidInput
from opora.tickets import service as tickets_service
from opora.tickets.repository import TicketFilters
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.forms import see_other
from opora.web.page_auth import PageUser, verify_csrf
from opora.web.templating import render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

TICKETS = 20
CONTACTS = 10
ORGANIZATIONS = 10
MAX_QUERY = 200
NUMBER = re.compile(r"#?\s*(\d{1,18})")


@router.get("/search")
async def search_page(request: Request, session: Session, user: PageUser, q: str = "") -> Response:
    q = " ".join(q.split())
    if not q:
        return render(request, "search/page.html", q="", global_q="", searched=False, problem=None)
    if len(q) > MAX_QUERY:
        return render(
            request,
            "search/page.html",
            status_code=400,
            q=q[:MAX_QUERY],
            global_q="",
            searched=False,
            problem="too_long",
        )
    actor = await auth_service.actor_for_user(session, user)
    number = NUMBER.fullmatch(q)
    if number:
        try:
            ticket = await tickets_service.ticket_by_number(
                session, actor=actor, number=int(number.group(1))
            )
        except tickets_service.TicketNotFound:
            pass
        else:
            return see_other(f"/tickets/{ticket.id}")
    try:
        tickets, _tags, _next = await tickets_service.list_tickets(
            session, actor=actor, filters=TicketFilters(), query=q, limit=TICKETS
        )
    except InvalidInput:  # no words to look for («#», «!!!»)
        tickets = []
    contacts, more_contacts = await contacts_service.search_contacts(
        session, actor=actor, q=q, limit=CONTACTS
    )
    orgs, more_orgs = await contacts_service.search_organizations(
        session, actor=actor, q=q, limit=ORGANIZATIONS
    )
    identities = await contacts_service.identities_by_contact(session, contacts)
    requester_names = await contacts_service.contact_names(
        session, [t.requester_id for t in tickets]
    )
    return render(
        request,
        "search/page.html",
        q=q,
        global_q=q,
        searched=True,
        problem=None,
        number=int(number.group(1)) if number else None,
        tickets=tickets,
        requester_names=requester_names,
        contacts=contacts,
        more_contacts=more_contacts is not None,
        identities=identities,
        orgs=orgs,
        more_orgs=more_orgs is not None,
    )
