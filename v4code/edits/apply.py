"""Apply an approved ChangeSet: re-check, checkpoint first, then write every file atomically.

Order matters. The checkpoint (blobs + a pending record) is durable before the first file is
touched, so whatever happens next, undo can put things back. Files are written one at a time,
each atomically (temp, fsync, rename), deletions last. If a write fails, the files already
written are put back and the record is dropped: the batch applies wholly or not at all.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from v4code.edits.atomic import atomic_delete, atomic_write, make_parents
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import BatchRecord, CheckpointStore, new_batch_id
from v4code.errors import ToolError
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


def _check_unchanged(root: Path, change: FileChange) -> Path:
    path = resolve_in_workspace(root, change.path)
    current, _ = current_state(path)
    if current != change.before:
        if change.before is None:
            raise ToolError(
                f"{change.path} was created by someone else since the edit was prepared; "
                "read it again."
            )
        raise ToolError(
            f"{change.path} changed on disk since the edit was prepared; read it again."
        )
    return path


def apply_changeset(
    root: Path, changeset: ChangeSet, store: CheckpointStore | None, session_id: str
) -> str:
    """Write an approved change set; return its batch id (the checkpoint id when recorded)."""
    root = Path(os.path.realpath(root))
    targets = [(_check_unchanged(root, c), c) for c in changeset.changes]
    if store is not None:
        store.recover(root)
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
    try:
        for path, change in ordered:
            if change.after is None:
                atomic_delete(path)
            else:
                created_dirs.extend(make_parents(path, root))
                atomic_write(path, change.after, change.mode_after, tag=batch_id)
            done.append((path, change))
    except OSError as exc:
        failed = relative_to_root(root, path)
        _roll_back(done, created_dirs)
        if store is not None and record is not None:
            store.discard(record)
        raise ToolError(
            f"Could not write {failed} ({exc.strerror or exc}); no file was changed."
        ) from None
    if store is not None and record is not None:
        store.mark_applied(record)
    return batch_id


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


def _roll_back(done: list[tuple[Path, FileChange]], created_dirs: list[Path]) -> None:
    for path, change in reversed(done):
        with contextlib.suppress(OSError):
            if change.before is None:
                atomic_delete(path)
            else:
                atomic_write(path, change.before, change.mode_before)
    for directory in reversed(created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()
