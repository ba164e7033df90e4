"""Custom fields on a form page (the agents' new-ticket page, the customers' request
form): which fields a ticket form shows, the inputs as a template draws them with what
was typed, and the typed values as the ticket services validate them. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, QueryParams

from opora.fields.models import CustomField, FieldType, TicketForm

CF = "cf."  # the prefix of a custom field's input name


@dataclass(frozen=True, slots=True)
class FieldInput:
    """One custom field of the form, as the template draws it."""

    key: str
    label: str
    label_ru: str
    type: str
    options: tuple[str, ...]
    required: bool  # everywhere, or on this form
    value: Any  # str; a list for a multiselect; a bool for a checkbox


def typed_custom(data: FormData | QueryParams) -> dict[str, Any]:
    """The custom fields' inputs (``cf.<key>``) as typed: a list where several values came."""
    custom: dict[str, Any] = {}
    for name in data:
        if name.startswith(CF):
            items = [str(v) for v in data.getlist(name)]
            custom[name.removeprefix(CF)] = items if len(items) > 1 else items[0]
    return custom


def field_set(fields: list[CustomField], form: TicketForm | None) -> list[CustomField]:
    """The form's fields in its order, then any field required everywhere that the form
    leaves out (a ticket cannot be created without it); with no form, all of them."""
    if form is None:
        return fields
    by_key = {f.key: f for f in fields}
    chosen = [by_key[k] for k in form.field_keys if k in by_key]
    return chosen + [f for f in fields if f.required and f.key not in form.field_keys]


def field_inputs(
    fields: list[CustomField], form: TicketForm | None, custom: dict[str, Any]
) -> list[FieldInput]:
    required_here = set(form.required_keys) if form else set()
    result = []
    for f in field_set(fields, form):
        raw = custom.get(f.key, "")
        if f.type == FieldType.MULTISELECT:
            value: Any = raw if isinstance(raw, list) else [raw] if raw else []
        elif f.type == FieldType.CHECKBOX:
            value = raw == "on" or raw is True
        else:
            value = raw if isinstance(raw, str) else (raw[0] if raw else "")
        result.append(
            FieldInput(
                key=f.key, label=f.label, label_ru=f.label_ru, type=f.type,
                options=tuple(f.options), required=f.required or f.key in required_here,
                value=value,
            )
        )  # fmt: skip
    return result


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text  # not a number: the field's validation names it


def custom_values(inputs: list[FieldInput]) -> dict[str, Any]:
    """The values the ticket services validate; an empty input is left out."""
    result: dict[str, Any] = {}
    for i in inputs:
        if i.type == FieldType.CHECKBOX:
            if i.value:
                result[i.key] = True
        elif i.type == FieldType.MULTISELECT:
            if i.value:
                result[i.key] = list(i.value)
        elif isinstance(i.value, str) and i.value.strip():
            text = i.value.strip()
            result[i.key] = _number(text) if i.type == FieldType.NUMBER else text
    return result
