"""Domain errors carry their HTTP status; one handler renders them.

Services raise these and never ``HTTPException``. The JSON body is always
``{"error": {"code", "message", "field"?, "fields"?}}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class OporaError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body.update(self.details)
        return body


class NotFound(OporaError):
    status_code = 404
    code = "not_found"


class Unauthorized(OporaError):
    status_code = 401
    code = "unauthorized"


class Forbidden(OporaError):
    status_code = 403
    code = "forbidden"


class Conflict(OporaError):
    status_code = 409
    code = "conflict"


class InvalidInput(OporaError):
    status_code = 422
    code = "invalid"


class FieldRequired(InvalidInput):
    code = "field_required"


class PayloadTooLarge(OporaError):
    status_code = 413
    code = "too_large"


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _opora_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OporaError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"field": _location(err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]
    first = fields[0] if fields else {"field": None, "message": "invalid input"}
    body = {
        "code": "validation_error",
        "message": f"{first['field']}: {first['message']}",
        "field": first["field"],
        "fields": fields,
    }
    return JSONResponse({"error": body}, status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


JSON_HANDLERS = {
    OporaError: _opora_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
}


def install_handlers(app: FastAPI) -> None:
    """The JSON handlers. ``web.error_pages`` wraps them: pages get HTML instead."""
    for exc_class, handler in JSON_HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
