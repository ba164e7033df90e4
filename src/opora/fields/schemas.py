from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from opora.fields.models import FieldEntity, FieldType


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: FieldEntity = FieldEntity.TICKET
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=200)
    label_ru: str = ""
    type: FieldType
    options: list[str] = []
    required: bool = False
    visible_to_customer: bool = True
    position: int = 0


class CustomFieldUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=200)
    label_ru: str | None = None
    options: list[str] | None = None
    required: bool | None = None
    visible_to_customer: bool | None = None
    position: int | None = None
    is_active: bool | None = None


class CustomFieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: str
    key: str
    label: str
    label_ru: str
    type: str
    options: list[str]
    required: bool
    visible_to_customer: bool
    position: int
    is_active: bool
