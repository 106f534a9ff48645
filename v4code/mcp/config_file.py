"""Adds and removes `[mcp.servers.NAME]` tables in the user's config.toml as text.

The rest of the file (comments, order, other tables) is kept byte for byte; every edit is
parsed again before it is written, so a change that would alter anything else is refused.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from v4code.errors import ConfigError
from v4code.mcp.config import parse_server


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, given raw (not \\u-escaped) non-ASCII."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _inline_table(table: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in table.items()) + " }"


def server_table(name: str, spec: dict[str, Any]) -> str:
    lines = [f"[mcp.servers.{name}]"]
    for key in ("command", "url"):
        if spec.get(key) is not None:
            lines.append(f"{key} = {toml_string(spec[key])}")
    for key in ("args", "allow"):
        if spec.get(key):
            lines.append(f"{key} = [{', '.join(toml_string(a) for a in spec[key])}]")
    for key in ("env", "headers"):
        if spec.get(key):
            lines.append(f"{key} = {_inline_table(spec[key])}")
    if spec.get("timeout") is not None:
        lines.append(f"timeout = {float(spec['timeout']):g}")
    return "\n".join(lines) + "\n"


def _parse(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _servers(data: dict[str, Any]) -> dict[str, Any]:
    mcp = data.get("mcp")
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    return servers if isinstance(servers, dict) else {}


def add_server(path: Path, name: str, spec: dict[str, Any]) -> None:
    """Append a server table; ConfigError if the name is taken or the server is invalid."""
    from v4code.edits.atomic import atomic_write

    spec = {k: v for k, v in spec.items() if v not in (None, [], {})}
    try:
        parse_server(name, spec, "user")
    except ValueError as exc:
        raise ConfigError(f"MCP server {name!r}: {exc}") from None
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    before = _parse(text, path)
    if name in _servers(before):
        raise ConfigError(f"MCP server {name!r} is already in {path}; remove it first")
    joined = text if not text or text.endswith("\n") else text + "\n"
    new = joined + ("\n" if joined else "") + server_table(name, spec)
    after = _parse(new, path)
    if _servers(after).get(name) is None:
        raise ConfigError(f"cannot add MCP server {name!r} to {path} without changing other tables")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, new.encode("utf-8"))


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _header_path(line: str) -> list[str] | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    return [part.strip().strip('"').strip("'") for part in match.group(1).split(".")]


def remove_server(path: Path, name: str) -> None:
    """Remove a server's table (and its sub-tables); ConfigError if it is not there as one."""
    from v4code.edits.atomic import atomic_write

    if not path.is_file():
        raise ConfigError(f"there is no MCP server {name!r}: {path} does not exist")
    text = path.read_text(encoding="utf-8")
    before = _parse(text, path)
    if name not in _servers(before):
        raise ConfigError(f"there is no MCP server {name!r} in {path}")
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        header = _header_path(line)
        if header is not None:
            skipping = header[:3] == ["mcp", "servers", name]
        if not skipping:
            kept.append(line)
    new = "".join(kept)
    after = _parse(new, path)
    expected = dict(_servers(before))
    del expected[name]
    others_before = {k: v for k, v in before.items() if k != "mcp"}
    others_after = {k: v for k, v in after.items() if k != "mcp"}
    if _servers(after) != expected or others_before != others_after:
        raise ConfigError(
            f"MCP server {name!r} is not written as its own [mcp.servers.{name}] table in "
            f"{path}; edit the file by hand"
        )
    atomic_write(path, new.encode("utf-8"))
