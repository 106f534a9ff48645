"""An MCP tool in a real terminal (tmux): the call is asked about, approved and rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import mcp_table
from fake_api import start_subprocess_server, text
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_an_mcp_call_is_approved_and_rendered(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text(mcp_table("t"))
    server = start_subprocess_server(
        [
            {
                **text("", reasoning="Ask the server."),
                "tool_calls": [{"name": "t__add", "arguments": {"a": 20, "b": 22}}],
            },
            text("The server says **42**.", reasoning="Done."),
        ],  # fmt: skip
        tmp_path / "server",
    )
    with chat_in_tmux("mcp", workspace, v4code_home, server, height=40) as session:
        send(session, "add 20 and 22", "Enter")
        screen = wait_for(session, r"t__add")
        screen = wait_for(session, r"\? ")
        assert '"a": 20' in screen
        send(session, "y")  # one key answers
        screen = wait_for(session, r"The server says 42\.")
        assert "t: add" in screen
        send(session, "/mcp", "Enter")
        screen = wait_for(session, r"t\s+ready · 8/8 tools in this session")
        leave(session)
    requests, violations = server.stop()
    assert violations == []
    posts = [r for r in requests if r["method"] == "POST"]
    assert posts[1]["body"]["messages"][-1]["content"] == "42"
