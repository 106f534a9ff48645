"""The repo map a session starts with: computed once from the task, appended to the first
user message, never regenerated.

Appending it to the first user message (not the system prompt, not later turns) keeps every
later request's prefix byte-identical, so DeepSeek's prefix cache keeps hitting. Indexing a
large repository cold can take a while: past a time budget the map is skipped with a notice
(what was parsed meanwhile is cached, so a later session gets further), and a repository with
no code, or one that cannot be indexed, simply starts without a map.

In the chat the person takes seconds to type the first message: `OpeningMap.warm_up` indexes
the repository in a background thread meanwhile, so the first message usually finds the
index ready. The first message waits for that build (never a second one beside it) within
the same budget.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, V4codeError

__all__ = ["MAP_SECONDS", "Opening", "OpeningMap", "opening_message", "task_of"]

MAP_SECONDS = 3.0
"""Longest the first message waits for the index."""

HEADER = (
    "<repo_map>\n"
    "Files of this repository ranked for the task above (definitions with line ranges; "
    "bodies left out). A starting point: read the ranges you need, and use repo_map, "
    "find_symbol and outline for more.\n"
)
FOOTER = "\n</repo_map>"
_FENCE = re.compile(r"<(?=/?\s*repo_map)", re.IGNORECASE)


def task_of(content: str) -> str:
    """The task a first user message was built from: the message without its repo map (the
    map's text is fenced, so its header marks where the task ends)."""
    task, found, rest = content.rpartition(f"\n\n{HEADER}")
    return task if found and rest.endswith(FOOTER) else content


@dataclass
class Opening:
    content: str
    """The first user message as the model sees it: the task, then the map when there is one."""
    notices: list[str] = field(default_factory=list)


def opening_message(
    root: Path,
    task: str,
    max_tokens: int,
    *,
    cancel: CancelToken | None = None,
    seconds: float = MAP_SECONDS,
    secret_files: Iterable[str] = (),
) -> Opening:
    """`task` with the repo map for it appended, within `max_tokens` (0: no map)."""
    if max_tokens <= 0 or not task.strip():
        return Opening(task)
    from v4code.repomap.api import focused_map
    from v4code.repomap.cache import writes_in_background

    token = CancelToken()
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(token, cancel, done, time.monotonic() + seconds), daemon=True
    )
    watcher.start()
    try:
        with writes_in_background():  # the request need not wait for SQLite's syncs
            found = focused_map(
                root,
                task,
                max_tokens,
                cancel=token,
                secret_files=secret_files,
                overview_on_miss=False,  # a task no file matches gets no map (below)
            )
    except Cancelled:
        if cancel is not None and cancel.cancelled:
            return Opening(task)
        return Opening(
            task,
            [
                f"No repo map this session: indexing the repository took over {seconds:g} s "
                "(it continues from the cache next time; `v4code map` indexes it fully)."
            ],
        )
    except (V4codeError, OSError, sqlite3.Error, ValueError, RuntimeError):
        return Opening(task)
    finally:
        done.set()
    # A task no file matches ("say hello") gets no map rather than the most-used files: the
    # first request stays small, and the model has `repo_map` when it wants the overview.
    text = found.text
    if found.focus_missed or not text.strip():
        return Opening(task)
    # The repository's text cannot open or close the fence the map sits in.
    text = _FENCE.sub("&lt;", text)
    return Opening(f"{task}\n\n{HEADER}{text}{FOOTER}")


class OpeningMap:
    """The agent's first-message hook: the task with its repo map, from an index that
    `warm_up` may have started building while the person typed.

    Indexing failures are not reported by the warm-up (the first message simply has no map,
    as without it); `close` stops a warm-up still running and waits for it, so no worker
    process outlives the session.
    """

    def __init__(self, root: Path, max_tokens: int, *, secret_files: Iterable[str] = ()) -> None:
        self.root = root
        self.max_tokens = max_tokens
        self.secret_files = tuple(secret_files)
        self._stop = CancelToken()
        self._thread: threading.Thread | None = None
        self._mapped = False  # the first message was built: its cache writes may be running

    def warm_up(self) -> None:
        """Start indexing in the background (once; never after close)."""
        if self._thread is not None or self._stop.cancelled or self.max_tokens <= 0:
            return
        self._thread = threading.Thread(target=self._index, name="v4code-map-warm-up", daemon=True)
        self._thread.start()

    def _index(self) -> None:
        from v4code.repomap.api import repo_index

        with contextlib.suppress(Exception):  # nothing to report: the first message tries again
            repo_index(self.root, cancel=self._stop, secret_files=self.secret_files)

    def __call__(self, task: str, cancel: CancelToken) -> tuple[str, list[str]]:
        opening = opening_message(
            self.root,
            task,
            self.max_tokens,
            cancel=cancel,
            seconds=MAP_SECONDS,
            secret_files=self.secret_files,
        )
        self._mapped = True
        # Finished, or stopped by the budget or the user: a warm-up is of no more use.
        self._stop.cancel()
        return opening.content, opening.notices

    def close(self, timeout: float = 30.0) -> None:
        """Stop a warm-up still running; return once it ended (its worker processes too) and
        the first message's cache writes are done."""
        self._stop.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._mapped:
            from v4code.repomap.cache import wait_for_writes

            wait_for_writes(timeout)


def _watch(token: CancelToken, user: CancelToken | None, done: threading.Event, end: float) -> None:
    """Cancel the indexing at the deadline or when the user interrupts."""
    while not done.wait(0.05):
        if time.monotonic() >= end or (user is not None and user.cancelled):
            token.cancel()
            return
