"""The checkpoint store's records: one JSON file per undo point, grouped by workspace.

    workspaces/<key>/root                    the workspace path the key stands for
    workspaces/<key>/batches/<id>.json       one record per edit batch
    workspaces/<key>/pending/<id>            an empty marker while batch <id> is pending
    workspaces/<key>/snapshots/<id>.json     one record per command: the tree before and after
    workspaces/<key>/statcache.json          what the last snapshot read (see snapshot.py)

A record names file contents by digest only (blobs.py holds the bytes). The marker in
`pending/`, written before the record and removed once the batch is applied, lets every apply
find the batches to roll back without reading every record of the workspace. Snapshots live in
their own folder so that an older v4code, which knows only batches, never mistakes one for an
empty batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from v4code.edits.atomic import atomic_write
from v4code.newest_files import newest_files
from v4code.textio import one_line

RECORD_VERSION = 1


@dataclass(frozen=True)
class FileRecord:
    path: str
    before: str | None  # blob digest; None: the batch created the file
    after: str | None  # blob digest; None: the batch deleted the file
    mode_before: int | None = None
    mode_after: int | None = None


@dataclass(frozen=True)
class BatchRecord:
    id: str
    root: str
    session_id: str
    tool: str
    summary: str
    created: float
    files: tuple[FileRecord, ...]
    state: str = "pending"  # "pending" until every file is written, then "applied"; a crash
    # in between: "rolled-back" once the next start has put the files back
    undone: float | None = None  # when it was undone
    created_dirs: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = RECORD_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        files = tuple(FileRecord(**f) for f in data.get("files", ()))
        return cls(
            id=data["id"],
            root=data["root"],
            session_id=data.get("session_id", ""),
            tool=data.get("tool", ""),
            summary=data.get("summary", ""),
            created=float(data.get("created", 0.0)),
            files=files,
            state=data.get("state", "pending"),
            undone=data.get("undone"),
            created_dirs=tuple(data.get("created_dirs", ())),
        )


@dataclass(frozen=True)
class SnapshotRecord:
    """The working tree before (and, once it finished, after) one command: an undo point.

    `tree` and `after` are digests of manifest blobs (see snapshot.py), so an unchanged tree
    costs one small record and nothing more.
    """

    id: str
    root: str
    session_id: str
    command: str
    created: float  # when the snapshot started: files changed later are the command's doing
    tree: str
    files: int
    after: str | None = None  # None: v4code did not see the command finish
    state: str = "pending"  # "applied" once the tree after the command is recorded
    undone: float | None = None
    tool: str = "run_command"

    @property
    def label(self) -> str:
        line = one_line(" ".join(self.command.split()))
        return f"before command: {line if len(line) <= 60 else line[:57] + '...'}"

    @property
    def summary(self) -> str:
        return self.label

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = RECORD_VERSION
        data["kind"] = "snapshot"
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SnapshotRecord:
        return cls(
            id=str(data["id"]),
            root=str(data["root"]),
            session_id=str(data.get("session_id", "")),
            command=str(data.get("command", "")),
            created=float(data.get("created", 0.0)),
            tree=str(data["tree"]),
            files=int(data.get("files", 0)),
            after=data.get("after"),
            state=str(data.get("state", "pending")),
            undone=data.get("undone"),
            tool=str(data.get("tool", "run_command")),
        )


UndoPoint = BatchRecord | SnapshotRecord
_Point = TypeVar("_Point", BatchRecord, SnapshotRecord)


def new_batch_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def real_root(root: Path | str) -> Path:
    """A workspace by its real path: the key its records are filed under."""
    return Path(os.path.realpath(root))


def _load_records(
    folder: Path, parse: Callable[[dict[str, Any]], _Point], session_id: str | None
) -> list[_Point]:
    """The records in `folder`, oldest first (one session's when set).

    A damaged record is skipped, never fatal: one bad file must not hide every other undo point.
    """
    out: list[_Point] = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        record = _read_record(path, parse)
        if record is not None and (session_id is None or record.session_id == session_id):
            out.append(record)
    out.sort(key=lambda r: (r.created, r.id))
    return out


# A record's file carries its `created` as its mtime (`_stamp_created`; a file an older v4code
# wrote was written after its `created`), so no file's mtime is older than its record's
# `created`, give or take the coarse clock file systems stamp with. Reading records newest file
# first can therefore stop at the first file older than the best record found so far: nothing
# in it or after it can be newer.
_MTIME_SLACK_NS = 2_000_000_000


def _stamp_created(path: Path, created: float) -> None:
    """Give a record's file its `created` as mtime, whatever the clock says now (it may have
    been set back since), so listing by mtime lists by record (see `_MTIME_SLACK_NS`)."""
    with contextlib.suppress(OSError):
        os.utime(path, (created, created))


def read_point(path: Path) -> UndoPoint | None:
    """An edit batch or a command snapshot, by the folder it is in; None when damaged."""
    if path.parent.name == "snapshots":
        return _read_record(path, SnapshotRecord.from_json)
    return _read_record(path, BatchRecord.from_json)


def newest_point(
    files: Iterable[tuple[int, Path]],
    accept: Callable[[UndoPoint], bool],
    read: Callable[[Path], UndoPoint | None],
) -> UndoPoint | None:
    """The newest record `accept` takes among `files` (newest file first, see
    `_MTIME_SLACK_NS`), reading only until no older file can hold a newer one."""
    best: UndoPoint | None = None
    for mtime_ns, path in files:
        if best is not None and mtime_ns < best.created * 1e9 - _MTIME_SLACK_NS:
            break
        record = read(path)
        if record is None or not accept(record):
            continue
        if best is None or (record.created, record.id) > (best.created, best.id):
            best = record
    return best


def _read_record(path: Path, parse: Callable[[dict[str, Any]], _Point]) -> _Point | None:
    """One record; None when it is missing or damaged."""
    try:
        return parse(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class RecordStore:
    """One JSON record per undo point under `directory/workspaces`, and the pending markers."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _workspace_dir(self, root: Path | str) -> Path:
        key = hashlib.sha256(str(real_root(root)).encode("utf-8", "surrogateescape")).hexdigest()
        return self.directory / "workspaces" / key[:24]

    def _record_path(self, root: Path | str, batch_id: str) -> Path:
        return self._workspace_dir(root) / "batches" / f"{batch_id}.json"

    def save_batch(self, record: BatchRecord) -> None:
        self._write_record(self._record_path(record.root, record.id).parent, record)

    def save_snapshot(self, record: SnapshotRecord) -> None:
        self._write_record(self._workspace_dir(record.root) / "snapshots", record)

    def _write_record(self, folder: Path, record: UndoPoint) -> None:
        """Write a record durably into `folder` (batches/ or snapshots/), naming the workspace
        in `root` beside them the first time."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        root_file = folder.parent / "root"
        if not root_file.exists():
            atomic_write(root_file, record.root.encode("utf-8", "surrogateescape"), 0o600)
        path = folder / f"{record.id}.json"
        data = json.dumps(record.to_json(), indent=1, sort_keys=True).encode()
        atomic_write(path, data, 0o600)
        _stamp_created(path, record.created)

    def discard_snapshot(self, record: SnapshotRecord) -> None:
        """Forget a snapshot whose command changed nothing (it would be an empty undo)."""
        with contextlib.suppress(FileNotFoundError):
            (self._workspace_dir(record.root) / "snapshots" / f"{record.id}.json").unlink()

    def list_snapshots(
        self, root: Path | str, session_id: str | None = None
    ) -> list[SnapshotRecord]:
        """The workspace's command snapshots, oldest first (one session's when set)."""
        folder = self._workspace_dir(root) / "snapshots"
        return _load_records(folder, SnapshotRecord.from_json, session_id)

    def undo_points(self, root: Path | str, session_id: str | None = None) -> list[UndoPoint]:
        """Edit batches and command snapshots together, oldest first."""
        points: list[UndoPoint] = [
            *self.list_batches(root, session_id),
            *self.list_snapshots(root, session_id),
        ]
        points.sort(key=lambda r: (r.created, r.id))
        return points

    def latest_point(
        self, root: Path | str, accept: Callable[[UndoPoint], bool] = lambda _: True
    ) -> UndoPoint | None:
        """The newest undo point `accept` takes, the one `undo_points(root)[-1]` of those would
        be, read newest file first and only until no older file can hold a newer one."""
        return newest_point(newest_files(self.point_folders(root), ".json"), accept, read_point)

    def has_undo_points(self, root: Path | str) -> bool:
        """Whether v4code recorded any edit batch or command here (damaged records aside),
        without reading them all."""
        files = newest_files(self.point_folders(root), ".json")
        return any(read_point(path) is not None for _, path in files)

    def point_folders(self, root: Path | str) -> tuple[Path, Path]:
        folder = self._workspace_dir(root)
        return folder / "batches", folder / "snapshots"

    def statcache_path(self, root: Path | str) -> Path:
        return self._workspace_dir(root) / "statcache.json"

    def aside_dir(self, root: Path | str) -> Path:
        """Where what a command must not leave in the workspace is kept (a nested `.git`)."""
        return self._workspace_dir(root) / "moved-aside"

    def begin(self, record: BatchRecord) -> None:
        """Mark a batch pending, then write its record: durable on return. The marker comes
        first, so a crash leaves no pending record unmarked."""
        marker = self._pending_dir(record.root) / record.id
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(marker, b"", 0o600)
        self.save_batch(record)

    def mark_applied(self, record: BatchRecord) -> BatchRecord:
        updated = replace(record, state="applied")
        self.save_batch(updated)
        self.unmark(record.root, record.id)
        return updated

    def discard(self, record: BatchRecord) -> None:
        """Forget a batch that was rolled back before it took effect."""
        with contextlib.suppress(FileNotFoundError):
            self._record_path(record.root, record.id).unlink()
        self.unmark(record.root, record.id)

    def _pending_dir(self, root: Path | str) -> Path:
        return self._workspace_dir(root) / "pending"

    def unmark(self, root: Path | str, batch_id: str) -> None:
        """Drop a batch's pending marker (one a crash leaves here is dropped by the next
        roll-back, which finds the record no longer pending)."""
        with contextlib.suppress(FileNotFoundError):
            (self._pending_dir(root) / batch_id).unlink()

    def pending_batches(self, root: Path) -> list[BatchRecord]:
        """The batches still pending, oldest first, read through their markers alone.

        A store from before the markers is read whole once and marked, so a batch an older
        v4code left half applied is still rolled back.
        """
        folder = self._pending_dir(root)
        if not folder.is_dir():
            if not (self._workspace_dir(root) / "batches").is_dir():
                return []
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for old in self.list_batches(root):
                if old.state == "pending" and old.undone is None:
                    atomic_write(folder / old.id, b"", 0o600)
        pending: list[BatchRecord] = []
        for marker in folder.iterdir():
            path = self._record_path(root, marker.name)
            record = _read_record(path, BatchRecord.from_json)
            if record is None and path.exists():
                continue  # damaged: skipped, as listing skips it
            if record is None or record.state != "pending" or record.undone is not None:
                self.unmark(root, marker.name)  # killed before its record, or done since
            else:
                pending.append(record)
        pending.sort(key=lambda r: (r.created, r.id))
        return pending

    def list_batches(self, root: Path | str, session_id: str | None = None) -> list[BatchRecord]:
        """The workspace's batches, oldest first; only one session's when `session_id` is set."""
        folder = self._workspace_dir(root) / "batches"
        return _load_records(folder, BatchRecord.from_json, session_id)

    def latest_session(self, root: Path | str) -> str | None:
        latest = self.latest_point(root)
        return latest.session_id if latest is not None else None

    def interrupted_batches(
        self, root: Path | str, session_id: str, since: float = 0.0
    ) -> list[BatchRecord]:
        """A session's batches that were rolled back after a crash (rolled back after
        `since`), so a resumed conversation can be told."""
        return [
            b
            for b in self.list_batches(root, session_id)
            if b.state == "rolled-back" and (b.undone or 0.0) >= since
        ]
