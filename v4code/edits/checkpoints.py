"""Checkpoints: every applied batch is recorded so `/undo` and `v4code undo` restore it exactly.

The store is v4code's own (by default `user_home()/checkpoints`), independent of git: it works
in any directory and never touches a repository's index, HEAD, branches or stash.

    objects/ab/abcdef...                     file contents, content-addressed (sha256)
    workspaces/<key>/root                    the workspace path the key stands for
    workspaces/<key>/batches/<id>.json       one record per batch
    workspaces/<key>/pending/<id>            an empty marker while batch <id> is pending
    workspaces/<key>/snapshots/<id>.json     one record per command: the tree before and after
    workspaces/<key>/statcache.json          what the last snapshot read (see snapshot.py)

A batch is recorded (state "pending") before any file is written and marked "applied" once
every file is: the record is the batch's journal. A crash in between leaves a pending record;
the next apply, undo or session start in that workspace rolls it back from its before-images
(state "rolled-back") and removes its temp files, so a batch is all-or-nothing across a crash.
The marker in `pending/`, written before the record and removed once the batch is applied, lets
every apply find the batches to roll back without reading every record of the workspace.

Edit batches and command snapshots are both undo points; undo takes the newest first, whatever
its kind. Snapshots live in their own folder so that an older v4code, which knows only batches,
never mistakes one for an empty batch.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from v4code.diffs import unified_diff
from v4code.edits.atomic import TEMP_SUFFIX, atomic_delete, atomic_write, make_parents
from v4code.edits.changeset import ChangeSet
from v4code.edits.lock import workspace_lock
from v4code.errors import ToolError
from v4code.newest_files import newest_files
from v4code.textio import one_line, shown_lines
from v4code.workspace import resolve_in_workspace

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


def _read_point(path: Path) -> UndoPoint | None:
    """An edit batch or a command snapshot, by the folder it is in; None when damaged."""
    if path.parent.name == "snapshots":
        return _read_record(path, SnapshotRecord.from_json)
    return _read_record(path, BatchRecord.from_json)


def _newest(
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


@dataclass(frozen=True)
class RefusedFile:
    path: str
    reason: str
    diff: str = ""


@dataclass(frozen=True)
class UndoReport:
    """What an undo did: restored files, files already as before, files it refused."""

    batch: UndoPoint | None
    restored: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    refused: tuple[RefusedFile, ...] = ()
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.batch is not None and not self.refused

    def render(self) -> str:
        """The text a person (or the model) sees."""
        if self.batch is None:
            return self.message
        b = self.batch
        if isinstance(b, SnapshotRecord):
            return self._render_snapshot(b)
        lines = []
        if self.refused:
            done = ", ".join(map(one_line, self.restored)) or "nothing"
            lines.append(f"Partly undid batch {b.id} ({b.tool}): restored {done}.")
        else:
            lines.append(f"Undid batch {b.id} ({b.tool}): {one_line(b.summary)}")
            created = {f.path for f in b.files if f.before is None}
            back = [p for p in self.restored if p not in created]
            gone = [p for p in self.restored if p in created]
            if back:
                lines.append(f"Restored {', '.join(map(one_line, back))}.")
            if gone:
                lines.append(f"Removed {', '.join(map(one_line, gone))} (created by that batch).")
        lines += self._refusals(
            "Undo again once the file is as v4code left it, or with --force to restore it "
            "anyway (the changes shown above would be lost)."
        )
        return "\n".join(lines)

    def _render_snapshot(self, b: SnapshotRecord) -> str:
        removed = set(self.extra.get("removed", ()))
        back = [p for p in self.restored if p not in removed]
        gone = [p for p in self.restored if p in removed]
        if self.refused:
            lines = [f"Partly undid {b.label} ({b.id}): restored {_names(back) or 'nothing'}."]
        else:
            lines = [f"Undid {b.label} ({b.id})."]
            if back:
                lines.append(f"Restored {_names(back)}.")
            if gone:
                lines.append(f"Removed {_names(gone)} (created by that command).")
            if not back and not gone:
                lines.append("Every file was already as before the command.")
        lines += self._refusals(
            "Undo again once those files are as the command left them, or with --force to "
            "restore them anyway (the changes shown above would be lost)."
        )
        return "\n".join(lines)

    def _refusals(self, advice: str) -> list[str]:
        """Each refused file with the changes undo would lose, then `advice` (or nothing)."""
        lines: list[str] = []
        for r in self.refused:
            lines.append(f"Refused {one_line(r.path)}: {r.reason}")
            if r.diff:  # the file's lines as they are now: the repository's text
                lines.append(shown_lines(r.diff.rstrip("\n")))
        return [*lines, advice] if self.refused else lines


def _names(paths: list[str], limit: int = 20) -> str:
    shown = ", ".join(map(one_line, paths[:limit]))
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def default_store() -> CheckpointStore:
    """The user's checkpoint store: `user_home()/checkpoints` (V4CODE_HOME moves it)."""
    from v4code.config import user_home

    return CheckpointStore(user_home() / "checkpoints")


