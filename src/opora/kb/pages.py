"""The agents' knowledge-base pages.

- ``GET /kb``: the articles by category and section, with each translation's status,
  filters (locale, status, visibility, category) and a search box (agents' search:
  internal articles included, published ones only).
- ``GET /kb/articles/new`` (``?from_ticket=<id>``: drafted from a solved ticket's
  resolution, ``?category_id=``), ``POST /kb/articles``; ``GET /kb/articles/{id}``,
  ``POST /kb/articles/{id}``: the editor — category or section, visibility, tags, related
  articles (ids, or picked from a search: ``GET /kb/articles/picker``), and per locale a
  title, a rich-text body (``static/js/kb-editor.js``; a plain textarea without
  JavaScript) and draft / published; the revisions below it.
- ``POST /kb/images`` (an image for the editor, JSON ``{"url": …}``) and
  ``GET /kb/images/{id}/{key}`` (the image, for anyone who may read an article showing
  it; ``kb/images.py``).
- ``/kb/categories`` (admins and supervisors): categories and sections, their names and
  descriptions in both languages, parent, position, "Getting started", visibility.

Any agent writes articles; arranging categories is for admins and supervisors
(``kb.service`` decides, the pages only hide what would be refused). Handlers parse the
form, call one use case in a savepoint and render; a mistake shows the form again with
the field marked and everything typed kept (an error status, so the request rolls back).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from opora.auth import service as auth_service
from opora.auth.actor import Actor
from opora.errors import OporaError
from opora.kb import images, service, suggest
from opora.kb.models import KbCategory
from opora.kb.schemas import (
    LOCALES,
    ArticleCreate,
    ArticleUpdate,
    CategoryCreate,
    CategoryUpdate,
)
from opora.kit.blobs import BlobStore
from opora.kit.html import sanitize_html
from opora.tickets import service as tickets_service
from opora.web.deps import Session, UnitOfWorkRoute
from opora.web.downloads import file_response
from opora.web.forms import attempt, see_other
from opora.web.page_auth import PageUser, signed_in_user, verify_csrf
from opora.web.templating import page_language, render

router = APIRouter(
    route_class=UnitOfWorkRoute,
    include_in_schema=False,
    dependencies=[Depends(verify_csrf)],
)

EDITOR_LOCALES = ("ru", "en")  # the order of the editor's language blocks
STATUSES = ("draft", "published")
VISIBILITIES = ("public", "internal")
PAGE = 100
CATEGORY_LIMIT = 500  # articles listed for one category (with its sections)
ARTICLE_FIELDS = (
    "category_id", "visibility", "tags", "related_ids", "source_ticket_id",
    *(f"{name}_{loc}" for loc in EDITOR_LOCALES for name in ("title", "body", "status")),
)  # fmt: skip
CATEGORY_FIELDS = (
    "name_ru", "name_en", "description_ru", "description_en", "parent_id", "position",
    "getting_started", "visibility",
)  # fmt: skip
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]")


async def _actor(session: AsyncSession, user: Any) -> Actor:
    return await auth_service.actor_for_user(session, user)


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[,\s]+", value) if w]


def _tags(value: str) -> list[str]:
    """Tags as typed, separated by commas ("card refunds" is one tag)."""
    return [t.strip() for t in value.split(",") if t.strip()]


def _category_name(c: KbCategory, lang: str) -> str:
    names = c.names or {}
    return names.get(lang) or next(iter(names.values()), "") or f"#{c.id}"


@dataclass(frozen=True, slots=True)
class CategoryNode:
    category: KbCategory
    name: str
    sections: list[tuple[KbCategory, str]]


def _tree(categories: list[KbCategory], lang: str) -> list[CategoryNode]:
    """Top-level categories in their order, each with its sections."""
    tops = [c for c in categories if c.parent_id is None]
    known = {c.id for c in tops}
    nodes = [
        CategoryNode(
            category=c,
            name=_category_name(c, lang),
            sections=[(s, _category_name(s, lang)) for s in categories if s.parent_id == c.id],
        )
        for c in tops
    ]
    # a section whose parent the reader cannot see stands alone
    nodes += [
        CategoryNode(category=s, name=_category_name(s, lang), sections=[])
        for s in categories
        if s.parent_id is not None and s.parent_id not in known
    ]
    return nodes


def _lang(request: Request) -> str:
    return page_language(request)


# --- the list -------------------------------------------------------------------------------


@router.get("/kb")
async def kb_list(
    request: Request,
    session: Session,
    user: PageUser,
    q: str = "",
    locale: str = "",
    status: str = "",
    visibility: str = "",
    category_id: str = "",
    offset: str = "",
) -> Response:
    actor = await _actor(session, user)
    lang = _lang(request)
    filters = {
        "locale": locale if locale in LOCALES else "",
        "status": status if status in STATUSES else "",
        "visibility": visibility if visibility in VISIBILITIES else "",
        "category_id": category_id if _int_or_none(category_id) is not None else "",
    }
    categories = await service.list_categories(session, actor=actor)
    tree = _tree(categories, lang)
    start = _int_or_none(offset) or 0
    hits = None
    articles: list[service.Article] = []
    more = False
    query = q.strip()[:300]
    if query:
        found = await service.search(
            session, actor=actor, query=query, locale=filters["locale"] or lang, limit=50
        )
        hits = [h for h in found.hits if not filters["visibility"] or h.visibility == visibility]
    else:
        common: dict[str, Any] = {
            "locale": filters["locale"] or None,
            "status": filters["status"] or None,
            "visibility": filters["visibility"] or None,
        }
        chosen = _int_or_none(filters["category_id"])
        if chosen is not None:
            ids = [chosen] + [c.id for c in categories if c.parent_id == chosen]
            for cid in ids:
                articles += await service.list_articles(
                    session, actor=actor, category_id=cid, limit=CATEGORY_LIMIT, **common
                )
        else:
            articles = await service.list_articles(
                session, actor=actor, limit=PAGE, offset=start, **common
            )
            more = len(articles) == PAGE
    by_category: dict[int, list[service.Article]] = {}
    for a in articles:
        by_category.setdefault(a.row.category_id, []).append(a)
    return render(
        request,
        "kb/list.html",
        tree=tree,
        filters=filters,
        q=query,
        hits=hits,
        by_category=by_category,
        count=len(articles),
        offset=start,
        next_offset=start + PAGE if more else None,
        locales=EDITOR_LOCALES,
        statuses=STATUSES,
        visibilities=VISIBILITIES,
        can_arrange=actor.is_supervisor,
    )


# --- the editor -----------------------------------------------------------------------------


def _blank_values() -> dict[str, str]:
    values = dict.fromkeys(ARTICLE_FIELDS, "")
    values["visibility"] = "public"
    for loc in EDITOR_LOCALES:
        values[f"status_{loc}"] = "draft"
    return values


def _article_values(article: service.Article) -> dict[str, str]:
    row = article.row
    values = _blank_values()
    values.update(
        category_id=str(row.category_id),
        visibility=row.visibility,
        tags=", ".join(row.tags or []),
        related_ids=", ".join(str(i) for i in row.related_ids or []),
        source_ticket_id=str(row.source_ticket_id or ""),
    )
    for loc, t in article.translations.items():
        if loc in EDITOR_LOCALES:
            values[f"title_{loc}"] = t.title
            values[f"body_{loc}"] = t.body_html
            values[f"status_{loc}"] = t.status
    return values


def _as_html(body: str) -> str:
    """The body as HTML: the editor sends HTML; plain text typed into the textarea
    without JavaScript becomes paragraphs."""
    if not body.strip() or _LOOKS_LIKE_HTML.search(body):
        return body
    parts = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    return "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in parts)


def _has_text(html: str) -> bool:
    return bool(re.sub(r"<[^>]*>|&nbsp;|\s", "", html)) or "<img" in html


def _translations(
    values: dict[str, str], existing: service.Article | None, errors: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Each locale the form fills in (or changes, for an existing article)."""
    found: dict[str, dict[str, str]] = {}
    for loc in EDITOR_LOCALES:
        title = " ".join(values[f"title_{loc}"].split())
        body = _as_html(values[f"body_{loc}"])
        status = values[f"status_{loc}"] if values[f"status_{loc}"] in STATUSES else "draft"
        stored = existing.translations.get(loc) if existing is not None else None
        if not title and not _has_text(body):
            if stored is not None:  # a translation cannot be taken away here
                errors[f"title_{loc}"] = "title_required"
            continue
        if not title:
            errors[f"title_{loc}"] = "title_required"
            continue
        if (
            stored is not None
            and stored.title == title
            and stored.status == status
            and stored.body_html == sanitize_html(body)
        ):
            continue  # unchanged: no new revision
        found[loc] = {"title": title, "body_html": body, "status": status}
    return found


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    names = {"title": "title", "body_html": "body", "status": "status"}
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if len(loc) >= 3 and loc[0] == "translations" and loc[2] in names:
            code = "too_long" if err["type"] == "string_too_long" else "invalid"
            errors.setdefault(f"{names[loc[2]]}_{loc[1]}", code)
        elif loc and loc[0] in ARTICLE_FIELDS:
            errors.setdefault(loc[0], "too_many" if err["type"] == "too_long" else "invalid")
        else:
            errors.setdefault("form", "invalid")
    return errors


