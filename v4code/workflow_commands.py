"""Under GitHub Actions, no line v4code prints is taken as a workflow command.

The runner reads every line a step prints, on stdout and stderr, and a line that starts with
`::` (after leading blanks) is a command: `::add-mask::`, `::error file=…::`, `::stop-commands::`.
v4code prints text it did not write (a model's answer, a finding, a pull request's file names),
so a prompt-injected model could hide the log's later lines, forge annotations, or stop the
runner from reading the job's own commands. v4code itself never issues workflow commands, so
under `GITHUB_ACTIONS=true` both streams are wrapped once at start-up and such a line is shown
with a zero-width space between its two colons: it reads the same in the log and is no command.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

__all__ = ["BREAK", "LineGuard", "guard_streams"]

BREAK = ":\u200b:"
"""What a line's leading `::` becomes."""


class LineGuard:
    """A text stream that passes everything on except a leading `::`.

    Text at the start of a line that could still become `::` (blanks, one colon) is held until
    the next write or flush decides it; everything else is written through at once, so
    streamed output keeps streaming.
    """

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self._held = ""
        self._at_start = True

    def write(self, text: str) -> int:
        self._inner.write(self._guarded(text))
        return len(text)

    def _guarded(self, text: str) -> str:
        out: list[str] = []
        pending = self._held + text
        self._held = ""
        for line in pending.splitlines(keepends=True):
            if self._at_start:
                checked = self._checked(line)
                if checked is None:
                    break
                line = checked
            out.append(line)
            self._at_start = line.endswith(("\n", "\r"))
        return "".join(out)

    def _checked(self, line: str) -> str | None:
        """`line` (starting a line) with a leading `::` broken; None when it cannot be told yet
        (it is held, and is the last piece of this write)."""
        head = line.lstrip(" \t")
        if head.startswith("::"):
            return line[: len(line) - len(head)] + BREAK + head[2:]
        if head in ("", ":"):
            if line.endswith(("\n", "\r")):
                return line
            self._held = line
            return None
        return line

    def flush(self) -> None:
        if self._held:
            self._inner.write(self._held)
            self._at_start = False
            self._held = ""
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding, buffer...: what the wrapped stream says.
        return getattr(self._inner, name)


def guard_streams() -> None:
    """Wrap stdout and stderr when running as a GitHub Actions step; otherwise nothing."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, LineGuard):
            setattr(sys, name, LineGuard(stream))
