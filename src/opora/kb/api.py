"""JSON API of the knowledge base: ``/api/v1/kb/categories``, ``/api/v1/kb/articles``
and ``/api/v1/kb/search``.

Reading needs no token: without one (or with a customer's) only public, published
articles in public categories exist; agents see everything and write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from opora.kb import service
from opora.kb.models import KbCategory, KbTranslation
from opora.kb.schemas import (
    ArticleCreate,
    ArticleRead,
    ArticleUpdate,
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    FeedbackIn,
    Locale,
    RevisionRead,
    SearchResults,
    Status,
    TranslationRead,
    Visibility,
)
from opora.portal.visitor import visitor_of
from opora.web.deps import AgentActor, OptionalActor, Session, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/kb", route_class=UnitOfWorkRoute, tags=["knowledge base"])


def category_read(row: KbCategory) -> CategoryRead:
    return CategoryRead(
        id=row.id, parent_id=row.parent_id, names=row.names or {},
        descriptions=row.descriptions or {}, position=row.position,
        getting_started=row.getting_started, visibility=row.visibility,
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def translation_read(t: KbTranslation) -> TranslationRead:
    return TranslationRead(
        locale=t.locale, title=t.title, slug=t.slug, body_html=t.body_html, status=t.status,
        published_at=t.published_at, updated_at=t.updated_at, author_id=t.author_id,
        view_count=t.view_count, helpful_count=t.helpful_count,
        unhelpful_count=t.unhelpful_count,
    )  # fmt: skip


def article_read(article: service.Article) -> ArticleRead:
    row = article.row
    return ArticleRead(
        id=row.id, category_id=row.category_id, visibility=row.visibility,
        position=row.position, tags=row.tags or [], related_ids=row.related_ids or [],
        source_ticket_id=row.source_ticket_id, created_at=row.created_at,
        updated_at=row.updated_at,
        translations={k: translation_read(t) for k, t in article.translations.items()},
    )  # fmt: skip


# --- categories -----------------------------------------------------------------------------


@router.get("/categories", response_model=list[CategoryRead])
async def list_categories(actor: OptionalActor, session: Session) -> list[CategoryRead]:
    return [category_read(c) for c in await service.list_categories(session, actor=actor)]


@router.post("/categories", response_model=CategoryRead, status_code=201)
async def create_category(
    data: CategoryCreate, actor: AgentActor, session: Session
) -> CategoryRead:
    return category_read(await service.create_category(session, actor=actor, data=data))


@router.get("/categories/{category_id}", response_model=CategoryRead)
async def get_category(category_id: int, actor: OptionalActor, session: Session) -> CategoryRead:
    row = await service.get_category(session, actor=actor, category_id=category_id)
    return category_read(row)


@router.patch("/categories/{category_id}", response_model=CategoryRead)
async def update_category(
    category_id: int, data: CategoryUpdate, actor: AgentActor, session: Session
) -> CategoryRead:
    row = await service.update_category(session, actor=actor, category_id=category_id, data=data)
    return category_read(row)


@router.delete("/categories/{category_id}", status_code=204)
async def delete_category(category_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_category(session, actor=actor, category_id=category_id)
    return Response(status_code=204)


# --- articles -------------------------------------------------------------------------------


@router.get("/articles", response_model=list[ArticleRead])
async def list_articles(
    actor: OptionalActor,
    session: Session,
    category_id: int | None = None,
    locale: Locale | None = None,
    status: Status | None = None,
    visibility: Visibility | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ArticleRead]:
    found = await service.list_articles(
        session, actor=actor, category_id=category_id, locale=locale, status=status,
        visibility=visibility, limit=limit, offset=offset,
    )  # fmt: skip
    return [article_read(a) for a in found]


@router.post("/articles", response_model=ArticleRead, status_code=201)
async def create_article(data: ArticleCreate, actor: AgentActor, session: Session) -> ArticleRead:
    return article_read(await service.create_article(session, actor=actor, data=data))


@router.get("/articles/{article_id}", response_model=ArticleRead)
async def get_article(article_id: int, actor: OptionalActor, session: Session) -> ArticleRead:
    return article_read(await service.get_article(session, actor=actor, article_id=article_id))


@router.patch("/articles/{article_id}", response_model=ArticleRead)
async def update_article(
    article_id: int, data: ArticleUpdate, actor: AgentActor, session: Session
) -> ArticleRead:
    article = await service.update_article(session, actor=actor, article_id=article_id, data=data)
    return article_read(article)


@router.delete("/articles/{article_id}", status_code=204)
async def delete_article(article_id: int, actor: AgentActor, session: Session) -> Response:
    await service.delete_article(session, actor=actor, article_id=article_id)
    return Response(status_code=204)


@router.get("/articles/{article_id}/revisions", response_model=list[RevisionRead])
async def list_revisions(
    article_id: int, actor: AgentActor, session: Session
) -> list[RevisionRead]:
    found = await service.list_revisions(session, actor=actor, article_id=article_id)
    return [
        RevisionRead(
            id=r.id,
            locale=locale,
            title=r.title,
            status=r.status,
            author_id=r.author_id,
            created_at=r.created_at,
        )
        for locale, r in found
    ]


@router.post("/articles/{article_id}/feedback", status_code=204)
async def give_feedback(
    article_id: int, data: FeedbackIn, request: Request, actor: OptionalActor, session: Session
) -> Response:
    await service.record_feedback(
        session, actor=actor, article_id=article_id, data=data, visitor=visitor_of(request)
    )
    return Response(status_code=204)


# --- search ---------------------------------------------------------------------------------


@router.get("/search", response_model=SearchResults)
async def search(
    actor: OptionalActor,
    session: Session,
    q: Annotated[str, Query(max_length=300)] = "",
    locale: Locale = "en",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResults:
    """Ranked articles with highlighted snippets (public ones only for anonymous and
    customer callers). Not logged: the help center's own searches are."""
    return await service.search(session, actor=actor, query=q, locale=locale, limit=limit)
