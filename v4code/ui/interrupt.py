"""Ctrl-C while a turn runs, the same in the chat and in `v4code run`.

The first Ctrl-C cancels the turn through its token, so the agent stops at its next check and
the session log stays whole; a person who pressed it wants to know at once that it was heard
(`stopping`). A second Ctrl-C means "now": `again` raises whatever the frontend ends with.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

from v4code.cancel import CancelToken


def _raise_keyboard_interrupt() -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_cancels(
    cancel: CancelToken,
    stopping: Callable[[], None] = lambda: None,
    again: Callable[[], NoReturn] = _raise_keyboard_interrupt,
) -> Iterator[None]:
    """Within the block, Ctrl-C cancels `cancel` (then calls `stopping`), and a second one
    calls `again`; the handler before is put back after. Signals reach the main thread only:
    elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.cancelled:
            again()
        cancel.cancel()
        with contextlib.suppress(Exception):  # never let the message break the cancel
            stopping()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
