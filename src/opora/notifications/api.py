"""JSON API of the notification templates (admins): read, change, preview, reset."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from opora.notifications import templates
from opora.web.deps import AgentActor, Session, UnitOfWorkRoute

router = APIRouter(
    prefix="/api/v1/notification-templates", route_class=UnitOfWorkRoute, tags=["notifications"]
)


class TemplateRead(BaseModel):
    key: str
    language: str
    audience: str
    title: str
    subject: str
    body: str
    customized: bool

    @classmethod
    def of(cls, v: templates.TemplateView) -> TemplateRead:
        return cls(
            key=v.key, language=v.language, audience=v.audience, title=v.title,
            subject=v.subject, body=v.body, customized=v.customized,
        )  # fmt: skip


class TemplateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=templates.MAX_SUBJECT)
    body: str = Field(max_length=templates.MAX_BODY)


class PreviewRead(BaseModel):
    subject: str
    text: str


@router.get("", response_model=list[TemplateRead])
async def list_templates(actor: AgentActor, session: Session) -> list[TemplateRead]:
    return [TemplateRead.of(v) for v in await templates.list_templates(session, actor=actor)]


@router.get("/{key}/{language}", response_model=TemplateRead)
async def get_template(
    actor: AgentActor, session: Session, key: str, language: str
) -> TemplateRead:
    view = await templates.get_template(session, actor=actor, key=key, language=language)
    return TemplateRead.of(view)


@router.put("/{key}/{language}", response_model=TemplateRead)
async def save_template(
    actor: AgentActor, session: Session, key: str, language: str, data: TemplateWrite
) -> TemplateRead:
    view = await templates.save_template(
        session, actor=actor, key=key, language=language, subject=data.subject, body=data.body
    )
    return TemplateRead.of(view)


@router.delete("/{key}/{language}", response_model=TemplateRead)
async def reset_template(
    actor: AgentActor, session: Session, key: str, language: str
) -> TemplateRead:
    view = await templates.reset_template(session, actor=actor, key=key, language=language)
    return TemplateRead.of(view)


@router.post("/{key}/{language}/preview", response_model=PreviewRead)
async def preview_template(
    actor: AgentActor, key: str, language: str, data: TemplateWrite
) -> PreviewRead:
    rendered = templates.preview(
        actor=actor, key=key, language=language, subject=data.subject, body=data.body
    )
    return PreviewRead(subject=rendered.subject, text=rendered.text)
