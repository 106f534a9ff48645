"""What each bundled tool module declared last time: its tools' names and schemas.

A session sends every tool's schema with its first request but calls only a few tools, so
the registry takes the schemas of the bundled tools from here and imports a tool's module
only when the model calls it (`ToolRegistry.load(..., cards=...)`). A module's entry holds
only for the same bytes (its SHA-256); the whole file holds only for the same Python, the
same schema code (`toolkit`, `tool_args`) and the same installed pydantic, and is written
again whenever a module had to be imported to be read. A project's own tools never go
through here: they are imported when the session opens, as before.

This module imports nothing from v4code but the leaf `edits.atomic`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from v4code.edits.atomic import atomic_write

__all__ = ["ToolCards", "digest"]

_SCHEMA_CODE = ("toolkit.py", "tool_args.py")


def _stamp() -> str:
    """What the schemas depend on besides the tool modules themselves."""
    parts = [sys.version]
    here = Path(__file__).parent
    for name in _SCHEMA_CODE:
        with contextlib.suppress(OSError):
            parts.append(hashlib.sha256((here / name).read_bytes()).hexdigest())
    spec = importlib.util.find_spec("pydantic")
    if spec is not None and spec.origin:
        with contextlib.suppress(OSError):
            info = os.stat(spec.origin)
            parts.append(f"{spec.origin}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(parts)


class ToolCards:
    """The cards of the tool modules, read from and written to one JSON file."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._stamp = _stamp()
        self._modules: dict[str, Any] = {}
        self._changed = False
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(file.read_bytes())
            if isinstance(data, dict) and data.get("stamp") == self._stamp:
                modules = data.get("modules")
                self._modules = modules if isinstance(modules, dict) else {}

    def get(self, path: Path, digest: str) -> list[tuple[str, dict[str, Any]]] | None:
        """(name, schema) of each tool the module with these bytes declared, or None."""
        entry = self._modules.get(str(path))
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        tools = entry.get("tools")
        if not isinstance(tools, list):
            return None
        out = [(t["name"], t["schema"]) for t in tools if isinstance(t, dict)]
        if not all(isinstance(n, str) and isinstance(s, dict) for n, s in out):
            return None
        return out

    def put(self, path: Path, digest: str, tools: list[tuple[str, dict[str, Any]]]) -> None:
        entry = {"digest": digest, "tools": [{"name": n, "schema": s} for n, s in tools]}
        if self._modules.get(str(path)) != entry:
            self._modules[str(path)] = entry
            self._changed = True

    def save(self) -> None:
        """Write the file if anything changed; a cache that cannot be written is no error."""
        if not self._changed:
            return
        data = json.dumps({"stamp": self._stamp, "modules": self._modules}).encode()
        with contextlib.suppress(OSError):
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.file, data, sync=False)
            self._changed = False


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
