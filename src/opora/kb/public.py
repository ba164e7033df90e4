"""The help center: the knowledge base as customers and visitors read it.

- ``/help``: a search box, "Getting started" first, the categories with their sections
  and articles, the most read articles.
- ``/help/categories/{id}``, ``/help/articles/{id}-{slug}`` (the id decides; a stale
  slug still works), ``/help/search?q=`` (ranked, with marked snippets).
- ``/help/suggest`` (htmx, the request form's subject): matching articles while the
  customer types, each with "This answers my question" → ``POST /help/deflect``, which
  counts a deflected request.
- ``POST /help/articles/{id}/feedback``: "helped / didn't help" and a comment.

Reading goes through ``kb.service`` with the portal's customer (or nobody) as the reader,
so an internal article, a draft or an article in an internal category is a 404 here as
anywhere. What readers do (searches, clicks on results, views, feedback, deflections) is
recorded for the search analytics, in a write transaction of its own after the page's
read: a reader's page never fails because a count could not be written.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.db import Database
from opora.errors import OporaError
from opora.kb import service
from opora.kb.schemas import LOCALES, FeedbackIn
from opora.portal.deps import PortalActor, PortalRoute, portal_language
from opora.portal.request_form import embed_token_valid
from opora.portal.visitor import visitor_of
from opora.web.deps import Session
from opora.web.page_auth import verify_csrf
from opora.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
forms = APIRouter(
    route_class=PortalRoute, include_in_schema=False, dependencies=[Depends(verify_csrf)]
)

_ARTICLE_REF = re.compile(r"^(\d+)(?:-[a-z0-9-]*)?$")
SUGGESTIONS = 5
HOME_ARTICLES = 6  # per category and section on the home page


def _locale(request: Request) -> str:
    lang = portal_language(request)
    return lang if lang in LOCALES else "en"


async def _record(request: Request, what: str, work: Any) -> Any:
    """Run ``work(session)`` in a write transaction of its own; a failure is logged, not
    shown (the reader's page does not depend on it)."""
    db: Database = request.app.state.db
    try:
        async with db.unit_of_work() as session:
            return await work(session)
    except Exception:
        log.exception("could not record %s", what)
        return None


def _names(category: Any, locale: str) -> str:
    names = category.names or {}
    return str(names.get(locale) or next(iter(names.values()), ""))


async def _tree(
    session: AsyncSession,
    actor: Actor | None,
    locale: str,
    *,
    per_category: int | None,
    only: int | None = None,
) -> list[dict[str, Any]]:
    """Top categories (getting started first) with their sections and published articles
    (``per_category`` of each on the home page; with ``only``, the articles of that
    category or section and its family only)."""
    categories = await service.list_categories(session, actor=actor)
    by_category: dict[int, list[dict[str, Any]]] = {}
    ids = [c.id for c in categories]
    if only is not None:
        family = {only} | {c.parent_id for c in categories if c.id == only and c.parent_id}
        ids = [c.id for c in categories if c.id in family or c.parent_id in family]
    found = await service.articles_by_category(
        session, actor=actor, category_ids=ids, per_category=per_category
    )
    for category_id, articles in found.items():
        for article in articles:
            shown = article.shown(locale)
            if shown is None or shown.status != service.PUBLISHED:
                continue
            url = service.article_url(article.row.id, shown.slug)
            by_category.setdefault(category_id, []).append(
                {"id": article.row.id, "title": shown.title, "url": url}
            )
    tops = [c for c in categories if c.parent_id is None]
    tree = []
    for top in tops:
        sections = [
            {"id": s.id, "name": _names(s, locale), "articles": by_category.get(s.id, [])}
            for s in categories
            if s.parent_id == top.id
        ]
        tree.append(
            {
                "id": top.id,
                "name": _names(top, locale),
                "description": (top.descriptions or {}).get(locale, ""),
                "getting_started": top.getting_started,
                "sections": sections,
                "articles": by_category.get(top.id, []),
            }
        )
    return tree


@router.get("/help")
async def help_home(request: Request, session: Session, actor: PortalActor) -> Response:
    locale = _locale(request)
    tree = await _tree(session, actor, locale, per_category=HOME_ARTICLES)
    popular = []
    for article in await service.popular_articles(session, actor=actor, locale=locale):
        shown = article.shown(locale)
        if shown is not None:
            popular.append({"title": shown.title,
                            "url": service.article_url(article.row.id, shown.slug)})  # fmt: skip
    return render(
        request, "help/home.html", lang=locale, tree=tree, popular=popular,
        getting_started=[c for c in tree if c["getting_started"]],
        others=[c for c in tree if not c["getting_started"]],
    )  # fmt: skip


@router.get("/help/categories/{category_id:int}")
async def help_category(
    request: Request, session: Session, actor: PortalActor, category_id: int
) -> Response:
    locale = _locale(request)
    try:
        await service.get_category(session, actor=actor, category_id=category_id)
    except service.CategoryNotFound:
        return render(request, "portal/not_found.html", status_code=404, lang=locale)
    tree = await _tree(session, actor, locale, per_category=None, only=category_id)
    found = next((c for c in tree if c["id"] == category_id), None)
    if found is None:  # a section: shown within its category
        for top in tree:
            for section in top["sections"]:
                if section["id"] == category_id:
                    found = {**section, "description": "", "sections": [],
                             "parent": {"id": top["id"], "name": top["name"]}}  # fmt: skip
    if found is None:
        return render(request, "portal/not_found.html", status_code=404, lang=locale)
    return render(request, "help/category.html", lang=locale, category=found)


@router.get("/help/articles/{ref}")
async def help_article(
    request: Request,
    session: Session,
    actor: PortalActor,
    ref: str,
    s: int | None = None,
    p: int | None = None,
    feedback: str | None = None,
) -> Response:
    locale = _locale(request)
    match = _ARTICLE_REF.match(ref)
    if match is None:
        return render(request, "portal/not_found.html", status_code=404, lang=locale)
    article_id = int(match.group(1))
    try:
        article = await service.get_article(session, actor=actor, article_id=article_id)
    except service.ArticleNotFound:
        return render(request, "portal/not_found.html", status_code=404, lang=locale)
    shown = article.shown(locale)
    if shown is None or shown.status != service.PUBLISHED:
        return render(request, "portal/not_found.html", status_code=404, lang=locale)
    canonical = service.article_url(article_id, shown.slug)
    if request.url.path != canonical and not request.url.query:
        return RedirectResponse(canonical, status_code=301)
    related = []
    for other in await service.related_articles(session, actor=actor, article=article):
        other_shown = other.shown(locale)
        if other_shown is not None:
            url = service.article_url(other.row.id, other_shown.slug)
            related.append({"title": other_shown.title, "url": url})
    category = await service.get_category(session, actor=actor, category_id=article.row.category_id)
    other_locales = [k for k in article.translations if k != shown.locale]
    visitor = visitor_of(request)

    async def count(write: AsyncSession) -> None:
        if s is not None:
            await service.record_click(
                write, search_id=s, article_id=article_id, position=p or 0, visitor=visitor
            )
        await service.record_view(write, article_id=article_id, locale=shown.locale,
                                  visitor=visitor)  # fmt: skip

    await _record(request, "an article view", count)
    return render(
        request, "help/article.html", lang=locale, article=article.row, shown=shown,
        related=related, category={"id": category.id, "name": _names(category, locale)},
        other_locales=other_locales, thanks=feedback == "thanks",
    )  # fmt: skip


@router.get("/help/search")
async def help_search(
    request: Request,
    session: Session,
    actor: PortalActor,
    q: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    locale = _locale(request)
    query = q.strip()
    results = None
    search_id = None
    if query:
        results = await service.search(session, actor=actor, query=query, locale=locale)
        visitor = visitor_of(request)
        found = len(results.hits)

        async def log_it(write: AsyncSession) -> int:
            return await service.log_search(
                write, query=query, locale=locale, results=found, source="portal",
                visitor=visitor, actor=actor,
            )  # fmt: skip

        search_id = await _record(request, "a search", log_it)
    return render(request, "help/search.html", lang=locale, q=query, results=results,
                  search_id=search_id)  # fmt: skip


@router.get("/help/suggest")
async def help_suggest(
    request: Request,
    session: Session,
    actor: PortalActor,
    subject: Annotated[str, Query(max_length=300)] = "",
    locale: str | None = None,
    form_token: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Articles matching what the customer types as the subject (htmx partial). In the
    embeddable form (``form_token``: its signed token; another site's frame sends no
    cookie, so no CSRF token either) "this helped" posts to ``/embed/deflect``."""
    lang = locale if locale in LOCALES else _locale(request)
    hits = []
    if len(subject.strip()) >= 3:
        results = await service.search(
            session, actor=actor, query=subject, locale=lang, limit=SUGGESTIONS, typing=True
        )
        hits = results.hits
    token = form_token if form_token and embed_token_valid(request, form_token) else ""
    return render(request, "help/_suggestions.html", lang=lang, hits=hits, done=False,
                  form_token=token)  # fmt: skip


@forms.post("/help/deflect")
async def help_deflect(
    request: Request, session: Session, actor: PortalActor, article_id: Annotated[int, Form()]
) -> Response:
    """The customer says a suggested article answered their question: a deflected
    request (nothing is submitted)."""
    lang = _locale(request)
    try:
        await service.get_article(session, actor=actor, article_id=article_id)
    except service.ArticleNotFound:
        return render(request, "portal/not_found.html", status_code=404, lang=lang)
    await service.record_outcome(
        session, kind="deflected", visitor=visitor_of(request), article_id=article_id
    )
    if request.headers.get("hx-request"):
        return render(request, "help/_suggestions.html", lang=lang, hits=[], done=True,
                      form_token="")  # fmt: skip
    return RedirectResponse("/help?deflected=1", status_code=303)


@router.post("/embed/deflect")
async def embed_deflect(
    request: Request,
    session: Session,
    article_id: Annotated[int, Form()],
    form_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """ "This helped" inside the embeddable form: the form's signed token stands for the
    CSRF token (a frame on another site gets no cookie of ours)."""
    lang = _locale(request)
    if not embed_token_valid(request, form_token):
        return render(request, "help/_suggestions.html", status_code=403, lang=lang, hits=[],
                      done=False, form_token="")  # fmt: skip
    try:
        await service.get_article(session, actor=None, article_id=article_id)
    except service.ArticleNotFound:
        return render(request, "portal/not_found.html", status_code=404, lang=lang)
    await service.record_outcome(
        session, kind="deflected", visitor=visitor_of(request), article_id=article_id
    )
    return render(request, "help/_suggestions.html", lang=lang, hits=[], done=True,
                  form_token="")  # fmt: skip


@forms.post("/help/articles/{article_id:int}/feedback")
async def help_feedback(
    request: Request,
    session: Session,
    actor: PortalActor,
    article_id: int,
    helpful: Annotated[str, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    lang = _locale(request)
    try:
        data = FeedbackIn(helpful=helpful in ("1", "yes", "true"), comment=comment, locale=lang)
        await service.record_feedback(
            session, actor=actor, article_id=article_id, data=data, visitor=visitor_of(request)
        )
    except service.ArticleNotFound:
        return render(request, "portal/not_found.html", status_code=404, lang=lang)
    except OporaError as exc:
        return render(request, "help/_feedback.html", status_code=422, lang=lang,
                      article_id=article_id, error=exc.message, thanks=False)  # fmt: skip
    if request.headers.get("hx-request"):
        return render(request, "help/_feedback.html", lang=lang, article_id=article_id,
                      thanks=True, error=None)  # fmt: skip
    article = await service.get_article(session, actor=actor, article_id=article_id)
    shown = article.shown(lang)
    slug = shown.slug if shown is not None else ""
    return RedirectResponse(service.article_url(article_id, slug) + "?feedback=thanks",
                            status_code=303)  # fmt: skip
