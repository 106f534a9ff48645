"""Runs a session's MCP servers on one asyncio loop in a background thread.

The SDK is asyncio-based and the agent is not: every server lives in a task on the hub's
loop (a context entered and left by that task, as anyio requires), and the agent's thread
reaches it through `run_coroutine_threadsafe` with a deadline, polling its CancelToken so
Ctrl-C abandons a pending call. A server that dies is started again once; a second death
leaves it failed until the next session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, ToolError
from v4code.mcp.config import ServerConfig, tool_name

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult

POLL = 0.05


@dataclass(frozen=True)
class RemoteTool:
    """A tool a server offers, as it described it."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]

    @property
    def full_name(self) -> str:
        return tool_name(self.server, self.name)


@dataclass(frozen=True)
class CallResult:
    text: str
    is_error: bool = False


@dataclass
class ServerState:
    """One server's life: starting -> ready (-> starting again once) -> failed or stopped."""

    config: ServerConfig
    status: str = "starting"
    tools: tuple[RemoteTool, ...] = ()
    error: str | None = None
    restarts: int = 0
    settled: threading.Event = field(default_factory=threading.Event)
    session: Any = None
    wake: asyncio.Event | None = None

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class ProjectConfinement:
    """Where a project's servers run: in the sandbox of the user's settings (the workspace
    writable, the network kept), as a project's hooks do. Trust covers the files their
    command names, not what those import or read (`tools/helpers.py`), which the model can
    rewrite; `sandbox = false` in the user's config runs them as the user's own."""

    root: Path
    sandbox: bool = True
    allow_read: tuple[str, ...] = ()


