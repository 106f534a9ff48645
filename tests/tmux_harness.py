"""Drive `v4code` in a real terminal (tmux): what only a terminal shows, read off the screen.

Every wait polls the screen against a deadline; nothing sleeps a fixed time and hopes.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fake_api import SubprocessServer

SOCKET = f"v4code-tests-{os.getpid()}"
"""A tmux server of the tests' own: a session on the default server would make it (when the tests
start it) carry the test's environment (HOME, V4CODE_HOME, XDG_*) into every later tmux
window of the person at the machine, long after those folders are gone."""


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=True
    ).stdout


def scrollback(session: str) -> str:
    """The whole pane, history included, wrapped lines joined."""
    return tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-", "-E", "-")


def wait_for(session: str, pattern: str, timeout: float = 60) -> str:
    """The screen once `pattern` appears on it; an AssertionError showing it when it never does."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = scrollback(session)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{screen}")


def start_v4code(
    session: str, workspace: Path, home: Path, base_url: str, height: int, args: Sequence[str] = ()
) -> None:
    """The chat in a new detached tmux session, 100 columns wide, in `workspace`.

    It starts from an empty environment (`env -i`) but for its home, a fake key, the server
    and a colour terminal, so nothing of the machine running the tests reaches it.
    """
    env = {
        "V4CODE_HOME": str(home), "DEEPSEEK_API_KEY": "sk-test-tmux", "DEEPSEEK_BASE_URL": base_url,
        "TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""),
        "V4CODE_MCP_STARTUP_WAIT": "120",  # see conftest: the runner may be slow
    }  # fmt: skip
    if "V4CODE_DIAGNOSTICS" in os.environ:  # conftest: no language server unless a test asks
        env["V4CODE_DIAGNOSTICS"] = os.environ["V4CODE_DIAGNOSTICS"]
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"env -i {command} {shlex.quote(sys.executable)} -m v4code"
    command += "".join(f" {shlex.quote(arg)}" for arg in args)
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", str(height), "-c", str(workspace), command)  # fmt: skip
    tmux("set-option", "-t", session, "history-limit", "50000")


def send(session: str, *keys: str) -> None:
    """Type `keys` (text or tmux key names such as Enter, C-c) into the chat."""
    tmux("send-keys", "-t", session, *keys)


def leave(session: str) -> str:
    """Ctrl-D at the prompt; the screen once the chat said how to resume the saved session."""
    send(session, "C-d")
    return wait_for(session, r"Session saved: v4code --resume \S+")


@contextmanager
def chat_in_tmux(
    name: str,
    workspace: Path,
    home: Path,
    server: SubprocessServer,
    height: int,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """The tmux session running the chat against `server`, once its first prompt shows.

    On the way out, however the test ended, the session is killed and the server stopped, so
    `server.stop()` afterwards returns what the server recorded.
    """
    session = f"v4code-{name}-{os.getpid()}"
    start_v4code(session, workspace, home, server.base_url, height=height, args=args)
    try:
        wait_for(session, "›")
        yield session
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True)
        server.stop()
