"""Atomic file writes: a temp file in the same directory, fsync, rename, fsync the directory.

A reader (or a process killed half way) sees either the whole old file or the whole new one,
never a mix: `os.replace` swaps the name in one step, and the temp file is complete and on disk
before it does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

TEMP_SUFFIX = ".v4code-tmp"


def default_mode() -> int:
    """The mode a newly created file gets here (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_name(target: Path, tag: str | None = None) -> Path:
    """The temp file for `target`; a fixed `tag` makes it findable after a crash."""
    return target.with_name(f".{target.name}.{tag or secrets.token_hex(6)}{TEMP_SUFFIX}")


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)


def atomic_write(
    target: Path,
    data: bytes,
    mode: int | None = None,
    tag: str | None = None,
    *,
    sync: bool = True,
) -> None:
    """Replace (or create) `target` with `data` in one step; `mode` None keeps or defaults it.
    `sync=False` skips the fsyncs, for files a caller makes durable in bulk or can lose
    (thousands of fsyncs would make a first snapshot take seconds)."""
    existing: os.stat_result | None
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if mode is None:
        mode = stat.S_IMODE(existing.st_mode) if existing else default_mode()
    tmp = temp_name(target, tag)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover of an interrupted earlier attempt with the same tag
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if existing is not None and hasattr(os, "fchown"):
                _keep_owner(fh.fileno(), existing)
            os.fchmod(fh.fileno(), mode)
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(target.parent)


def _keep_owner(fd: int, existing: os.stat_result) -> None:
    """Keep the file's owner and group when we are allowed to (e.g. running as root)."""
    st = os.fstat(fd)
    if (st.st_uid, st.st_gid) != (existing.st_uid, existing.st_gid):
        with contextlib.suppress(OSError):
            os.fchown(fd, existing.st_uid, existing.st_gid)


def atomic_delete(target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    fsync_dir(target.parent)


def make_parents(target: Path, stop: Path) -> list[Path]:
    """Create the missing parent directories of `target` (below `stop`); return them, outer first."""
    missing: list[Path] = []
    parent = target.parent
    while parent != stop and not parent.exists():
        missing.append(parent)
        parent = parent.parent
    missing.reverse()
    for directory in missing:
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        fsync_dir(directory.parent)
    return missing
