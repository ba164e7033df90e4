"""The knowledge base at an agent's ticket: articles suggested from the ticket's text, an
article drafted from its resolution, and the check that keeps an internal article out of
a public reply.

Built on ``kb.service`` (search, reading) and ``tickets.service`` (who may read the
ticket); nothing here writes.

- ``ticket_suggestions``: a search as the agent, in the customer's language, for the
  ticket's subject and the customer's latest public message (or for what the agent
  typed), with each article's plain text for "Insert text".
- ``draft_from_ticket``: title and body of a new article from a solved ticket's
  resolution summary (problem, solution) in the customer's language. Only the subject
  and the summary are read: never a message, so never an internal note.
- ``internal_articles_in``: the agents-only articles (internal, or in an internal
  category) whose link or text a reply holds, so that a public reply carrying one can
  be refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.contacts.models import Contact
from opora.kb import rules, service
from opora.kb.models import KbArticle, KbTranslation
from opora.kb.schemas import LOCALES, SearchHit
from opora.tickets import service as tickets_service
from opora.tickets.models import Message, Ticket, TicketStatus, Visibility

SUGGESTIONS = 5
QUERY_WORDS = 12  # the words of the ticket searched for: each unknown one costs a look-up
TEXT_PREFIX = 60  # characters of an internal article's text that betray it in a reply
_ARTICLE_LINK = re.compile(r"/help/articles/(\d+)")
# the resolution's headings, in the article's (the customer's) language
HEADINGS = {"en": ("Problem", "Solution"), "ru": ("Проблема", "Решение")}


def article_locale(language: str | None) -> str:
    """The knowledge-base locale for a person's language (``ru-RU`` → ``ru``)."""
    code = (language or "").split("-")[0].lower()
    return code if code in LOCALES else "en"


@dataclass(frozen=True, slots=True)
class Suggestion:
    hit: SearchHit
    text: str  # the shown translation's plain text, for "Insert text"
    internal: bool  # agents only: an internal article, or one in an internal category


@dataclass(frozen=True, slots=True)
class Suggestions:
    ticket: Ticket
    locale: str  # the customer's
    query: str  # what was searched for
    typed: bool  # the agent typed the query (else it came from the ticket)
    items: list[Suggestion]


def _ticket_query(subject: str, message: str) -> str:
    words = rules.query_words(f"{subject} {message}")
    return " ".join(words[:QUERY_WORDS])


