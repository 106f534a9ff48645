"""The parse cache: one SQLite file per repository under v4code's home.

A file's entry is reused while its path, size and modification time are unchanged, so a
second look at a repository parses only what changed. SQLite in WAL mode lets two v4code
processes read and write the same cache; any cache failure (locked too long, corrupt, a
read-only home) only costs a re-parse, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from v4code.config import user_home
from v4code.repomap.symbols import FileSymbols

__all__ = ["CACHE_VERSION", "ParseCache", "cache_path"]

CACHE_VERSION = 4
"""Bumped whenever what an entry holds changes; older entries are then ignored."""

Stamp = tuple[int, int]
"""(size, mtime in nanoseconds)."""


def cache_path(root: Path) -> Path:
    """Per-repository file: a readable name plus a hash so two same-named repos never mix."""
    real = os.path.realpath(root)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return user_home() / "repomap" / f"{Path(real).name or 'root'}-{digest}.sqlite"


class ParseCache:
    """Entries of one repository; `load` once, `store` what was parsed anew."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER,"
                " mtime INTEGER, version INTEGER, data TEXT)"
            )
        except (sqlite3.Error, OSError):
            return None
        self._db = db
        return db

    def load(self) -> dict[str, tuple[Stamp, str]]:
        """Every current-version entry: path to (stamp, serialized symbols)."""
        db = self._connect()
        if db is None:
            return {}
        try:
            rows = db.execute(
                "SELECT path, size, mtime, data FROM files WHERE version = ?", (CACHE_VERSION,)
            ).fetchall()
        except sqlite3.Error:
            return {}
        entries: dict[str, tuple[Stamp, str]] = {}
        for path, size, mtime, data in rows:
            if isinstance(path, str) and isinstance(data, str):
                try:  # a damaged row is skipped: its file is parsed again
                    entries[path] = ((int(size), int(mtime)), data)
                except (TypeError, ValueError):
                    continue
        return entries

    def store(self, entries: Iterable[tuple[str, Stamp, FileSymbols]], gone: Iterable[str]) -> None:
        db = self._connect()
        if db is None:
            return
        rows = [
            (path, size, mtime, CACHE_VERSION, json.dumps(sym.to_json(), separators=(",", ":")))
            for path, (size, mtime), sym in entries
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

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


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
