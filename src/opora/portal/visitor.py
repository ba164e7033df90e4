"""The portal's visitor key: a random id in a long-lived cookie, the same before and after
sign-in, so that a search on the help center and the request that followed it can be
joined (``kb.models``: searches, views, feedback and outcomes carry it).

``visitor_of(request)`` reads it (a fresh one when the browser has none, remembered on
``request.state`` so one request uses one key); ``keep_visitor(request, response)`` sets
the cookie on a response when the browser did not have it yet.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "opora_visitor"
MAX_AGE = 365 * 24 * 3600
_VALID = re.compile(r"^[0-9a-f]{32}$")


def visitor_of(request: Request) -> str:
    known = getattr(request.state, "opora_visitor", None)
    if isinstance(known, str):
        return known
    value = request.cookies.get(COOKIE, "")
    if not _VALID.match(value):
        value = secrets.token_hex(16)
        request.state.opora_visitor_new = True
    request.state.opora_visitor = value
    return value


def keep_visitor(request: Request, response: Response) -> Response:
    """Set the visitor cookie when this request made the key up."""
    if getattr(request.state, "opora_visitor_new", False):
        response.set_cookie(
            COOKIE, visitor_of(request), max_age=MAX_AGE, httponly=True, samesite="lax"
        )
    return response
