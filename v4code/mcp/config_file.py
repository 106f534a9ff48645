"""Adds, edits and removes `[mcp.servers.NAME]` tables in the user's config.toml
(v4code/toml_tables.py edits that table where it stands, keeps the rest of the file byte for
byte and refuses an edit that would change anything else).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from v4code.errors import ConfigError
from v4code.mcp.config import parse_server
from v4code.toml_tables import config_present, read_config_file, write_table
from v4code.workspace import git_top_level


def server_table(spec: dict[str, Any]) -> dict[str, Any]:
    """A server's keys as its table holds them, in the order a person reads them."""
    table: dict[str, Any] = {}
    for key in ("command", "url"):
        if spec.get(key) is not None:
            table[key] = str(spec[key])
    for key in ("args", "allow", "env", "headers"):
        if spec.get(key):
            table[key] = spec[key]
    if spec.get("timeout") is not None:
        table["timeout"] = float(spec["timeout"])
    if spec.get("enabled") is not None:
        table["enabled"] = bool(spec["enabled"])
    return table


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
    write_table(path, ("mcp", "servers", name), server_table(spec), f"MCP server {name!r}")


def resolve_program(program: str, cwd: Path) -> tuple[str, list[str]]:
    """The program to store for a server, and what to tell the user about it.

    The config is read from every directory later, with whatever PATH that shell has: a bare
    name is stored as the absolute path it has on PATH now (a venv's `python` stays that
    venv's: links are kept, not resolved), a relative path as an absolute one; a program not
    found is stored as given, saying so; a program inside a git repository works only while
    that checkout is there and runs whatever the checkout holds at that path, which is said too.
    """
    notes: list[str] = []
    if os.sep in program or (os.altsep and os.altsep in program):
        stored = os.path.abspath(os.path.join(cwd, os.path.expanduser(program)))
        if not os.access(stored, os.X_OK) or os.path.isdir(stored):
            notes.append(f"{stored} is not an executable file (yet): stored as given")
    else:
        found = shutil.which(program)  # the user's PATH as it is: the server runs as they ask
        if found is None:
            return program, [
                f"{program} is not on PATH: stored as a bare name; the server starts only where "
                "a shell finds it on PATH (give its absolute path to avoid this)"
            ]
        stored = os.path.abspath(found)
        notes.append(f"{program} is {stored} on PATH now: stored as that absolute path")
    root = git_top_level(Path(stored).parent)
    if root is not None:
        notes.append(_inside_repository(stored, root))
    return stored, notes


def _inside_repository(stored: str, root: Path) -> str:
    """The warning for a program inside a repository's folder. Kept for an ignored one (a
    venv's python) too: a session working in that repository can rewrite it (the agent's
    edits and commands reach ignored files, `pip install` included), so the server would run
    what the model left there. Worded for that case, where "the checkout holds" reads wrong."""
    if _ignored(root, stored):
        return (
            f"warning: {stored} is in a folder git ignores inside the repository {root}: a "
            f"v4code session working in {root} can change it (the agent's edits and commands "
            "reach ignored files too), and the server stops working if the folder moves"
        )
    return (
        f"warning: {stored} is inside the git repository {root}: the server runs whatever "
        "that checkout holds there (a pull, a checkout or the agent's edits change it), and "
        "stops working if it moves"
    )


def _ignored(root: Path, stored: str) -> bool:
    from v4code.repo.git import GitError, run_text

    rel = os.path.relpath(stored, root)
    try:
        return bool(run_text(root, "check-ignore", "--", rel, ok=(0, 1)).strip())
    except GitError:
        return False


def allow_tools(path: Path, name: str, patterns: list[str]) -> list[str]:
    """Add tool-name patterns to server NAME's `allow` list; the patterns added (a pattern
    without the `NAME__` prefix gets it: a server's allow list covers its own tools only)."""
    if not config_present(path):  # a folder or a dangling link there: said as such
        raise ConfigError(f"there is no MCP server {name!r}: {path} does not exist")
    table = _servers(read_config_file(path)[1]).get(name)
    if not isinstance(table, dict):
        raise ConfigError(f"there is no MCP server {name!r} in {path}")
    prefix = f"{name}__"
    allow = [str(p) for p in table.get("allow") or []]
    added = []
    for pattern in patterns:
        full = pattern if pattern.startswith(prefix) else prefix + pattern
        if full not in allow:
            allow.append(full)
            added.append(full)
    if added:
        spec = {**table, "allow": allow}
        try:
            parse_server(name, spec, "user")
        except ValueError as exc:
            raise ConfigError(f"MCP server {name!r}: {exc}") from None
        write_table(path, ("mcp", "servers", name), server_table(spec), f"MCP server {name!r}")
    return added


def remove_server(path: Path, name: str) -> None:
    """Remove a server's table (and its sub-tables); ConfigError if it is not there as one."""
    if not config_present(path):  # a folder or a dangling link there: said as such
        raise ConfigError(f"there is no MCP server {name!r}: {path} does not exist")
    if name not in _servers(read_config_file(path)[1]):
        raise ConfigError(f"there is no MCP server {name!r} in {path}")
    write_table(path, ("mcp", "servers", name), None, f"MCP server {name!r}")
