"""Review results cached by the content of what was reviewed.

Re-running the hook on an unchanged staged diff (a commit aborted for another reason, an
amend without changes) costs no API call. Reading the cache imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from v4code.config import user_home

CACHE_VERSION = "1"


def cache_key(diff: str, *, model: str, effort: str | None, prompt: str) -> str:
    digest = hashlib.sha256()
    for part in (CACHE_VERSION, model, effort or "", prompt, diff):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _path(key: str) -> Path:
    return user_home() / "review-cache" / key[:2] / f"{key}.json"


def load(key: str) -> dict[str, Any] | None:
    try:
        return json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(key: str, data: dict[str, Any]) -> None:
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
