"""One writer at a time per workspace: an advisory lock held while a batch is applied.

Two v4code processes editing the same file could both check it, both find it as they read it,
and both rename their version over it: one edit lost. Every apply (and every crash recovery)
takes this lock first and re-checks the files under it, so the second writer sees the first
one's change and is told to read the file again. The lock file lives in v4code's own store,
never in the user's tree; the kernel drops the lock when its holder dies, so a killed process
never leaves the workspace locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path


def lock_path(directory: Path, root: Path) -> Path:
    """The lock file for workspace `root` under `directory` (v4code's store or home)."""
    key = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()
    return directory / "locks" / f"{key[:24]}.lock"


@contextlib.contextmanager
def workspace_lock(directory: Path, root: Path) -> Iterator[None]:
    """Hold the workspace's apply lock (waiting for another holder to finish)."""
    path = lock_path(directory, root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