class McpHub:
    """The MCP servers of one process: started once, shared by the sessions of a chat."""

    def __init__(
        self,
        servers: Iterable[ServerConfig],
        log_dir: Path | None = None,
        project_trusted: Callable[[], bool] | None = None,
        confine: ProjectConfinement | None = None,
    ) -> None:
        self.servers = {s.name: ServerState(s) for s in servers}
        self._log_dir = log_dir
        self._confine = confine or ProjectConfinement(Path.cwd())
        # A project's server is restarted only while the repository is still trusted as it
        # was: the model may have rewritten the script it runs since it first started.
        self._project_trusted = project_trusted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[concurrent.futures.Future[None]] = []
        self._closing = False
        self._log_starts: dict[str, int] = {}

    def log_path(self, name: str) -> Path | None:
        """Where a stdio server's stderr goes (None without a log folder)."""
        return None if self._log_dir is None else self._log_dir / f"mcp-{name}.log"

    def stderr_since_start(self, name: str, lines: int = 2) -> str:
        """The last lines a server wrote to its log since `start()`: why one that did not
        start failed, in its own words ("No such file", a traceback's last line)."""
        path = self.log_path(name)
        if path is None:
            return ""
        try:
            with path.open("rb") as f:
                f.seek(self._log_starts.get(name, 0))
                data = f.read(1 << 20)
        except OSError:
            return ""
        written = [x.strip() for x in data.decode("utf-8", "replace").splitlines() if x.strip()]
        distinct = list(dict.fromkeys(written))  # a server restarted once says it twice
        return " / ".join(distinct[-lines:])

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start every server in the background; returns at once."""
        if self._thread is not None or not self.servers:
            return
        for name in self.servers:
            path = self.log_path(name)
            with contextlib.suppress(OSError):
                self._log_starts[name] = path.stat().st_size if path is not None else 0
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="v4code-mcp", daemon=True)
        self._thread.start()
        for state in self.servers.values():
            self._tasks.append(asyncio.run_coroutine_threadsafe(self._serve(state), loop))

    def wait(self, timeout: float) -> bool:
        """Wait until every server is ready or has failed; False if some are still starting."""
        deadline = time.monotonic() + timeout
        for state in self.servers.values():
            if not state.settled.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop every server (their processes end with their stdin closed)."""
        loop = self._loop
        if loop is None or self._closing:
            return
        self._closing = True

        def wake_all() -> None:
            for state in self.servers.values():
                if state.wake is not None:
                    state.wake.set()

        loop.call_soon_threadsafe(wake_all)
        concurrent.futures.wait(self._tasks, timeout=timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                loop.close()

    # --- one server ---------------------------------------------------------------------

    async def _serve(self, state: ServerState) -> None:
        while not self._closing:
            state.status = "starting"
            state.wake = asyncio.Event()
            try:
                await self._connect_and_hold(state)
            except Exception as exc:  # the server failed to start or died
                state.error = _describe(exc)
            except asyncio.CancelledError:
                state.error = "stopped"
            finally:
                state.session = None
            if self._closing:
                break
            if state.restarts >= 1 or not self._may_restart(state):
                state.status = "failed"
                state.settled.set()
                return
            state.restarts += 1
        state.status = "stopped"
        state.settled.set()

    def _may_restart(self, state: ServerState) -> bool:
        if state.config.source != "project" or self._project_trusted is None:
            return True
        if self._project_trusted():
            return True
        state.error = (
            f"{state.error}; not restarted: this repository's .v4code/ or a file its servers "
            "run changed during the session (run `v4code trust` after reading it)"
        )
        return False

    async def _connect_and_hold(self, state: ServerState) -> None:
        from mcp import ClientSession

        cfg = state.config
        async with contextlib.AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(await self._transport(cfg, stack))
            session = await stack.enter_async_context(ClientSession(read, write))
            await asyncio.wait_for(session.initialize(), cfg.timeout)
            tools = await asyncio.wait_for(_list_tools(session, cfg.name), cfg.timeout)
            state.tools = tuple(tools)
            state.session = session
            state.status = "ready"
            state.error = None
            state.settled.set()
            assert state.wake is not None
            await state.wake.wait()

    async def _transport(self, cfg: ServerConfig, stack: contextlib.AsyncExitStack) -> Any:
        if cfg.command:
            from mcp import StdioServerParameters, stdio_client

            from v4code.safety.isolation import isolated
            from v4code.safety.process import command_env

            argv = [cfg.command, *cfg.args]
            confine = self._confine
            if cfg.source == "project" and confine.sandbox:
                from v4code.safety.sandbox import SandboxUnavailable, sandboxed

                try:
                    argv = stack.enter_context(
                        sandboxed(argv, confine.root, allow_read=confine.allow_read, network=True)
                    )
                except SandboxUnavailable as exc:
                    raise OSError(f"a project's server runs in the sandbox: {exc}") from exc
            else:
                # a PID namespace of its own: it cannot see v4code's process (safety.isolation)
                argv = isolated(argv)
            params = StdioServerParameters(
                command=argv[0], args=argv[1:], env={**command_env(), **cfg.env}
            )
            return stdio_client(params, errlog=stack.enter_context(self._errlog(cfg.name)))
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        assert cfg.url is not None
        client = await stack.enter_async_context(create_mcp_http_client(headers=dict(cfg.headers)))
        return streamable_http_client(cfg.url, http_client=client)

    def _errlog(self, name: str) -> Any:
        """Where a server's stderr goes: a log file (the chat's screen is not its to write)."""
        import os

        path = self.log_path(name)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return path.open("a", encoding="utf-8")
            except OSError:
                pass
        return open(os.devnull, "w", encoding="utf-8")

    # --- calls from the agent's thread -------------------------------------------------

    def call(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float,
        cancel: CancelToken | None = None,
    ) -> CallResult:
        """Call one tool; ToolError when the server cannot answer, Cancelled on Ctrl-C.
        It waits `timeout` seconds at most, and never past `cancel`'s deadline (--max-time)."""
        state = self.servers.get(server)
        if state is None or self._loop is None:
            raise ToolError(f"MCP server {server!r} is not running.")
        deadline = time.monotonic() + (cancel.bound(timeout) if cancel is not None else timeout)
        while state.status == "starting" and time.monotonic() < deadline:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            state.settled.wait(POLL)
        session = state.session
        if state.status != "ready" or session is None:
            why = f": {state.error}" if state.error else ""
            raise ToolError(f"MCP server {server!r} is {state.status}{why}.")
        future = asyncio.run_coroutine_threadsafe(session.call_tool(tool, arguments), self._loop)
        while True:
            try:
                result = future.result(timeout=POLL)
                break
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.cancelled:
                    future.cancel()
                    raise Cancelled() from None
                if time.monotonic() > deadline:
                    future.cancel()
                    why = (
                        "the time limit ran out (--max-time)"
                        if cancel is not None and cancel.out_of_time
                        else f"timed out after {timeout:g} s (the server's `timeout` setting)"
                    )
                    raise ToolError(
                        f"{tool_name(server, tool)}: {why}; the call was abandoned."
                    ) from None
            except concurrent.futures.CancelledError:
                raise ToolError(f"The call to {tool_name(server, tool)} was cancelled.") from None
            except Exception as exc:
                if _is_protocol_error(exc):
                    raise ToolError(f"{tool_name(server, tool)} failed: {_describe(exc)}") from None
                self._restart(state)
                raise ToolError(
                    f"MCP server {server!r} stopped during the call ({_describe(exc)}); "
                    "it is being restarted, so the call may be tried again."
                ) from None
        return render_result(result)

    def _restart(self, state: ServerState) -> None:
        """Drop a dead connection; `_serve` starts the server again (once)."""
        if self._loop is None or state.wake is None:
            return
        state.status = "starting"
        state.settled.clear()
        self._loop.call_soon_threadsafe(state.wake.set)


async def _list_tools(session: ClientSession, server: str) -> list[RemoteTool]:
    tools: list[RemoteTool] = []
    cursor: str | None = None
    from mcp.types import PaginatedRequestParams

    for _ in range(100):  # a server that pages forever gets 100 pages
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        listing = await session.list_tools(params=params)
        for t in listing.tools:
            schema = t.input_schema if isinstance(t.input_schema, dict) else {}
            tools.append(RemoteTool(server, t.name, t.description or "", schema))
        cursor = listing.next_cursor
        if not cursor:
            break
    return tools


def _is_protocol_error(exc: BaseException) -> bool:
    from mcp import MCPError

    return isinstance(exc, MCPError) and "closed" not in str(exc).lower()


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # an exception group from the SDK's task groups
    if isinstance(inner, (list, tuple)) and inner:
        return "; ".join(_describe(e) for e in inner)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "it did not answer in time"
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "..."


def render_result(result: CallToolResult) -> CallResult:
    """A tool result as text: text blocks verbatim, images, audio and binary resources summarised."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            size = len(block.data) * 3 // 4
            parts.append(f"[{kind}: {block.mime_type}, about {size} bytes, not shown]")
        elif kind == "resource":
            res = block.resource
            text = getattr(res, "text", None)
            if isinstance(text, str):
                parts.append(f"[resource {res.uri}]\n{text}")
            else:
                mime = getattr(res, "mime_type", None) or "binary"
                parts.append(f"[resource {res.uri}: {mime}, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource link {block.uri}: {block.name}]")
        else:
            parts.append(f"[{kind or 'unknown'} content, not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=1))
    text = "\n".join(parts) if parts else "(no output)"
    return CallResult(text, bool(getattr(result, "is_error", False)))
