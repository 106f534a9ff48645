"""An editor for `v4code acp` tests: the Agent Client Protocol SDK's client side, which starts
a real `python -m v4code acp` process against the fake DeepSeek server, records what the
agent sends and answers permission requests; `FilesEditor` also offers the editor's file
system (`fs/read_text_file`, `fs/write_text_file`) over buffers of its own."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import acp
from acp import schema
from cli_harness import cli_env
from fake_api import FakeDeepSeek


class Editor:
    """The editor's side: records every update and answers permission requests with `choice`
    (an option id, or None for a cancelled prompt)."""

    def __init__(self, choice: str | None = "allow_once") -> None:
        self.choice = choice
        self.updates: list[Any] = []
        self.asked: list[tuple[Any, list[Any]]] = []
        self.on_update: Callable[[Any], Awaitable[None]] | None = None

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **_: Any
    ) -> schema.RequestPermissionResponse:
        self.asked.append((tool_call, options))
        if self.choice is None:
            return schema.RequestPermissionResponse(
                outcome=schema.DeniedOutcome(outcome="cancelled")
            )
        chosen = schema.AllowedOutcome(outcome="selected", option_id=self.choice)
        return schema.RequestPermissionResponse(outcome=chosen)

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)
        if self.on_update is not None:
            await self.on_update(update)

    def on_connect(self, conn: Any) -> None:
        pass

    def capabilities(self) -> schema.ClientCapabilities:
        return schema.ClientCapabilities()  # no file system, no terminal

    def kinds(self) -> list[str]:
        return [u.session_update for u in self.updates]

    def text(self, kind: str = "agent_message_chunk") -> str:
        return "".join(u.content.text for u in self.updates if u.session_update == kind)


class FilesEditor(Editor):
    """An editor that offers its file system: `buffers` holds its text of files by absolute
    path (unsaved changes: what it answers a read with, before the disk); a write goes into
    the buffer, and onto the disk too when `saves`."""

    def __init__(
        self,
        choice: str | None = "allow_once",
        *,
        saves: bool = False,
        reads: bool = True,
        writes: bool = True,
    ) -> None:
        super().__init__(choice)
        self.saves = saves
        self.offers = (reads, writes)
        self.buffers: dict[str, str] = {}
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []

    def capabilities(self) -> schema.ClientCapabilities:
        reads, writes = self.offers
        fs = schema.FileSystemCapabilities(read_text_file=reads, write_text_file=writes)
        return schema.ClientCapabilities(fs=fs)

    async def read_text_file(self, session_id: str, path: str, **_: Any) -> Any:
        self.reads.append(path)
        if path in self.buffers:
            return schema.ReadTextFileResponse(content=self.buffers[path])
        return schema.ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> Any:
        self.writes.append((path, content))
        self.buffers[path] = content
        if self.saves:
            Path(path).write_text(content)
        return schema.WriteTextFileResponse()


def drive(
    repo: Path,
    server: FakeDeepSeek,
    editor: Editor,
    script: Callable[[Any], Awaitable[Any]],
    *flags: str,
) -> Any:
    """Start `v4code acp`, initialize, and run `script(conn)`; the agent is closed after."""

    async def main() -> Any:
        env = cli_env(server=server)
        args = ("-m", "v4code", "acp", "--permission-mode", "ask", *flags)
        async with acp.spawn_agent_process(editor, sys.executable, *args, env=env, cwd=repo) as (
            conn,
            _process,
        ):
            init = await conn.initialize(
                protocol_version=acp.PROTOCOL_VERSION, client_capabilities=editor.capabilities()
            )
            assert init.agent_capabilities.load_session is True
            assert init.agent_info.name == "v4code"
            return await script(conn)

    return asyncio.run(asyncio.wait_for(main(), 60))
