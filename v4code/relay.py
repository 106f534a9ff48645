"""What work running in other threads under a tool call has for the turn's own thread.

Child agents (the `task` tool) run in worker threads while the turn's thread waits for them.
Their progress must reach the frontend as the turn's events, and a question they need a
person for (an approval) must be asked where the person is: on the turn's thread, one at a
time. The relay carries both: `post` an event, `call` a function on the turn's thread and
wait for its answer; the turn's thread `drain`s it until the calls it waits for are done.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from v4code.events import Event

T = TypeVar("T")

__all__ = ["Relay"]


@dataclass
class _Job(Generic[T]):
    fn: Callable[[], T]
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    error: BaseException | None = None
    _taken: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        """Run once, by whichever thread takes it first (the drainer, or the asker itself
        when the drain ended before it got there)."""
        if not self._taken.acquire(blocking=False):
            return
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed back to the thread that asked
            self.error = exc
        finally:
            self.done.set()


class Relay:
    """Events and questions from worker threads to the thread draining the relay."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Event | _Job[object]] = queue.Queue()
        self._drainer: int | None = None  # the thread draining now, if any
        self._direct = threading.Lock()  # questions asked with no drainer: one at a time

    def hold(self) -> None:
        """This thread will drain: call before starting the workers, so a question asked
        before the drain begins waits for it instead of being asked on the worker's thread."""
        self._drainer = threading.get_ident()

    def post(self, event: Event) -> None:
        self._queue.put(event)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()` run on the draining thread (directly when that is this thread, or when
        nothing drains): questions from parallel workers come one at a time."""
        drainer = self._drainer
        if drainer is None or drainer == threading.get_ident():
            with self._direct:
                return fn()
        job: _Job[T] = _Job(fn)
        self._queue.put(job)  # type: ignore[arg-type]
        while not job.done.wait(0.1):
            if self._drainer is None:  # the drain ended (an interrupt): ask it here
                with self._direct:
                    job.run()
                job.done.wait()
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]

    def drain(self, finished: Callable[[], bool], poll: float = 0.05) -> Iterator[Event]:
        """Yield posted events and answer questions until `finished()` and nothing is left."""
        self._drainer = threading.get_ident()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=poll)
                except queue.Empty:
                    if finished():
                        return
                    continue
                if isinstance(item, _Job):
                    item.run()
                else:
                    yield item
        finally:
            self._drainer = None
            self._answer_left()

    def _answer_left(self) -> None:
        """Questions still queued when the drain stopped (an interrupt) are answered here so
        no worker waits for ever; events left are dropped."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Job):
                item.run()
