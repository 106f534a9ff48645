"""`v4code` in a real terminal (tmux) against the standalone fake server: type, approve, read."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text, tool_call

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def wait_for(session: str, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session, "-S", "-200")
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; the screen was:\n{screen}")


def test_type_approve_and_see_the_diff(workspace: Path, tmp_path: Path, v4code_home: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    server = start_subprocess_server(
        [
            tool_call(
                "edit_file",
                reasoning="Bump it.",
                path="a.py",
                old_string="x = 1",
                new_string="x = 10",
            ),
            text("Bumped x to 10.", reasoning="Done."),
        ],
        tmp_path / "server",
    )
    session = f"v4code-test-{os.getpid()}"
    env = {
        "V4CODE_HOME": str(v4code_home), "DEEPSEEK_API_KEY": "sk-test", "DEEPSEEK_BASE_URL": server.base_url,
        "TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""),
    }  # fmt: skip
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"env -i {command} {shlex.quote(sys.executable)} -m v4code"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "50", "-c", str(workspace), command)
    try:
        wait_for(session, "›")
        tmux("send-keys", "-t", session, "bump x please", "Enter")
        screen = wait_for(session, "Apply?")
        assert "+x = 10" in screen and "-x = 1" in screen
        tmux("send-keys", "-t", session, "y", "Enter")
        screen = wait_for(session, "cached")
        assert "Bumped x to 10." in screen and "$" in screen
        assert (workspace / "a.py").read_text() == "x = 10\n"
        tmux("send-keys", "-t", session, "C-d")
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and session in subprocess.run(["tmux", "ls"], capture_output=True, text=True).stdout
        ):
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        requests, violations = server.stop()
    assert violations == []
    assert len([r for r in requests if r["method"] == "POST"]) == 2
