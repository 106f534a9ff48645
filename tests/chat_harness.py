"""Drive the chat through prompt-toolkit pipe input against the fake DeepSeek server.

Keys are queued before the chat starts; prompt-toolkit keeps what one prompt did not read for the
next one, so a queue plays a whole conversation: the request, the approval answers, commands.
"""

from __future__ import annotations

import io
import os
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from fake_api import FakeDeepSeek
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from v4code.ui.repl import run_repl

ENTER = "\r"
CTRL_C = "\x03"
CTRL_D = "\x04"


class Screen(io.StringIO):
    """The console's file; calls `on_write(text so far)` after each write (in the writer's thread)."""

    def __init__(self, on_write: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.on_write = on_write

    def write(self, s: str) -> int:
        n = super().write(s)
        if self.on_write is not None:
            self.on_write(self.getvalue())
        return n


def chat(
    workspace: Path,
    server: FakeDeepSeek,
    monkeypatch: pytest.MonkeyPatch,
    keys: list[str],
    *,
    screen: Screen | None = None,
    continue_: bool = False,
    resume: str | None = None,
    end: str = CTRL_D * 3,  # more than enough: a prompt left waiting would hang the test
    type_after: Callable[[], object] | None = None,
    flags: Mapping[str, object] | None = None,
) -> str:
    """The chat's screen once the keys ran out. `type_after`, when given, runs in a thread once
    the chat started and the keys are typed when it returns (a person who takes a while).
    `flags` are the command line's options (`{"permission_mode": "full-auto"}`)."""
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-chat")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    screen = screen or Screen()
    console = Console(file=screen, width=100, color_system=None, highlight=False)
    with create_pipe_input() as pipe:
        typed = "".join(keys) + end
        if type_after is None:
            pipe.send_text(typed)
        else:

            def type_later() -> None:
                try:
                    type_after()
                finally:  # whatever happened, the chat gets its keys and ends
                    pipe.send_text(typed)

            threading.Thread(target=type_later, daemon=True).start()
        code = run_repl(
            continue_=continue_,
            resume=resume,
            flags=dict(flags or {}),
            input=pipe,
            output=DummyOutput(),
            console=console,
        )
    assert code == 0
    return screen.getvalue()


def sigint() -> None:
    """Ctrl-C, as the terminal sends it; never while pytest's own handler would take it."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        os.kill(os.getpid(), signal.SIGINT)


def ctrl_c_when_requested(server: FakeDeepSeek, count: int) -> threading.Thread:
    """Once request `count` reached the server (so a turn is waiting on it), Ctrl-C once: the
    backend interrupts the blocked read at once, without a second Ctrl-C."""

    def press() -> None:
        server.wait_for_requests(count, timeout=20)
        sigint()  # the turn's handler is in place and a cancel ends the read whenever it lands

    thread = threading.Thread(target=press, daemon=True)
    thread.start()
    return thread
