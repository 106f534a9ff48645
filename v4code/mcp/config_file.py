"""Adds and removes `[mcp.servers.NAME]` tables in the user's config.toml (v4code/toml_tables.py
keeps the rest of the file byte for byte and refuses an edit that would change anything else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v4code.errors import ConfigError
from v4code.mcp.config import parse_server
from v4code.toml_tables import read_config_file, replace_table, toml_string, toml_value


def server_table(name: str, spec: dict[str, Any]) -> str:
    lines = [f"[mcp.servers.{name}]"]
    for key in ("command", "url"):
        if spec.get(key) is not None:
            lines.append(f"{key} = {toml_string(spec[key])}")
    for key in ("args", "allow", "env", "headers"):
        if spec.get(key):
            lines.append(f"{key} = {toml_value(spec[key])}")
    if spec.get("timeout") is not None:
        lines.append(f"timeout = {toml_value(float(spec['timeout']))}")
    return "\n".join(lines) + "\n"


def _servers(data: dict[str, Any]) -> dict[str, Any]:
    mcp = data.get("mcp")
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    return servers if isinstance(servers, dict) else {}


def add_server(path: Path, name: str, spec: dict[str, Any]) -> None:
    """Append a server table; ConfigError if the name is taken or the server is invalid."""
    spec = {k: v for k, v in spec.items() if v not in (None, [], {})}
    try:
        parse_server(name, spec, "user")
    except ValueError as exc:
        raise ConfigError(f"MCP server {name!r}: {exc}") from None
    if name in _servers(read_config_file(path)[1]):
        raise ConfigError(f"MCP server {name!r} is already in {path}; remove it first")
    replace_table(path, ("mcp", "servers", name), server_table(name, spec), f"MCP server {name!r}")


def remove_server(path: Path, name: str) -> None:
    """Remove a server's table (and its sub-tables); ConfigError if it is not there as one."""
    if not path.is_file():
        raise ConfigError(f"there is no MCP server {name!r}: {path} does not exist")
    if name not in _servers(read_config_file(path)[1]):
        raise ConfigError(f"there is no MCP server {name!r} in {path}")
    replace_table(path, ("mcp", "servers", name), None, f"MCP server {name!r}")
