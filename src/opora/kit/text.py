"""Text helpers: normalizing identities and file names (HTML: ``kit/html.py``)."""

from __future__ import annotations

import re
import unicodedata

_SAFE_NAME = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def sanitize_filename(name: str, *, default: str = "attachment") -> str:
    """A file name safe to store and to offer for download: no paths, no control chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _SAFE_NAME.sub("_", name).strip(" .")
    if not name:
        return default
    if len(name) > 180:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 180 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else name[:180]
    return name
