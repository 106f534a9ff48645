"""A cancel token shared by the agent, the backend stream and running tools."""

from __future__ import annotations

import threading

from v4code.errors import Cancelled


class CancelToken:
    """Set once by a signal handler or a frontend; checked at every blocking point."""

    def __init__(self) -> None:
        self._event = threading.Event()

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
