"""The checkpoint store's blobs: file contents kept once each, named by their sha256.

    objects/ab/abcdef...                     one file's bytes (or a snapshot's tree, see snapshot.py)

Content addressing makes an unchanged file free to record again, and lets every reader check
that what it gets back is what was stored: a missing or altered blob is an error that names it,
never a silent wrong restore.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from v4code.edits.atomic import atomic_write
from v4code.errors import ToolError


class BlobStore:
    """Content-addressed blobs under `directory/objects`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _blob_path(self, digest: str) -> Path:
        return self.directory / "objects" / digest[:2] / digest

    def put_blob(self, data: bytes) -> str:
        digest, _ = self._put_blob(data, sync=True)
        return digest

    def put_blob_unsynced(self, data: bytes) -> tuple[str, Path | None]:
        """Like put_blob without the fsyncs (thousands of them make a first snapshot take
        seconds); returns the new blob's path, None when it was already stored, so the caller
        can make the whole lot durable at once."""
        return self._put_blob(data, sync=False)

    def _put_blob(self, data: bytes, *, sync: bool) -> tuple[str, Path | None]:
        digest = hashlib.sha256(data).hexdigest()
        path = self._blob_path(digest)
        if path.exists():
            return digest, None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data, 0o600, sync=sync)
        return digest, path

    def has_blob(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def blob(self, digest: str | None) -> bytes | None:
        if digest is None:
            return None
        try:
            data = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise ToolError(
                f"checkpoint data {digest[:12]} is missing from {self.directory}"
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise ToolError(f"checkpoint data {digest[:12]} in {self.directory} is corrupt")
        return data
