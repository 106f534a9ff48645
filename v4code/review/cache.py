"""Review results cached by the content of what was reviewed.

Re-running the hook on an unchanged staged diff (a commit aborted for another reason, an amend
without changes) costs no API call. The key covers everything that changes the answer: the
diff, the model and its settings, the endpoint and the prompts. Reading the cache imports
nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from v4code.config import user_home
from v4code.edits.atomic import atomic_write

CACHE_VERSION = "2"
MAX_AGE_DAYS = 30


def cache_key(*parts: str) -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for part in parts:
        data = part.encode("utf-8", "replace")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def cache_dir() -> Path:
    return user_home() / "review-cache"


def _path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key}.json"


def load(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("findings"), list) else None


def store(key: str, data: dict[str, Any]) -> None:
    """Write atomically; a cache that cannot be written only costs the next run a call."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, json.dumps(data).encode("utf-8"))
        prune()
    except OSError:
        pass


def prune(max_age_days: float = MAX_AGE_DAYS) -> None:
    """Drop entries older than `max_age_days`, at most once a day."""
    stamp = cache_dir() / ".pruned"
    now = time.time()
    try:
        if now - stamp.stat().st_mtime < 86_400:
            return
    except OSError:
        pass
    cutoff = now - max_age_days * 86_400
    for entry in cache_dir().glob("*/*.json"):
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            continue
    stamp.touch()