async def _latest_customer_text(session: AsyncSession, ticket_id: int) -> str:
    row = await session.execute(
        select(Message.body_text)
        .where(
            Message.ticket_id == ticket_id,
            Message.visibility == Visibility.PUBLIC,
            Message.author_contact_id.is_not(None),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    return row.scalar_one_or_none() or ""


def _agent_only(public_categories: set[int]) -> ColumnElement[bool]:
    """Articles a customer can never read, whatever their translations' status."""
    return or_(
        KbArticle.visibility != service.PUBLIC,
        KbArticle.category_id.not_in(sorted(public_categories) or [0]),
    )


async def _texts(
    session: AsyncSession, article_ids: set[int]
) -> tuple[dict[tuple[int, str], str], set[int]]:
    """The plain text of the articles' translations, and which of them are agents' only."""
    if not article_ids:
        return {}, set()
    public_categories = await service.public_category_ids(session)
    rows = await session.execute(
        select(
            KbTranslation.article_id,
            KbTranslation.locale,
            KbTranslation.body_text,
            _agent_only(public_categories),
        )
        .join(KbArticle, KbArticle.id == KbTranslation.article_id)
        .where(KbTranslation.article_id.in_(sorted(article_ids)))
    )
    texts: dict[tuple[int, str], str] = {}
    agent_only: set[int] = set()
    for article_id, locale, text, only in rows:
        texts[(article_id, locale)] = text
        if only:
            agent_only.add(article_id)
    return texts, agent_only


async def ticket_suggestions(
    session: AsyncSession, *, actor: Actor, ticket_id: int, query: str = ""
) -> Suggestions:
    """Published articles for the ticket (internal ones too: the actor is an agent),
    best first. ``query``: the agent's own words instead of the ticket's."""
    ticket = await tickets_service.get_ticket(session, actor=actor, ticket_id=ticket_id)
    requester = await session.get(Contact, ticket.requester_id)
    locale = article_locale(requester.language if requester is not None else None)
    typed = bool(query.strip())
    if not typed:
        query = _ticket_query(ticket.subject, await _latest_customer_text(session, ticket.id))
    found = await service.search(
        session, actor=actor, query=query[:300], locale=locale, limit=SUGGESTIONS
    )
    texts, agent_only = await _texts(session, {h.article_id for h in found.hits})
    items = [
        Suggestion(
            hit=h,
            text=texts.get((h.article_id, h.locale), ""),
            internal=h.visibility != service.PUBLIC or h.article_id in agent_only,
        )
        for h in found.hits
    ]
    return Suggestions(ticket=ticket, locale=locale, query=query, typed=typed, items=items)


@dataclass(frozen=True, slots=True)
class Draft:
    """A new article's fields taken from a ticket."""

    ticket: Ticket
    locale: str
    title: str
    body_html: str
    has_resolution: bool  # a solved ticket with a summary: title and body are filled


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in parts)


async def draft_from_ticket(session: AsyncSession, *, actor: Actor, ticket_id: int) -> Draft:
    """What "Create article from resolution" opens with: the problem (or the subject) as
    the title, the problem and the solution as the body, in the customer's language.
    Reads the ticket's subject and resolution summary only, never its messages."""
    ticket = await tickets_service.get_ticket(session, actor=actor, ticket_id=ticket_id)
    requester = await session.get(Contact, ticket.requester_id)
    locale = article_locale(requester.language if requester is not None else None)
    summary = ticket.resolution or {}
    problem = str(summary.get("problem") or "").strip()
    solution = str(summary.get("solution") or "").strip()
    solved = ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
    if not (solved and solution):
        return Draft(ticket=ticket, locale=locale, title="", body_html="", has_resolution=False)
    first_line = problem.splitlines()[0].strip() if problem else ""
    title = " ".join((first_line or ticket.subject).split())[:300]
    heading_problem, heading_solution = HEADINGS[locale]
    body = ""
    if problem:
        body += f"<h2>{escape(heading_problem)}</h2>" + _paragraphs(problem)
    body += f"<h2>{escape(heading_solution)}</h2>" + _paragraphs(solution)
    return Draft(ticket=ticket, locale=locale, title=title, body_html=body, has_resolution=True)


def _squeeze(text: str) -> str:
    return " ".join(text.split()).lower()


async def internal_articles_in(session: AsyncSession, text: str) -> list[int]:
    """Internal articles a reply's ``text`` carries: a link to one (``/help/articles/
    <id>``), or the beginning of one's text as "Insert text" puts it there."""
    if not text.strip():
        return []
    found: set[int] = set()
    linked = {int(i) for i in _ARTICLE_LINK.findall(text)}
    agent_only = _agent_only(await service.public_category_ids(session))
    if linked:
        ids = await session.execute(
            select(KbArticle.id).where(KbArticle.id.in_(sorted(linked)), agent_only)
        )
        found.update(ids.scalars())
    prefix = func.substr(KbTranslation.body_text, 1, TEXT_PREFIX * 2)
    rows = await session.execute(
        select(KbTranslation.article_id, prefix)
        .join(KbArticle, KbArticle.id == KbTranslation.article_id)
        .where(agent_only)
    )
    squeezed = _squeeze(text)
    for article_id, beginning in rows:
        start = _squeeze(beginning or "")[:TEXT_PREFIX]
        if len(start) >= 20 and start in squeezed:
            found.add(article_id)
    return sorted(found)
