"""The raw test messages in ``corpus/`` (see its README.md), for any test to reuse."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"


def names() -> list[str]:
    """The file names of all corpus messages, sorted."""
    return sorted(path.name for path in CORPUS.glob("*.eml"))


def load(name: str) -> bytes:
    """The exact bytes of one corpus message."""
    return (CORPUS / name).read_bytes()
