"""Undo from outside a session: find the workspace, list its batches, undo the last one.

`v4code undo` calls these; they need no model, so they import nothing heavy (the checkpoint
store is imported when one of them runs).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.textio import one_line

if TYPE_CHECKING:
    from v4code.edits.checkpoints import CheckpointStore, UndoPoint, UndoReport


def find_workspace(store: CheckpointStore, start: Path) -> Path:
    """The workspace v4code edited that contains `start` (nearest first); else `start`."""
    here = Path(os.path.realpath(start))
    for candidate in (here, *here.parents):
        if store.has_undo_points(candidate):
            return candidate
    return here


def _state(batch: UndoPoint) -> str:
    if batch.state == "rolled-back":
        return "rolled back"
    if batch.undone is not None:
        return "undone"
    return "applied" if batch.state == "applied" else "interrupted"


def format_batches(batches: list[UndoPoint], latest: str | None) -> str:
    """A table of undo points (edit batches and commands), grouped by session, oldest first."""
    if not batches:
        return "No batches."
    lines: list[str] = []
    sessions: list[str] = []
    for b in batches:
        if b.session_id not in sessions:
            sessions.append(b.session_id)
    for session in sessions:
        tag = " (latest)" if session == latest else ""
        lines.append(f"Session {session or '(none)'}{tag}:")
        lines.append(f"  {'ID':<22}  {'TIME':<19}  {'TOOL':<12}  {'STATE':<11}  FILES")
        for b in (b for b in batches if b.session_id == session):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(b.created))
            files = ", ".join(map(one_line, b.paths)) if hasattr(b, "paths") else b.summary
            lines.append(f"  {b.id:<22}  {when:<19}  {b.tool or '-':<12}  {_state(b):<11}  {files}")
    return "\n".join(lines)


def list_text(store: CheckpointStore, root: Path, session: str | None, every: bool) -> str:
    latest = store.latest_session(root)
    chosen = None if every else (session if session is not None else latest)
    batches = store.undo_points(root, chosen)
    if not batches:
        return f"v4code has recorded no edits or commands in {root}."
    return f"Undo points in {root} (edit batches and commands):\n" + format_batches(batches, latest)


def batches_text(start: Path, session: str | None, every: bool) -> str:
    """The batches of the workspace containing `start`: one session's, or all of them."""
    from v4code.edits.checkpoints import default_store

    store = default_store()
    return list_text(store, find_workspace(store, start), session, every)


def undo_last_batch(start: Path, session: str | None, force: bool) -> UndoReport:
    """Undo the newest batch not yet undone in the workspace containing `start`.

    A file that changed since v4code wrote it is refused (its diff is in the report) unless
    `force` is set.
    """
    from v4code.edits.checkpoints import default_store

    store = default_store()
    return store.undo_last(find_workspace(store, start), session, force=force)
