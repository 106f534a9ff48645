"""`[mcp.servers.NAME]` tables from the user's config and, once trusted, the project's.

A trusted project's server command runs code by design (that is what trust means), in the
sandbox (mcp.client.ProjectConfinement: what it imports is not covered by the trust and the
model can rewrite it), and a project never gets the user's secrets: `${VAR}` in `env`, `headers` and `url` is expanded only
for the user's own servers, never for the model's API key, and a project's `allow` can only
name its own server's tools.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.errors import ConfigError

if TYPE_CHECKING:
    from v4code.project_layer import SessionLayers

SERVER_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,32}$")
DEFAULT_TIMEOUT = 60.0
SEPARATOR = "__"  # between a server's name and its tool's in the name the model calls
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def tool_name(server: str, tool: str) -> str:
    """The name a server's tool goes by in the registry, the allow lists and messages."""
    return f"{server}{SEPARATOR}{tool}"


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server: a command to run (stdio) or a URL to reach (streamable HTTP)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    allow: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    source: str = "user"  # "user" or "project"

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def allows(self, tool_name: str) -> bool:
        """True when the config lets `tool_name` (NAME__tool) run without asking."""
        return any(fnmatch.fnmatchcase(tool_name, pattern) for pattern in self.allow)

    def key(self) -> tuple[Any, ...]:
        """What identifies a running server: a changed config means a new process."""
        return (
            self.name,
            self.command,
            self.args,
            tuple(sorted(self.env.items())),
            self.url,
            tuple(sorted(self.headers.items())),
        )


@dataclass(frozen=True)
class LoadedServers:
    servers: tuple[ServerConfig, ...]
    notices: tuple[str, ...] = ()


def _expand(value: str, allowed: bool) -> str:
    from v4code.safety.redact import SECRET_ENV

    if not allowed:
        return value

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return "" if name in SECRET_ENV else os.environ.get(name, "")

    return _VAR_RE.sub(sub, value)


def _str_table(value: object, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{what} must be a table of strings")
    return {str(k): v for k, v in value.items()}


def _str_list(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


def parse_server(name: str, table: object, source: str) -> ServerConfig:
    """One server table, checked; ValueError says what is wrong with it."""
    from v4code.safety.redact import SECRET_ENV

    if not SERVER_NAME_RE.match(name) or SEPARATOR in name:
        raise ValueError("a server name is 1-32 letters, digits, - or _ (no double underscore)")
    if not isinstance(table, dict):
        raise ValueError("must be a table")
    known = {"command", "args", "env", "url", "headers", "allow", "timeout", "enabled"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise ValueError("set either command (a local server) or url (an HTTP server)")
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise ValueError("command must be a non-empty string")
    expand = source == "user"
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        url = _expand(url, expand)
    env = {k: _expand(v, expand) for k, v in _str_table(table.get("env"), "env").items()}
    for secret in SECRET_ENV:
        env.pop(secret, None)  # the model's key is never handed to a server
    headers = {
        k: _expand(v, expand) for k, v in _str_table(table.get("headers"), "headers").items()
    }
    allow = _str_list(table.get("allow"), "allow")
    if source == "project":
        allow = tuple(p for p in allow if p.startswith(tool_name(name, "")))
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    return ServerConfig(
        name=name,
        command=command,
        args=_str_list(table.get("args"), "args"),
        env=env,
        url=url,
        headers=headers,
        allow=allow,
        timeout=float(timeout),
        source=source,
    )


def _servers_in(data: dict[str, Any], path: Path, source: str) -> list[ServerConfig]:
    mcp = data.get("mcp")
    if mcp is None:
        return []
    servers = mcp.get("servers", {}) if isinstance(mcp, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: [mcp.servers] must be a table of servers")
    found = []
    for name, table in servers.items():
        if isinstance(table, dict) and table.get("enabled") is False:
            continue
        try:
            found.append(parse_server(str(name), table, source))
        except ValueError as exc:
            raise ConfigError(f"{path}: [mcp.servers.{name}] {exc}") from None
    return found


def load_servers(root: Path, layers: SessionLayers | None = None) -> LoadedServers:
    """The servers a session in `root` uses: the user's, then a trusted project's new ones.
    `layers`: the session's config files, read when it opened (else read now)."""
    from v4code.config import session_layers

    layers = session_layers(root, layers)
    user = _servers_in(layers.user.table(), layers.user.path, "user")
    names = {s.name for s in user}
    config = layers.project.config  # the layer's notices are load_settings' to give
    notices: list[str] = []
    project = []
    for server in _servers_in(config.table(), config.path, "project"):
        if server.name in names:
            notices.append(
                f"this repository's .v4code/config.toml declares MCP server {server.name!r}, "
                "which your config declares too: using yours"
            )
            continue
        project.append(server)
    return LoadedServers(tuple(user + project), tuple(notices))