SERVICE_FIELDS = {
    "category_id": "unknown_category",
    "related_ids": "unknown_articles",
    "source_ticket_id": "unknown_ticket",
}


def _parse_article(
    values: dict[str, str], existing: service.Article | None, lang: str
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    category = _int_or_none(values["category_id"])
    if category is None:
        errors["category_id"] = "required"
    if values["visibility"] not in VISIBILITIES:
        errors["visibility"] = "invalid"
    related_words = _words(values["related_ids"])
    if any(not w.isdigit() for w in related_words):
        errors["related_ids"] = "ids"
    translations = _translations(values, existing, errors)
    if existing is None and not translations and not any(k.startswith("title_") for k in errors):
        errors[f"title_{lang if lang in EDITOR_LOCALES else 'en'}"] = "one_locale"
    data: dict[str, Any] = {
        "category_id": category,
        "visibility": values["visibility"],
        "tags": _tags(values["tags"]),
        "related_ids": [int(w) for w in related_words if w.isdigit()],
        "translations": translations or None,
    }
    source = _int_or_none(values["source_ticket_id"])
    if existing is None and source is not None:
        data["source_ticket_id"] = source
    return data, errors


async def _editor(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    article: service.Article | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    draft: suggest.Draft | None = None,
    from_ticket_missing: bool = False,
) -> Response:
    lang = _lang(request)
    categories = await service.list_categories(session, actor=actor)
    revisions: list[tuple[str, Any, str]] = []
    related: list[service.Article] = []
    if article is not None:
        found = await service.list_revisions(session, actor=actor, article_id=article.row.id)
        users = {u.id: u.name for u in await auth_service.list_users(session, actor=actor)}
        revisions = [(loc, r, users.get(r.author_id or 0, "")) for loc, r in found]
        related = await service.related_articles(session, actor=actor, article=article)
    source_ticket = None
    source_id = _int_or_none(values.get("source_ticket_id", ""))
    if source_id is not None:
        try:
            source_ticket = await tickets_service.get_ticket(
                session, actor=actor, ticket_id=source_id
            )
        except tickets_service.TicketNotFound:
            source_ticket = None
    public_urls = {}
    if article is not None:
        public_urls = {
            loc: service.article_url(article.row.id, t.slug)
            for loc, t in article.translations.items()
            if t.status == service.PUBLISHED
        }
    return render(
        request,
        "kb/editor.html",
        status_code=status_code,
        article=article,
        values=values,
        errors=errors or {},
        tree=_tree(categories, lang),
        revisions=revisions,
        related=related,
        locales=EDITOR_LOCALES,
        statuses=STATUSES,
        saved=request.query_params.get("saved", ""),
        draft=draft,
        from_ticket_missing=from_ticket_missing,
        source_ticket=source_ticket,
        public_urls=public_urls,
    )


@router.get("/kb/articles/new")
async def new_article(
    request: Request,
    session: Session,
    user: PageUser,
    from_ticket: str = "",
    category_id: str = "",
) -> Response:
    actor = await _actor(session, user)
    values = _blank_values()
    values["category_id"] = category_id if _int_or_none(category_id) is not None else ""
    draft = None
    missing = False
    ticket_id = _int_or_none(from_ticket)
    if ticket_id is not None:
        try:
            draft = await suggest.draft_from_ticket(session, actor=actor, ticket_id=ticket_id)
        except tickets_service.TicketNotFound:
            missing = True
    if draft is not None:
        values["source_ticket_id"] = str(draft.ticket.id)
        values["visibility"] = "public"
        if draft.has_resolution:
            values[f"title_{draft.locale}"] = draft.title
            values[f"body_{draft.locale}"] = draft.body_html
            values[f"status_{draft.locale}"] = "draft"
    return await _editor(
        request, session, actor, article=None, values=values, draft=draft,
        from_ticket_missing=missing,
    )  # fmt: skip


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    values = _blank_values()
    for name in ARTICLE_FIELDS:
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = raw
    return values


async def _save(
    session: AsyncSession,
    schema: type[BaseModel],
    data: dict[str, Any],
    run: Callable[[Any], Awaitable[Any]],
    *,
    invalid: Callable[[ValidationError], dict[str, str]],
    refused: Callable[[OporaError], dict[str, str]],
) -> tuple[Any, dict[str, str]]:
    """``data`` checked by ``schema`` and handed to ``run`` (a use case, in a savepoint:
    ``web.forms.attempt``): its result and no errors, or None and the errors to show."""
    try:
        payload = schema.model_validate(data)
    except ValidationError as exc:
        return None, invalid(exc)
    done: list[Any] = []

    async def call() -> None:
        done.append(await run(payload))

    error = await attempt(session, call)
    if error is not None:
        return None, refused(error)
    return done[0], {}


@router.post("/kb/articles")
async def create_article(request: Request, session: Session, user: PageUser) -> Response:
    actor = await _actor(session, user)
    values = await _form_values(request)
    data, errors = _parse_article(values, None, _lang(request))
    created = None
    if not errors:
        created, errors = await _save(
            session, ArticleCreate, {k: v for k, v in data.items() if v is not None},
            lambda payload: service.create_article(session, actor=actor, data=payload),
            invalid=_validation_errors, refused=_service_errors,
        )  # fmt: skip
    if errors or created is None:
        return await _editor(
            request, session, actor, article=None, values=values, errors=errors, status_code=400
        )
    return see_other(f"/kb/articles/{created.row.id}?saved=created")


def _service_errors(error: OporaError) -> dict[str, str]:
    if error.field in SERVICE_FIELDS:
        return {error.field: SERVICE_FIELDS[error.field]}
    return {"form": error.message}


@router.get("/kb/articles/picker")
async def article_picker(
    request: Request,
    session: Session,
    user: PageUser,
    q: str = "",
    picker_q: str = "",
    exclude: str = "",
) -> Response:
    """Articles to add as related (htmx fills the editor's picker with them)."""
    actor = await _actor(session, user)
    query = (q or picker_q).strip()[:300]
    hits = []
    if query:
        found = await service.search(session, actor=actor, query=query, locale=_lang(request))
        skip = _int_or_none(exclude)
        hits = [h for h in found.hits if h.article_id != skip]
    return render(request, "kb/_picker.html", hits=hits, q=query)


async def _article(session: AsyncSession, actor: Actor, article_id: int) -> service.Article | None:
    try:
        return await service.get_article(session, actor=actor, article_id=article_id)
    except service.ArticleNotFound:
        return None


def _not_found(request: Request) -> Response:
    return render(request, "kb/not_found.html", status_code=404)


@router.get("/kb/articles/{article_id}")
async def edit_article(
    request: Request, session: Session, user: PageUser, article_id: int
) -> Response:
    actor = await _actor(session, user)
    article = await _article(session, actor, article_id)
    if article is None:
        return _not_found(request)
    return await _editor(request, session, actor, article=article, values=_article_values(article))


@router.post("/kb/articles/{article_id}")
async def update_article(
    request: Request, session: Session, user: PageUser, article_id: int
) -> Response:
    actor = await _actor(session, user)
    article = await _article(session, actor, article_id)
    if article is None:
        return _not_found(request)
    values = await _form_values(request)
    values["source_ticket_id"] = str(article.row.source_ticket_id or "")
    stored = article
    data, errors = _parse_article(values, stored, _lang(request))
    if not errors:
        data.pop("source_ticket_id", None)
        _, errors = await _save(
            session, ArticleUpdate, data,
            lambda payload: service.update_article(
                session, actor=actor, article_id=article_id, data=payload
            ),
            invalid=_validation_errors, refused=_service_errors,
        )  # fmt: skip
    if errors:
        return await _editor(
            request, session, actor, article=stored, values=values, errors=errors,
            status_code=400,
        )  # fmt: skip
    return see_other(f"/kb/articles/{article_id}?saved=saved")


# --- images ---------------------------------------------------------------------------------


@router.post("/kb/images")
async def upload_image(request: Request, session: Session, user: PageUser) -> Response:
    """An image for the editor: stored, and its URL for the article's ``<img>``."""
    actor = await _actor(session, user)
    settings = request.app.state.settings
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        return JSONResponse({"error": "choose an image"}, status_code=400)
    data = await upload.read(settings.max_attachment_bytes + 1)
    found: list[str] = []

    async def call() -> None:
        att = await images.upload_image(
            session, actor=actor, store=BlobStore(settings.attachments_dir),
            filename=upload.filename or "image", content_type=upload.content_type, data=data,
            max_bytes=settings.max_attachment_bytes,
        )  # fmt: skip
        found.append(images.image_url(att))

    error = await attempt(session, call)
    if error is not None:
        return JSONResponse({"error": error.message}, status_code=error.status_code)
    return JSONResponse({"url": found[0]}, status_code=201)


@router.get("/kb/images/{attachment_id}/{key}")
async def show_image(request: Request, session: Session, attachment_id: int, key: str) -> Response:
    """An article's image: agents see any; anyone else one a public article shows."""
    user = await signed_in_user(request, session)
    actor = await _actor(session, user) if user is not None else None
    try:
        att = await images.readable_image(
            session, actor=actor, attachment_id=attachment_id, key=key
        )
    except images.ImageNotFound:
        return Response(status_code=404)
    store = BlobStore(request.app.state.settings.attachments_dir)
    response = file_response(
        store.read(att.sha256), filename=att.filename, content_type=att.content_type
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- categories -----------------------------------------------------------------------------


def _forbidden(request: Request) -> Response:
    return render(request, "kb/forbidden.html", status_code=403)


def _category_values(c: KbCategory | None) -> dict[str, str]:
    values = dict.fromkeys(CATEGORY_FIELDS, "")
    values["visibility"] = "public"
    if c is None:
        return values
    for loc in EDITOR_LOCALES:
        values[f"name_{loc}"] = (c.names or {}).get(loc, "")
        values[f"description_{loc}"] = (c.descriptions or {}).get(loc, "")
    values.update(
        parent_id=str(c.parent_id or ""),
        position=str(c.position),
        getting_started="on" if c.getting_started else "",
        visibility=c.visibility,
    )
    return values


async def _category_form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = dict.fromkeys(CATEGORY_FIELDS, "")
    for name in CATEGORY_FIELDS:
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = raw
    return values


def _parse_category(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    names = {loc: values[f"name_{loc}"].strip() for loc in EDITOR_LOCALES}
    if not any(names.values()):
        errors["name_ru"] = errors["name_en"] = "name_required"
    for loc in EDITOR_LOCALES:
        if len(names[loc]) > 200:
            errors[f"name_{loc}"] = "too_long"
    position: int | None = None
    if values["position"].strip():
        position = _int_or_none(values["position"])
        if position is None:
            errors["position"] = "number"
    parent = None
    if values["parent_id"].strip():
        parent = _int_or_none(values["parent_id"])
        if parent is None:
            errors["parent_id"] = "invalid_parent"
    if values["visibility"] not in VISIBILITIES:
        errors["visibility"] = "invalid"
    data = {
        "names": {k: v for k, v in names.items() if v},
        "descriptions": {loc: values[f"description_{loc}"].strip() for loc in EDITOR_LOCALES},
        "parent_id": parent,
        "position": position,
        "getting_started": bool(values["getting_started"]),
        "visibility": values["visibility"],
    }
    return data, errors


def _category_errors(exc: ValidationError | OporaError) -> dict[str, str]:
    if isinstance(exc, OporaError):
        if exc.field == "parent_id":
            return {"parent_id": "invalid_parent"}
        return {"form": exc.message}
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == "names":
            errors.setdefault("name_en", "name_required")
            errors.setdefault("name_ru", "name_required")
        elif loc and loc[0] == "position":
            errors.setdefault("position", "number")
        elif loc and loc[0] in CATEGORY_FIELDS:
            errors.setdefault(loc[0], "invalid")
        else:
            errors.setdefault("form", "invalid")
    return errors


async def _categories_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    editing: KbCategory | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    in_use: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = _lang(request)
    categories = await service.list_categories(session, actor=actor)
    parents = [
        (c, _category_name(c, lang))
        for c in categories
        if c.parent_id is None and (editing is None or c.id != editing.id)
    ]
    return render(
        request,
        "kb/categories.html" if editing is None else "kb/category.html",
        status_code=status_code,
        tree=_tree(categories, lang),
        parents=parents,
        editing=editing,
        editing_name=_category_name(editing, lang) if editing is not None else "",
        values=values if values is not None else _category_values(editing),
        errors=errors or {},
        in_use=in_use,
        saved=request.query_params.get("saved", ""),
        visibilities=VISIBILITIES,
    )


async def _arranger(session: AsyncSession, user: Any) -> Actor | None:
    actor = await _actor(session, user)
    return actor if actor.is_supervisor else None


@router.get("/kb/categories")
async def categories_page(request: Request, session: Session, user: PageUser) -> Response:
    actor = await _arranger(session, user)
    if actor is None:
        return _forbidden(request)
    return await _categories_page(request, session, actor)


@router.post("/kb/categories")
async def create_category(request: Request, session: Session, user: PageUser) -> Response:
    actor = await _arranger(session, user)
    if actor is None:
        return _forbidden(request)
    values = await _category_form(request)
    data, errors = _parse_category(values)
    if not errors:
        _, errors = await _save(
            session, CategoryCreate, data,
            lambda payload: service.create_category(session, actor=actor, data=payload),
            invalid=_category_errors, refused=_category_errors,
        )  # fmt: skip
    if errors:
        return await _categories_page(
            request, session, actor, values=values, errors=errors, status_code=400
        )
    return see_other("/kb/categories?saved=created")


async def _category(session: AsyncSession, actor: Actor, category_id: int) -> KbCategory | None:
    try:
        return await service.get_category(session, actor=actor, category_id=category_id)
    except service.CategoryNotFound:
        return None


@router.get("/kb/categories/{category_id}")
async def category_page(
    request: Request, session: Session, user: PageUser, category_id: int
) -> Response:
    actor = await _arranger(session, user)
    if actor is None:
        return _forbidden(request)
    category = await _category(session, actor, category_id)
    if category is None:
        return _not_found(request)
    return await _categories_page(request, session, actor, editing=category)


@router.post("/kb/categories/{category_id}")
async def update_category(
    request: Request, session: Session, user: PageUser, category_id: int
) -> Response:
    actor = await _arranger(session, user)
    if actor is None:
        return _forbidden(request)
    category = await _category(session, actor, category_id)
    if category is None:
        return _not_found(request)
    values = await _category_form(request)
    data, errors = _parse_category(values)
    if not errors:
        _, errors = await _save(
            session, CategoryUpdate, data,
            lambda payload: service.update_category(
                session, actor=actor, category_id=category_id, data=payload
            ),
            invalid=_category_errors, refused=_category_errors,
        )  # fmt: skip
    if errors:
        return await _categories_page(
            request, session, actor, editing=category, values=values, errors=errors,
            status_code=400,
        )  # fmt: skip
    return see_other("/kb/categories?saved=saved")


@router.post("/kb/categories/{category_id}/delete")
async def delete_category(
    request: Request, session: Session, user: PageUser, category_id: int
) -> Response:
    actor = await _arranger(session, user)
    if actor is None:
        return _forbidden(request)
    category = await _category(session, actor, category_id)
    if category is None:
        return _not_found(request)
    name = _category_name(category, _lang(request))
    error = await attempt(
        session, lambda: service.delete_category(session, actor=actor, category_id=category_id)
    )
    if isinstance(error, service.CategoryInUse):
        return await _categories_page(request, session, actor, in_use=name, status_code=409)
    if error is not None:
        return await _categories_page(
            request, session, actor, errors={"form": error.message}, status_code=400
        )
    return see_other("/kb/categories?saved=deleted")
