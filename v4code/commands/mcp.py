"""`v4code mcp`: list the configured MCP servers and their tools, add and remove servers,
extend a server's allow list."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from v4code.commands import say
from v4code.errors import ConfigError


@click.group("mcp")
def mcp_group() -> None:
    """List, add, remove MCP servers or allow their tools (they become v4code tools)."""


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r} is not KEY=VALUE")
        table[key] = value
    return table


@mcp_group.command("list")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for servers.")
def list_command(wait: float) -> None:
    """Start each configured server and show its state and tools; exit 1 when one did not
    start."""
    from v4code.config import load_settings, user_home
    from v4code.mcp.client import McpHub, ProjectConfinement
    from v4code.mcp.config import load_servers
    from v4code.workspace import workspace_root

    root = workspace_root()
    loaded = load_servers(root)
    for notice in loaded.notices:
        say(f"v4code: {notice}", err=True)
    if not loaded.servers:
        say("No MCP servers configured. Add one with: v4code mcp add NAME -- COMMAND ARGS")
        return
    from v4code.textio import one_line

    settings = load_settings(root).settings
    confine = ProjectConfinement(root, settings.sandbox, settings.sandbox_allow_read)
    # the chat's log, so the reason is there
    hub = McpHub(loaded.servers, user_home() / "logs", confine=confine)
    hub.start()
    failed = []
    try:
        hub.wait(wait)
        for state in sorted(hub.servers.values(), key=lambda s: s.name):
            cfg = state.config
            where = " ".join([cfg.command, *cfg.args]) if cfg.command else str(cfg.url)
            error = f": {state.error}" if state.error and state.status != "ready" else ""
            # A server's own text (its error, tool names and descriptions) stays on its line.
            line = f"{state.name} ({cfg.source}, {cfg.transport}) {state.status}{error}"
            say(one_line(line))
            say(f"  {one_line(where)}")
            if state.status != "ready":
                failed.append(state.name)
                said = hub.stderr_since_start(state.name)
                if said:
                    say(one_line(f"  its stderr ({hub.log_path(state.name)}): {said[-300:]}"))
            for tool in sorted(state.tools, key=lambda t: t.name):
                name = tool.full_name
                allowed = "  [allowed]" if cfg.allows(name) else ""
                first = tool.description.strip().splitlines()[0] if tool.description else ""
                say(one_line(f"  {name}{allowed}  {first[:80]}"))
    finally:
        hub.close()
    if failed:
        say(one_line(f"v4code: not ready: {', '.join(failed)}"), err=True)
        sys.exit(1)


@mcp_group.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--url", help="A streamable HTTP server's URL instead of a command.")
@click.option("--env", "env", multiple=True, help="KEY=VALUE for the server's environment.")
@click.option("--header", "headers", multiple=True, help="KEY=VALUE HTTP header.")
@click.option("--allow", multiple=True, help="Tools that run without asking (NAME__tool, NAME__*).")
@click.option("--timeout", type=float, help="Seconds a call may take (default 60).")
def add_command(
    name: str,
    command: tuple[str, ...],
    url: str | None,
    env: tuple[str, ...],
    headers: tuple[str, ...],
    allow: tuple[str, ...],
    timeout: float | None,
) -> None:
    """Add a server to your config: v4code mcp add NAME -- COMMAND ARGS..."""
    from v4code.config import user_config_path
    from v4code.mcp.config_file import add_server, resolve_program

    if bool(command) == bool(url):
        raise ConfigError("give either -- COMMAND ARGS... or --url URL")
    program, notes = resolve_program(command[0], Path.cwd()) if command else (None, [])
    for note in notes:
        say(f"v4code: {note}", err=True)
    spec = {
        "command": program,
        "args": list(command[1:]),
        "url": url,
        "env": _pairs(env, "--env"),
        "headers": _pairs(headers, "--header"),
        "allow": list(allow),
        "timeout": timeout,
    }
    path = user_config_path()
    add_server(path, name, spec)
    say(f"added MCP server {name} to {path}; its tools come with the next session")


@mcp_group.command("allow")
@click.argument("name")
@click.argument("patterns", nargs=-1, required=True)
def allow_command(name: str, patterns: tuple[str, ...]) -> None:
    """Let tools of server NAME run without asking: PATTERNS are tool names or globs
    (`search`, `read_*`, `*`; the NAME__ prefix is added when missing)."""
    from v4code.config import user_config_path
    from v4code.mcp.config_file import allow_tools

    path = user_config_path()
    added = allow_tools(path, name, list(patterns))
    if added:
        say(f"MCP server {name} now allows {', '.join(added)} (in {path})")
    else:
        say(f"MCP server {name} already allows {', '.join(patterns)}; nothing changed")


@mcp_group.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Remove a server from your config."""
    from v4code.config import user_config_path
    from v4code.mcp.config_file import remove_server

    path = user_config_path()
    remove_server(path, name)
    say(f"removed MCP server {name} from {path}")