def new_batch_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def _real(root: Path | str) -> Path:
    return Path(os.path.realpath(root))


class CheckpointStore:
    """Content-addressed blobs plus one JSON record per batch, grouped by workspace."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- blobs ---------------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self.directory / "objects" / digest[:2] / digest

    def put_blob(self, data: bytes) -> str:
        digest, _ = self._put_blob(data, sync=True)
        return digest

    def put_blob_unsynced(self, data: bytes) -> tuple[str, Path | None]:
        """Like put_blob without the fsyncs (thousands of them make a first snapshot take
        seconds); returns the new blob's path, None when it was already stored, so the caller
        can make the whole lot durable at once."""
        return self._put_blob(data, sync=False)

    def _put_blob(self, data: bytes, *, sync: bool) -> tuple[str, Path | None]:
        digest = hashlib.sha256(data).hexdigest()
        path = self._blob_path(digest)
        if path.exists():
            return digest, None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data, 0o600, sync=sync)
        return digest, path

    def has_blob(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def blob(self, digest: str | None) -> bytes | None:
        if digest is None:
            return None
        try:
            data = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise ToolError(
                f"checkpoint data {digest[:12]} is missing from {self.directory}"
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise ToolError(f"checkpoint data {digest[:12]} in {self.directory} is corrupt")
        return data

    # -- records -------------------------------------------------------------------------------

    def _workspace_dir(self, root: Path | str) -> Path:
        key = hashlib.sha256(str(_real(root)).encode("utf-8", "surrogateescape")).hexdigest()
        return self.directory / "workspaces" / key[:24]

    def _record_path(self, root: Path | str, batch_id: str) -> Path:
        return self._workspace_dir(root) / "batches" / f"{batch_id}.json"

    def _save(self, record: BatchRecord) -> None:
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
        return _newest(newest_files(self._point_folders(root), ".json"), accept, _read_point)

    def has_undo_points(self, root: Path | str) -> bool:
        """Whether v4code recorded any edit batch or command here (damaged records aside),
        without reading them all."""
        files = newest_files(self._point_folders(root), ".json")
        return any(_read_point(path) is not None for _, path in files)

    def _point_folders(self, root: Path | str) -> tuple[Path, Path]:
        folder = self._workspace_dir(root)
        return folder / "batches", folder / "snapshots"

    def statcache_path(self, root: Path | str) -> Path:
        return self._workspace_dir(root) / "statcache.json"

    def aside_dir(self, root: Path | str) -> Path:
        """Where what a command must not leave in the workspace is kept (a nested `.git`)."""
        return self._workspace_dir(root) / "moved-aside"

    def record(
        self,
        root: Path,
        changeset: ChangeSet,
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
            root=str(_real(root)),
            session_id=session_id,
            tool=changeset.tool,
            summary=changeset.summary,
            created=time.time(),
            files=files,
            created_dirs=tuple(created_dirs),
        )
        marker = self._pending_dir(record.root) / record.id
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(marker, b"", 0o600)  # before the record: a crash leaves no record unmarked
        self._save(record)
        return record

    def mark_applied(self, record: BatchRecord) -> BatchRecord:
        updated = replace(record, state="applied")
        self._save(updated)
        self._unmark(record.root, record.id)
        return updated

    def discard(self, record: BatchRecord) -> None:
        """Forget a batch that was rolled back before it took effect."""
        with contextlib.suppress(FileNotFoundError):
            self._record_path(record.root, record.id).unlink()
        self._unmark(record.root, record.id)

    def _pending_dir(self, root: Path | str) -> Path:
        return self._workspace_dir(root) / "pending"

    def _unmark(self, root: Path | str, batch_id: str) -> None:
        """Drop a batch's pending marker (one a crash leaves here is dropped by the next
        roll-back, which finds the record no longer pending)."""
        with contextlib.suppress(FileNotFoundError):
            (self._pending_dir(root) / batch_id).unlink()

    def _pending_batches(self, root: Path) -> list[BatchRecord]:
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
                self._unmark(root, marker.name)  # killed before its record, or done since
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

    def roll_back_interrupted(self, root: Path | str) -> list[BatchRecord]:
        """Undo every batch a crash left half applied (state "pending") and remove its temp
        files; return those batches, now in state "rolled-back".

        The record is the journal: written before the first file is replaced, marked applied
        after the last. Each file is put back from its before-image when it holds what the batch
        wrote; a file someone changed since is left as it is. The caller holds the workspace's
        apply lock (lock.py), so a batch another process is applying right now never looks
        interrupted.
        """
        root_real = _real(root)
        rolled: list[BatchRecord] = []
        for record in self._pending_batches(root_real):
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
            self._save(updated)
            self._unmark(root_real, record.id)
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

    # -- undo ----------------------------------------------------------------------------------

    def undo_last(
        self, root: Path | str, session_id: str | None = None, *, force: bool = False
    ) -> UndoReport:
        """Undo the newest undo point not yet undone, edit batch or command snapshot (of
        `session_id`, else of the latest session in this workspace)."""
        root_real = _real(root)
        with workspace_lock(self.directory, root_real):
            self.roll_back_interrupted(root_real)
            return self._undo_last(root_real, session_id, force)

    def _undo_last(self, root_real: Path, session_id: str | None, force: bool) -> UndoReport:
        # One listing and one read per record for both lookups: the latest session is the
        # newest point's, and its newest point not undone is usually that same file.
        files = list(newest_files(self._point_folders(root_real), ".json"))
        read = functools.cache(_read_point)
        if session_id is None:
            newest = _newest(files, lambda _: True, read)
            session = newest.session_id if newest is not None else None
        else:
            session = session_id
        if session is None:
            return UndoReport(
                None, message=f"Nothing to undo: v4code has made no edits in {root_real}."
            )
        latest = _newest(files, lambda p: p.session_id == session and p.undone is None, read)
        if latest is None:
            return UndoReport(
                None,
                message=f"Nothing left to undo in session {session or '(none)'}; "
                "`v4code undo --list --all` shows every session's batches.",
            )
        if isinstance(latest, SnapshotRecord):
            # snapshot.py builds on this store, so it is imported here rather than at the top.
            from v4code.edits.snapshot_restore import undo_snapshot

            return undo_snapshot(root_real, self, latest, force=force)
        return self.undo_batch(root_real, latest, force=force)

    def undo_batch(self, root: Path, record: BatchRecord, *, force: bool = False) -> UndoReport:
        restored: list[str] = []
        unchanged: list[str] = []
        refused: list[RefusedFile] = []
        for f in reversed(record.files):
            try:
                outcome = self._undo_file(root, f, force)
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
            self._save(replace(record, undone=time.time()))
        restored.reverse()
        unchanged.reverse()
        return UndoReport(record, tuple(restored), tuple(unchanged), tuple(refused))

    def _undo_file(self, root: Path, f: FileRecord, force: bool) -> bool | RefusedFile:
        """True: restored; False: already as before; RefusedFile: changed since the batch."""
        path = resolve_in_workspace(root, f.path)
        current = path.read_bytes() if path.is_file() else None
        if path.exists() and not path.is_file():
            return RefusedFile(f.path, "it is no longer a regular file.")
        before = self.blob(f.before)
        if current == before:
            if before is not None and f.mode_before is not None:
                _restore_mode(path, f.mode_before)
            return False
        after = self.blob(f.after)
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
