"""Images in knowledge-base articles, stored as attachments.

An image is uploaded through ``tickets.service.upload_attachment`` (the same blob store,
content-addressed, the same size limit) and never claimed by a message. Its URL,
``/kb/images/<attachment id>/<first 16 hex digits of its SHA-256>``, is written into the
article's HTML. No table links an image to its articles, so who may read an image is
decided by the articles that show it: an agent reads any knowledge-base image; anyone
else one that a public, published article in a public category shows (the same articles
an anonymous visitor and a customer may read). The SHA-256 part keeps ids from being
guessed one after another.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opora.auth.actor import Actor
from opora.errors import Forbidden, InvalidInput, NotFound
from opora.kb import service
from opora.kb.models import KbTranslation
from opora.kit.blobs import BlobStore
from opora.tickets import service as tickets_service
from opora.tickets.models import Attachment

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
KEY_LENGTH = 16
_KEY = re.compile(r"[0-9a-f]{16}")


class ImageNotFound(NotFound):
    code = "kb_image_not_found"


def image_url(att: Attachment) -> str:
    return f"/kb/images/{att.id}/{att.sha256[:KEY_LENGTH]}"


async def upload_image(
    session: AsyncSession,
    *,
    actor: Actor,
    store: BlobStore,
    filename: str,
    content_type: str | None,
    data: bytes,
    max_bytes: int,
) -> Attachment:
    """Store an image for an article (agents only; PNG, JPEG, GIF or WebP)."""
    if not service.is_agent(actor):
        raise Forbidden("only agents write the knowledge base")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        raise InvalidInput("choose a PNG, JPEG, GIF or WebP image", field="file")
    att = await tickets_service.upload_attachment(
        session, actor=actor, store=store, filename=filename, content_type=kind, data=data,
        max_bytes=max_bytes,
    )  # fmt: skip
    att.inline = True
    await session.flush()
    return att


async def readable_image(
    session: AsyncSession, *, actor: Actor | None, attachment_id: int, key: str
) -> Attachment:
    """The image behind an article's ``<img>``, if this reader may see it (else 404)."""
    att = await session.get(Attachment, attachment_id)
    if (
        att is None
        or not _KEY.fullmatch(key)
        or not att.sha256.startswith(key)
        or att.message_id is not None  # a ticket's file, never an article's image
        or att.uploaded_by_user_id is None
        or att.content_type not in IMAGE_TYPES
    ):
        raise ImageNotFound(f"image {attachment_id} not found")
    if service.is_agent(actor):
        return att
    url = f"/kb/images/{attachment_id}/{key}"
    showing = await session.execute(
        select(KbTranslation.article_id)
        .where(KbTranslation.body_html.contains(url, autoescape=True))
        .where(KbTranslation.status == service.PUBLISHED)
    )
    for article_id in dict.fromkeys(showing.scalars()):
        try:
            article = await service.get_article(session, actor=actor, article_id=article_id)
        except service.ArticleNotFound:
            continue
        if any(url in t.body_html for t in article.translations.values()):
            return att
    raise ImageNotFound(f"image {attachment_id} not found")
