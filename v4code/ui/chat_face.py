"""What the slash commands and plan mode may use of the chat, as a Protocol.

The chat (`ui/repl.py`'s `Chat`) dispatches to them, so they name this face instead of
importing it back; the chat satisfies it without naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console

    from v4code.agent import Agent
    from v4code.edits.checkpoints import CheckpointStore
    from v4code.events import Event
    from v4code.lsp.manager import LanguageServers
    from v4code.project_layer import SessionLayers
    from v4code.ui.completion import FileIndex
    from v4code.ui.render import TurnView


class ChatFace(Protocol):
    """The open session, the screen, and the chat's ways to run a turn or ask a question."""

    root: Path
    console: Console
    files: FileIndex
    view: TurnView | None  # the last turn's (for /thinking, /details)
    show_thinking: bool
    running: bool  # False ends the chat after the current line
    layers: SessionLayers  # the config files and project layer the session opened with

    @property
    def agent(self) -> Agent: ...

    @property
    def checkpoints(self) -> CheckpointStore: ...

    @property
    def servers(self) -> LanguageServers | None:
        """The session's language servers; None with `diagnostics = false`."""
        ...

    def open(self, resume: str | None) -> None: ...

    def pick_session(self) -> str | None: ...

    def turn(self, text: str, shown: str | None = None, answer_plans: bool = True) -> None: ...

    def run_events(self, events: Iterator[Event], summary: bool = True) -> None: ...

    def ask(self, question: str) -> str: ...

    def ask_key(self, question: str, default: str | None = None) -> str:
        """`y` or `n`, one key (v4code.ui.keys); Ctrl-C or Esc raises KeyboardInterrupt."""
        ...

    def say(self, text: str, style: str | None = None) -> None: ...
