"""The parse cache: one SQLite file per repository under v4code's home.

A file's entry is reused while its path, size, modification time and change time are
unchanged, so a second look at a repository parses only what changed. The change time is
there because an archive or a copy restores modification times: another project unpacked
where the first one was may have files of the same path, size and mtime, never the same
ctime (which only the kernel sets). SQLite in WAL mode lets two v4code
processes read and write the same cache; any cache failure (locked too long, corrupt, a
read-only home) only costs a re-parse, never an error.

A missing cache is not created to be read (nothing is in it): the first write creates it.
Under `writes_in_background()` (a session's first message) what a build parsed is written by
a thread of its own, so the request does not wait for SQLite's file syncs (a new cache's
creation and first commit take several); `wait_for_writes` waits for such writes, and every
`load` in this process does first, so a later build finds what an earlier one parsed.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from v4code.config import user_home
from v4code.repomap.symbols import FileSymbols

__all__ = [
    "CACHE_VERSION",
    "ParseCache",
    "Stamp",
    "cache_path",
    "stamp_of",
    "wait_for_writes",
    "writes_in_background",
]

CACHE_VERSION = 6
"""Bumped whenever what an entry holds changes; a cache of another version is emptied."""

Stamp = tuple[int, int, int]
"""(size, mtime in nanoseconds, ctime in nanoseconds)."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER,"
    " ctime INTEGER, data TEXT)"
)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_NAME_CHARS = 60

_background = contextvars.ContextVar("v4code_parse_cache_background", default=False)
_writes: list[threading.Thread] = []
_writes_lock = threading.Lock()


@contextlib.contextmanager
def writes_in_background() -> Iterator[None]:
    """Builds in this block hand their cache writes to a thread (`ParseCache.finish`)."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def wait_for_writes(timeout: float | None = None) -> None:
    """Return once the cache writes handed to threads have ended (or `timeout` passed)."""
    with _writes_lock:
        pending = list(_writes)
    for thread in pending:
        thread.join(timeout)
    with _writes_lock:
        _writes[:] = [t for t in _writes if t.is_alive()]


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def cache_path(root: Path) -> Path:
    """Per-repository file: a readable name plus a hash so two same-named repos never mix.
    The readable part is the folder's name cut short, in plain characters: a folder name of
    255 bytes (too long with the hash added) or holding line breaks still gets its cache."""
    real = os.path.realpath(root)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = _UNSAFE.sub("_", Path(real).name)[:_NAME_CHARS] or "root"
    return user_home() / "repomap" / f"{name}-{digest}.sqlite"


class ParseCache:
    """Entries of one repository; `load` once, `store` what was parsed anew."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # a background write (`finish`) uses it after this thread is done with it
            db = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != CACHE_VERSION:
                _migrate(db)
        except (sqlite3.Error, OSError):
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            return None
        self._db = db
        return db

    def load(self) -> dict[str, tuple[Stamp, str]]:
        """Every current-version entry: path to (stamp, serialized symbols)."""
        wait_for_writes()
        if self._db is None and not os.path.lexists(self.path):
            return {}  # created by the first write: creating it to read nothing costs syncs
        db = self._connect()
        if db is None:
            return {}
        try:
            rows = db.execute("SELECT path, size, mtime, ctime, data FROM files").fetchall()
        except sqlite3.Error:
            return {}
        entries: dict[str, tuple[Stamp, str]] = {}
        for path, size, mtime, ctime, data in rows:
            if isinstance(path, str) and isinstance(data, str):
                try:  # a damaged row is skipped: its file is parsed again
                    entries[path] = ((int(size), int(mtime), int(ctime)), data)
                except (TypeError, ValueError):
                    continue
        return entries

    def store(self, entries: Iterable[tuple[str, Stamp, FileSymbols]], gone: Iterable[str]) -> None:
        db = self._connect()
        if db is None:
            return
        rows = [
            (path, size, mtime, ctime, json.dumps(sym.to_json(), separators=(",", ":")))
            for path, (size, mtime, ctime), sym in entries
            if _storable(path)
        ]
        gone = [p for p in gone if _storable(p)]
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
                db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
        except sqlite3.Error:
            pass

    def finish(self, entries: Iterable[tuple[str, Stamp, FileSymbols]], gone: list[str]) -> None:
        """`store`, then `close`; in a thread of its own under
        `writes_in_background()`, the entries taken first."""
        rows = list(entries)

        def write() -> None:
            try:
                self.store(rows, gone)
            finally:
                self.close()

        if not _background.get():
            write()
            return
        thread = threading.Thread(target=write, name="v4code-parse-cache")  # not a daemon:
        with _writes_lock:  # an interpreter's exit waits for it
            _writes.append(thread)
        thread.start()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


def _migrate(db: sqlite3.Connection) -> None:
    """Empty a cache written by another version (or new) and give it this version's table;
    once, when two processes open it at the same time."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        if db.execute("PRAGMA user_version").fetchone()[0] != CACHE_VERSION:
            db.execute("DROP TABLE IF EXISTS files")
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version = {CACHE_VERSION}")


def _storable(path: str) -> bool:
    """Whether SQLite can hold the path: a file name that is not UTF-8 (kept by Python as
    lone surrogates) cannot be a TEXT key, so that file is simply parsed on every build."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode(data: str) -> FileSymbols | None:
    """An entry's symbols, or None when it does not read back (then the file is re-parsed)."""
    try:
        return FileSymbols.from_json(json.loads(data))
    except (ValueError, TypeError, KeyError):
        return None
