"""Checkpoints: every applied batch is recorded so `/undo` and `v4code undo` restore it exactly.

The store is v4code's own (by default `user_home()/checkpoints`), independent of git: it works
in any directory and never touches a repository's index, HEAD, branches or stash. It is two
stores under one directory: file contents by digest (blobs.py) and one record per undo point
(records.py). What needs both lives here: recording a batch and rolling back one a crash left.

A batch is recorded (state "pending") before any file is written and marked "applied" once
every file is: the record is the batch's journal. A crash in between leaves a pending record;
the next apply, undo or session start in that workspace rolls it back from its before-images
(state "rolled-back") and removes its temp files, so a batch is all-or-nothing across a crash.

Edit batches and command snapshots (snapshot.py) are both undo points; undo (undo.py) takes
the newest first, whatever its kind.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from v4code.edits.atomic import TEMP_SUFFIX, atomic_delete, atomic_write, make_parents
from v4code.edits.blobs import BlobStore
from v4code.edits.filechange import ChangeBatch
from v4code.edits.lock import workspace_lock
from v4code.edits.records import BatchRecord, FileRecord, RecordStore, new_batch_id, real_root
from v4code.errors import ToolError
from v4code.workspace import resolve_in_workspace


class CheckpointStore(BlobStore, RecordStore):
    """Content-addressed blobs plus one JSON record per batch, grouped by workspace."""

    def record(
        self,
        root: Path,
        changeset: ChangeBatch,
        session_id: str,
        batch_id: str | None = None,
        created_dirs: Iterable[str] = (),
    ) -> BatchRecord:
        """Store every before/after content and a pending record; durable on return."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = tuple(
            FileRecord(
                path=c.path,
                before=None if c.before is None else self.put_blob(c.before),
                after=None if c.after is None else self.put_blob(c.after),
                mode_before=c.mode_before,
                mode_after=c.mode_after,
            )
            for c in changeset.changes
        )
        record = BatchRecord(
            id=batch_id or new_batch_id(),
            root=str(real_root(root)),
            session_id=session_id,
            tool=changeset.tool,
            summary=changeset.summary,
            created=time.time(),
            files=files,
            created_dirs=tuple(created_dirs),
        )
        self.begin(record)
        return record

    def roll_back_interrupted(self, root: Path | str) -> list[BatchRecord]:
        """Undo every batch a crash left half applied (state "pending") and remove its temp
        files; return those batches, now in state "rolled-back".

        The record is the journal: written before the first file is replaced, marked applied
        after the last. Each file is put back from its before-image when it holds what the batch
        wrote; a file someone changed since is left as it is. The caller holds the workspace's
        apply lock (lock.py), so a batch another process is applying right now never looks
        interrupted.
        """
        root_real = real_root(root)
        rolled: list[BatchRecord] = []
        for record in self.pending_batches(root_real):
            for f in record.files:
                target = root_real / f.path
                tmp = target.with_name(f".{target.name}.{record.id}{TEMP_SUFFIX}")
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    tmp.unlink()
            try:
                self._roll_back_files(root_real, record)
            except (OSError, ToolError):
                continue  # left pending: undo shows it as interrupted and can still restore it
            for rel in reversed(record.created_dirs):
                with contextlib.suppress(OSError):
                    (root_real / rel).rmdir()  # only if still empty
            updated = replace(record, state="rolled-back", undone=time.time())
            self.save_batch(updated)
            self.unmark(root_real, record.id)
            rolled.append(updated)
        return rolled

    def _roll_back_files(self, root: Path, record: BatchRecord) -> None:
        for f in reversed(record.files):
            path = resolve_in_workspace(root, f.path)
            if path.exists() and not path.is_file():
                continue
            current = path.read_bytes() if path.is_file() else None
            before, after = self.blob(f.before), self.blob(f.after)
            if current == before or current != after:
                continue  # not written yet, or changed by someone else since: left alone
            if before is None:
                atomic_delete(path)
            else:
                make_parents(path, root)
                atomic_write(path, before, f.mode_before, tag=record.id)


def default_store() -> CheckpointStore:
    """The user's checkpoint store: `user_home()/checkpoints` (V4CODE_HOME moves it)."""
    from v4code.config import user_home

    return CheckpointStore(user_home() / "checkpoints")


def recover_workspace(root: Path, store: CheckpointStore) -> list[BatchRecord]:
    """Roll back any batch a crash left half applied in `root` (under the apply lock, so a
    batch another live process is applying is never mistaken for one); return those batches."""
    root = real_root(root)
    with workspace_lock(store.directory, root):
        return store.roll_back_interrupted(root)


def session_store(root: Path) -> CheckpointStore:
    """The store a session records into (the user's), with any batch a crash left half
    applied in `root` rolled back first: the one way a session gets its store."""
    store = default_store()
    recover_workspace(root, store)
    return store
