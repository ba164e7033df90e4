"""Content-addressed file storage under the data directory (by SHA-256)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store bytes once; the same content is stored once however often it is sent."""
        digest = hashlib.sha256(data).hexdigest()
        written = self.write_unsynced(digest, data)
        if written is not None:
            _durable(*written)
        return digest

    def write_unsynced(self, digest: str, data: bytes) -> tuple[int, str, Path] | None:
        """Write ``data`` to a temporary file next to its place: (open descriptor, temporary
        path, final path) for ``_durable`` to finish; None when it is there already."""
        target = self.path_for(digest)
        if target.exists():
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            Path(tmp).unlink(missing_ok=True)
            raise
        return fd, tmp, target

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()


def _durable(fd: int, tmp: str, target: Path) -> None:
    """Flush a written temporary file to disk, then give it its name: a name always
    means the whole content (a crash between leaves only a temporary file)."""
    try:
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


class BlobBatch:
    """The files of one transaction: ``put`` writes at once and returns the digest, and a
    thread flushes each file to disk meanwhile (the disk's flush takes a good part of a
    millisecond and needs no interpreter); ``wait``, before the commit, returns when every
    file is durable, or raises the first error. The email intake's batches store mail so."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._flushing: dict[str, asyncio.Future[None]] = {}

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._flushing:
            return digest
        written = self.store.write_unsynced(digest, data)
        if written is not None:
            loop = asyncio.get_running_loop()
            self._flushing[digest] = loop.run_in_executor(None, _durable, *written)
        return digest

    async def wait(self) -> None:
        await asyncio.gather(*self._flushing.values())
