"""Apply an approved ChangeSet: lock, re-check, journal first, then write every file atomically.

This is the one place a batch of edits is written (a ChangeSet's `apply` comes here).

Order matters. The workspace's apply lock (lock.py) is held throughout, so no other v4code
process writes between our check and our rename. Under it, a batch a killed process left half
written is rolled back first (checkpoints.py), and every file is compared with what the change
set read (again right before its rename, for writers outside v4code): a file that changed
fails the batch with "changed since it was read", and the model reads it again. The
checkpoint (blobs + a record in state "pending", the journal) is durable before the first file
is touched and marked "applied" after the last, so a crash in between is undone on the next
start. Files are written one at a time, each atomically (temp, fsync, rename), deletions last;
if a write fails, the files already written are put back and the record is dropped: the batch
applies wholly or not at all.

An editor that shares its view of the files (`files`, `v4code acp`) is compared with instead
of the disk (the edit was computed on its text) and writes each file it will take, so its
buffer follows; the decision, the lock and the checkpoint stay here, and the disk is then made
to hold the same bytes (an editor that keeps the write in an unsaved buffer changes nothing
v4code relies on: the checkpoint, undo and the next read see what was approved).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from v4code.edits.atomic import atomic_delete, atomic_write, make_parents
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.filechange import ChangeBatch, FileChange
from v4code.edits.lock import workspace_lock
from v4code.edits.records import BatchRecord, new_batch_id
from v4code.errors import ToolError
from v4code.tool_context import EditorFiles
from v4code.workspace import relative_to_root, resolve_in_workspace


def current_state(path: Path) -> tuple[bytes | None, int | None]:
    """A file's bytes and permission bits, (None, None) when it does not exist."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"{path.name} is not a regular file.")
    return path.read_bytes(), stat.S_IMODE(st.st_mode)


def _check_unchanged(root: Path, change: FileChange, files: EditorFiles | None) -> Path:
    path = resolve_in_workspace(root, change.path)
    current, _ = current_state(path)
    if current is not None and files is not None:  # the text the edit was computed on
        shown = files.read(path, current)
        current = current if shown is None else shown
    if current != change.before:
        if change.before is None:
            raise ToolError(
                f"{change.path} was created by someone else since the edit was prepared; "
                "read it again."
            )
        raise ToolError(f"{change.path} changed since it was read; read it again.")
    return path


def _lock_directory(store: CheckpointStore | None) -> Path:
    if store is not None:
        return store.directory
    from v4code.config import user_home

    return user_home()


def apply_changeset(
    root: Path,
    changeset: ChangeBatch,
    store: CheckpointStore | None,
    session_id: str,
    files: EditorFiles | None = None,
) -> str:
    """Write an approved change set; return its batch id (the checkpoint id when recorded).
    With `files`, the editor writes what it will take (see the module's note)."""
    root = Path(os.path.realpath(root))
    with workspace_lock(_lock_directory(store), root):
        if store is not None:
            store.roll_back_interrupted(root)
        return _apply_locked(root, changeset, store, session_id, files)


def _apply_locked(
    root: Path,
    changeset: ChangeBatch,
    store: CheckpointStore | None,
    session_id: str,
    files: EditorFiles | None,
) -> str:
    targets = [(_check_unchanged(root, c, files), c) for c in changeset.changes]
    if store is not None:
        planned = _missing_dirs(root, [path for path, c in targets if c.after is not None])
        recorded = store.record(root, changeset, session_id, created_dirs=planned)
        record: BatchRecord | None = recorded
        batch_id = recorded.id
    else:
        record, batch_id = None, new_batch_id()
    done: list[tuple[Path, FileChange]] = []
    created_dirs: list[Path] = []
    ordered = [t for t in targets if t[1].after is not None] + [
        t for t in targets if t[1].after is None
    ]
    path = root
    try:
        for path, change in ordered:
            _check_unchanged(root, change, files)  # right before: writers outside v4code
            if change.after is None:
                atomic_delete(path)
            else:
                created_dirs.extend(make_parents(path, root))
                _write(path, change.before, change.after, change.mode_after, batch_id, files)
            done.append((path, change))
    except (OSError, ToolError) as exc:
        _roll_back(done, created_dirs, batch_id, files)
        if store is not None and record is not None:
            store.discard(record)
        if isinstance(exc, ToolError):
            raise ToolError(f"{exc} No file was changed.") from None
        failed = relative_to_root(root, path)
        raise ToolError(
            f"Could not write {failed} ({exc.strerror or exc}); no file was changed."
        ) from None
    if store is not None and record is not None:
        store.mark_applied(record)
    return batch_id


def _write(
    path: Path,
    before: bytes | None,
    after: bytes,
    mode: int | None,
    batch_id: str,
    files: EditorFiles | None,
) -> None:
    """One file's new bytes: through the editor when it takes them, then on disk unless the
    editor already saved exactly them (and the mode the change asks for)."""
    if files is not None and files.write(path, before, after):
        now, now_mode = current_state(path)
        if now == after:
            if mode is not None and now_mode != mode:
                os.chmod(path, mode)
            return
    atomic_write(path, after, mode, tag=batch_id)


def _missing_dirs(root: Path, paths: list[Path]) -> list[str]:
    """The directories writing `paths` will create (recorded up front so undo removes them
    even after a crash), outermost first."""
    missing: list[str] = []
    for path in paths:
        chain = []
        parent = path.parent
        while parent != root and not parent.exists():
            chain.append(relative_to_root(root, parent))
            parent = parent.parent
        for rel in reversed(chain):
            if rel not in missing:
                missing.append(rel)
    return missing


def _roll_back(
    done: list[tuple[Path, FileChange]],
    created_dirs: list[Path],
    batch_id: str,
    files: EditorFiles | None,
) -> None:
    for path, change in reversed(done):
        with contextlib.suppress(OSError):
            if change.before is None:
                atomic_delete(path)
            else:
                _write(path, change.after, change.before, change.mode_before, batch_id, files)
    for directory in reversed(created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()
