"""A session's MCP servers: one hub per process, the tool list fixed before the first request.

Servers start when a session opens and run in the background; the tool list (part of the
cache prefix) is fixed at the first request, waiting a little for servers still starting.
A server that comes up later joins at the next session or with `/mcp reload`.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from v4code.mcp.client import McpHub, ProjectConfinement
from v4code.mcp.config import SEPARATOR, LoadedServers, load_servers
from v4code.mcp.tools import McpCall, register_tools
from v4code.protocols import Proposal
from v4code.safety.permissions import PermissionPolicy
from v4code.toolkit import Invocation, ToolContext, ToolRegistry

STARTUP_WAIT = 10.0  # seconds the first request waits for servers still starting

_hub: McpHub | None = None


def shared_hub(
    loaded: LoadedServers,
    log_dir: Path | None,
    root: Path | None = None,
    confine: ProjectConfinement | None = None,
) -> McpHub:
    """The process's hub, started anew only when the configured servers changed; a project's
    servers (of `root`) are restarted only while it is still trusted, and run as `confine`
    says (in the sandbox unless the user turned it off)."""
    global _hub
    keys = sorted(s.key() for s in loaded.servers)
    if _hub is not None and sorted(s.config.key() for s in _hub.servers.values()) == keys:
        return _hub
    if _hub is not None:
        _hub.close()
    trusted = None
    if root is not None:
        from v4code.safety.trust import is_trusted

        def trusted() -> bool:
            return is_trusted(root)

    _hub = McpHub(loaded.servers, log_dir, trusted, confine)
    _hub.start()
    atexit.register(_hub.close)
    return _hub


def current_hub() -> McpHub | None:
    return _hub


def close_hub() -> None:
    global _hub
    if _hub is not None:
        _hub.close()
        _hub = None


class McpSession:
    """Puts the hub's tools into a session's registry and gates their calls."""

    def __init__(
        self,
        root: Path,
        policy: PermissionPolicy,
        log_dir: Path | None,
        loaded: LoadedServers | None = None,
        confine: ProjectConfinement | None = None,
    ) -> None:
        self.root = root
        self.policy = policy
        self.log_dir = log_dir
        self.loaded = loaded if loaded is not None else load_servers(root)
        self.hub = (
            shared_hub(self.loaded, log_dir, self.root, confine or ProjectConfinement(root))
            if self.loaded.servers
            else None
        )
        self.names: list[str] = []

    def install(self, registry: ToolRegistry, wait: float = STARTUP_WAIT) -> list[str]:
        """Register the ready servers' tools; notices for what is missing."""
        notices = list(self.loaded.notices)
        for name in registry.names():  # by name: a bundled tool known by its card stays unimported
            tool = registry.get(name) if SEPARATOR in name else None
            if tool is not None and tool.external:  # an earlier install's
                registry.remove(name)
        self.names = []
        if self.hub is None:
            return notices
        self.hub.wait(wait)
        before = set(registry.names())
        allowed, more = register_tools(registry, self.hub, waited=wait)
        self.names = [n for n in registry.names() if n not in before]
        self.policy.allowed_tools.update(allowed)
        return notices + more

    def before_apply(
        self, invocation: Invocation, proposal: Proposal, ctx: ToolContext
    ) -> str | None:
        """An MCP call outside the server's `allow` list needs a person's yes in every mode."""
        if isinstance(proposal, McpCall) and invocation.tool.name not in self.policy.allowed_tools:
            return (
                f"{invocation.tool.name} is an MCP tool not in the allow list of server "
                f"{proposal.server.name}"
            )
        return None
