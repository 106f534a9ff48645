"""Undo: take back the newest undo point, edit batch or command snapshot, and say what it did.

`undo_last` is the one dispatch (`/undo` and `v4code undo` both come here): an edit batch
is undone here (`undo_batch`), a command by snapshot_restore.py. The helpers for
`v4code undo` (find the workspace, list its batches) need no model, so they import nothing heavy.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import replace
from pathlib import Path

from v4code.diffs import unified_diff
from v4code.edits.atomic import atomic_delete, atomic_write, make_parents
from v4code.edits.checkpoints import CheckpointStore, default_store
from v4code.edits.lock import workspace_lock
from v4code.edits.records import (
    BatchRecord,
    FileRecord,
    SnapshotRecord,
    UndoPoint,
    newest_point,
    read_point,
    real_root,
)
from v4code.edits.snapshot_restore import undo_snapshot
from v4code.edits.undo_report import RefusedFile, UndoReport
from v4code.errors import ToolError
from v4code.newest_files import newest_files
from v4code.textio import one_line
from v4code.workspace import resolve_in_workspace


def undo_last(
    store: CheckpointStore, root: Path | str, session_id: str | None = None, *, force: bool = False
) -> UndoReport:
    """Undo the newest undo point not yet undone, edit batch or command snapshot (of
    `session_id`, else of the latest session in this workspace)."""
    root_real = real_root(root)
    with workspace_lock(store.directory, root_real):
        store.roll_back_interrupted(root_real)
        return _undo_last(store, root_real, session_id, force)


def _undo_last(
    store: CheckpointStore, root_real: Path, session_id: str | None, force: bool
) -> UndoReport:
    # One listing and one read per record for both lookups: the latest session is the
    # newest point's, and its newest point not undone is usually that same file.
    files = list(newest_files(store.point_folders(root_real), ".json"))
    read = functools.cache(read_point)
    if session_id is None:
        newest = newest_point(files, lambda _: True, read)
        session = newest.session_id if newest is not None else None
    else:
        session = session_id
    if session is None:
        return UndoReport(
            None, message=f"Nothing to undo: v4code has made no edits in {root_real}."
        )
    latest = newest_point(files, lambda p: p.session_id == session and p.undone is None, read)
    if latest is None:
        return UndoReport(
            None,
            message=f"Nothing left to undo in session {session or '(none)'}; "
            "`v4code undo --list --all` shows every session's batches.",
        )
    if isinstance(latest, SnapshotRecord):
        return undo_snapshot(root_real, store, latest, force=force)
    return undo_batch(store, root_real, latest, force=force)


def undo_batch(
    store: CheckpointStore, root: Path, record: BatchRecord, *, force: bool = False
) -> UndoReport:
    restored: list[str] = []
    unchanged: list[str] = []
    refused: list[RefusedFile] = []
    for f in reversed(record.files):
        try:
            outcome = _undo_file(store, root, f, force)
        except (OSError, ToolError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            refused.append(RefusedFile(f.path, f"could not restore it ({reason})."))
            continue
        if isinstance(outcome, RefusedFile):
            refused.append(outcome)
        elif outcome:
            restored.append(f.path)
        else:
            unchanged.append(f.path)
    if not refused:
        for rel in reversed(record.created_dirs):
            with contextlib.suppress(OSError):
                (root / rel).rmdir()  # only if still empty
        store.save_batch(replace(record, undone=time.time()))
    restored.reverse()
    unchanged.reverse()
    return UndoReport(record, tuple(restored), tuple(unchanged), tuple(refused))


def _undo_file(
    store: CheckpointStore, root: Path, f: FileRecord, force: bool
) -> bool | RefusedFile:
    """True: restored; False: already as before; RefusedFile: changed since the batch."""
    path = resolve_in_workspace(root, f.path)
    current = path.read_bytes() if path.is_file() else None
    if path.exists() and not path.is_file():
        return RefusedFile(f.path, "it is no longer a regular file.")
    before = store.blob(f.before)
    if current == before:
        if before is not None and f.mode_before is not None:
            _restore_mode(path, f.mode_before)
        return False
    after = store.blob(f.after)
    if current != after and not force:
        return RefusedFile(
            f.path,
            "it changed after v4code wrote it; this is how it differs from what v4code wrote:",
            _diff(f.path, after, current),
        )
    if before is None:
        atomic_delete(path)
    else:
        make_parents(path, root)
        atomic_write(path, before, f.mode_before)
    return True


def _restore_mode(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        if (os.stat(path).st_mode & 0o7777) != mode:
            os.chmod(path, mode)


def _diff(path: str, written: bytes | None, current: bytes | None) -> str:
    label_a = f"a/{path} (as v4code wrote it)"
    return unified_diff(path, written, current, label_a=label_a, label_b=f"b/{path} (now)")


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
    store = default_store()
    return list_text(store, find_workspace(store, start), session, every)


def undo_last_batch(start: Path, session: str | None, force: bool) -> UndoReport:
    """Undo the newest batch not yet undone in the workspace containing `start`.

    A file that changed since v4code wrote it is refused (its diff is in the report) unless
    `force` is set.
    """
    store = default_store()
    return undo_last(store, find_workspace(store, start), session, force=force)
