"""An edit's new errors reach an editor over the Agent Client Protocol: the edit's tool call
update carries them, from the real language server, as the model's tool result does."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_harness import cli_env
from fake_api import FakeDeepSeek, text, tool_calls

acp = pytest.importorskip("acp")

pytestmark = pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None,
    reason="basedpyright is not installed (pip install -e '.[lsp]')",
)


class Editor:
    """The editor's side: records every update; nothing asks (the session is full-auto)."""

    def __init__(self) -> None:
        self.updates: list[Any] = []

    async def request_permission(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("nothing should ask in full-auto")

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)

    def on_connect(self, conn: Any) -> None:
        pass


def test_the_editor_gets_an_edits_new_errors(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("V4CODE_DIAGNOSTICS")  # the user's config says (conftest turns it off)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")  # a cold server
    (workspace / "calc.py").write_text("def total(xs):\n    return sum(xs)\n")
    broken = {"path": "calc.py", "content": "def total(xs):\n    return sum(totl)\n"}
    fake_api.load([tool_calls([("write_file", broken)]), text("Edited.")])
    editor = Editor()

    async def main() -> str:
        args = ("-m", "v4code", "acp", "--permission-mode", "full-auto")
        env = cli_env(server=fake_api)
        async with acp.spawn_agent_process(
            editor, sys.executable, *args, env=env, cwd=workspace
        ) as (conn, _process):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
            prompt = [acp.text_block("break it")]
            response = await conn.prompt(session_id=session.session_id, prompt=prompt)
            return str(response.stop_reason)

    assert asyncio.run(asyncio.wait_for(main(), 180)) == "end_turn"
    (done,) = [u for u in editor.updates if u.session_update == "tool_call_update"]
    shown = done.content[0].content.text
    assert 'New errors after this edit:\ncalc.py:2: "totl" is not defined' in shown
