"""A cancel token shared by the agent, the backend stream and running tools."""

from __future__ import annotations

import threading
import time

from v4code.errors import Cancelled


class CancelToken:
    """Set once by a signal handler or a frontend; checked at every blocking point."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.deadline: float | None = None
        """time.monotonic() when the turn's time limit (`--max-time`) runs out, or None. What
        waits under this token (a command, a hook, an MCP call) waits no longer than that."""

    def bound(self, seconds: float) -> float:
        """`seconds`, cut to what is left before the deadline (0 once it passed)."""
        if self.deadline is None:
            return seconds
        return max(0.0, min(seconds, self.deadline - time.monotonic()))

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def cancel(self) -> None:
        self._event.set()

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if cancelled meanwhile."""
        return self._event.wait(seconds)
