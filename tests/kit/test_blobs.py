"""Content-addressed files: stored once, named only when whole, a batch's files flushed
in threads and waited for before the commit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from opora.kit.blobs import BlobBatch, BlobStore


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_put_stores_once_under_the_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert store.read(digest) == b"hello" and store.put(b"hello") == digest
    assert [p.name for p in _files(tmp_path)] == [digest]


async def test_a_batchs_files_are_all_there_after_wait(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    batch = BlobBatch(store)
    data = [bytes([i]) * (1000 + i) for i in range(20)]
    digests = [batch.put(d) for d in [*data, data[0]]]
    assert digests[-1] == digests[0]
    await batch.wait()
    assert [store.read(d) for d in digests[:-1]] == data
    files = _files(tmp_path)
    assert len(files) == 20 and not any(p.name.startswith(".upload-") for p in files)


async def test_a_file_that_cannot_be_written_fails_its_put_only(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = hashlib.sha256(b"blocked").hexdigest()
    (tmp_path / digest[:2]).write_bytes(b"")  # a file where a directory must go
    batch = BlobBatch(store)
    with pytest.raises(OSError):
        batch.put(b"blocked")
    batch.put(b"fine")
    await batch.wait()
    assert store.exists(hashlib.sha256(b"fine").hexdigest())
