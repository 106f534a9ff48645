"""The chat's prompt history file: a convenience that never interrupts the chat."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from prompt_toolkit.history import FileHistory

__all__ = ["KeptHistory"]


class KeptHistory(FileHistory):
    """prompt-toolkit's file history, but a line that cannot be saved (the folder removed by a
    cleaner or a moved home, a full disk, a read-only file) is lost quietly: prompt-toolkit
    would print a traceback and wait for Enter in the middle of the chat."""

    def store_string(self, string: str) -> None:
        path = Path(os.fsdecode(self.filename))
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            super().store_string(string)

    def load_history_strings(self) -> Iterator[str]:
        try:
            yield from super().load_history_strings()
        except OSError:
            return
