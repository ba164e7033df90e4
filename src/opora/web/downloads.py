"""A stored file as an HTTP download, with headers that keep a hostile file harmless:
images (not SVG) open inline, anything else downloads; ``nosniff``; a CSP sandbox, so
an HTML or SVG file opened directly cannot run script on our origin."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def file_response(data: bytes, *, filename: str, content_type: str) -> Response:
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    disposition = "inline" if inline else "attachment"
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
