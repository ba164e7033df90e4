"""Pure validation of custom field values against their definitions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from opora.errors import FieldRequired, InvalidInput


@dataclass(frozen=True, slots=True)
class FieldDef:
    key: str
    type: str
    required: bool
    options: tuple[str, ...] = ()
    label: str = ""


def coerce(defn: FieldDef, value: Any, path: str) -> Any:
    """Return the stored form of ``value`` or raise ``InvalidInput`` naming ``path``."""
    if value is None:
        return None
    kind = defn.type
    if kind == "text":
        if not isinstance(value, str):
            raise InvalidInput(f"{defn.key} must be text", field=path)
        if len(value) > 10_000:
            raise InvalidInput(f"{defn.key} is longer than 10,000 characters", field=path)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{defn.key} must be a number", field=path)
        if not math.isfinite(value):  # NaN and Infinity cannot be stored as JSON
            raise InvalidInput(f"{defn.key} must be a finite number", field=path)
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise InvalidInput(f"{defn.key} must be a date as YYYY-MM-DD", field=path)
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise InvalidInput(f"{defn.key} must be a date as YYYY-MM-DD", field=path) from exc
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise InvalidInput(f"{defn.key} must be true or false", field=path)
        return value
    if kind == "select":
        if value not in defn.options:
            raise InvalidInput(f"{defn.key} must be one of: {', '.join(defn.options)}", field=path)
        return value
    if kind == "multiselect":
        if not isinstance(value, list) or any(v not in defn.options for v in value):
            raise InvalidInput(
                f"{defn.key} must be a list of: {', '.join(defn.options)}", field=path
            )
        return sorted(set(value), key=defn.options.index)
    raise InvalidInput(f"{defn.key} has an unknown type {kind}", field=path)


def validate_values(
    defs: list[FieldDef],
    values: dict[str, Any],
    *,
    existing: dict[str, Any] | None = None,
    enforce_required: bool = True,
    prefix: str = "custom_fields",
) -> dict[str, Any]:
    """Merge ``values`` over ``existing``; unknown keys and bad values are 422s."""
    by_key = {d.key: d for d in defs}
    result = dict(existing or {})
    for key, value in values.items():
        defn = by_key.get(key)
        path = f"{prefix}.{key}"
        if defn is None:
            raise InvalidInput(f"there is no custom field {key!r}", field=path)
        coerced = coerce(defn, value, path)
        if coerced is None or coerced == "" or coerced == []:
            result.pop(key, None)
        else:
            result[key] = coerced
    if enforce_required:
        for defn in defs:
            if defn.required and defn.type != "checkbox" and key_missing(result, defn.key):
                raise FieldRequired(
                    f"{defn.label or defn.key} is required", field=f"{prefix}.{defn.key}"
                )
            if defn.required and defn.type == "checkbox" and result.get(defn.key) is not True:
                raise FieldRequired(
                    f"{defn.label or defn.key} must be checked", field=f"{prefix}.{defn.key}"
                )
    return result


def key_missing(values: dict[str, Any], key: str) -> bool:
    value = values.get(key)
    return value is None or value == "" or value == []
