"""An MCP tool in a real terminal (tmux): the call is asked about, approved and rendered."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

SERVER = Path(__file__).parent.parent / "mcp_server" / "server.py"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def scrollback(session: str) -> str:
    return tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-", "-E", "-")


def wait_for(session: str, pattern: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = scrollback(session)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{screen}")


def test_an_mcp_call_is_approved_and_rendered(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text(
        "[mcp.servers.t]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(SERVER))}, 'stdio']\n"
    )
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
    env = {
        "V4CODE_HOME": str(v4code_home), "DEEPSEEK_API_KEY": "sk-test-tmux",
        "DEEPSEEK_BASE_URL": server.base_url, "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
    }  # fmt: skip
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"env -i {command} {shlex.quote(sys.executable)} -m v4code"
    session = f"v4code-mcp-{os.getpid()}"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "40", "-c", str(workspace), command)  # fmt: skip
    try:
        wait_for(session, "›")
        tmux("send-keys", "-t", session, "add 20 and 22", "Enter")
        screen = wait_for(session, r"t__add")
        screen = wait_for(session, r"\? ")
        assert '"a": 20' in screen
        tmux("send-keys", "-t", session, "y", "Enter")
        screen = wait_for(session, r"The server says 42\.")
        assert "t: add" in screen
        tmux("send-keys", "-t", session, "/mcp", "Enter")
        screen = wait_for(session, r"t\s+ready · 7/7 tools in this session")
        tmux("send-keys", "-t", session, "C-d")
        wait_for(session, r"Session saved")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        requests, violations = server.stop()
    assert violations == []
    posts = [r for r in requests if r["method"] == "POST"]
    assert posts[1]["body"]["messages"][-1]["content"] == "42"
