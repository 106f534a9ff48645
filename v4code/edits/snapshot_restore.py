"""Undoing a command: bring the working tree back to its snapshot (see snapshot.py).

Only what the command changed is touched: the paths whose entry differs between the tree before
and the tree after it. For each, as with edit batches, a file that changed again since (a later
edit, command or hand) is refused with its diff unless forced, with one exception: a file that
is simply gone is always restored, because nothing can be lost by bringing it back (that is the
`rm -rf` case). Files the command created are removed only when they are still as it left them
and are not ignored once the snapshot's own .gitignore files are back.

When v4code did not see the command finish (no tree after it), every difference from the
snapshot is a candidate and anything present that differs is refused unless forced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from v4code.diffs import unified_diff
from v4code.edits.atomic import atomic_write, temp_name
from v4code.edits.blobs import BlobStore
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.records import SnapshotRecord
from v4code.edits.snapshot import Entry, Tree, blob_digest, load_tree, make_durable
from v4code.edits.undo_report import RefusedFile, UndoReport
from v4code.errors import ToolError

_DIR = (-1, "directory")
"""The state of a path that is a directory now."""
_BLOCKED = (-2, "blocked")
"""A path whose parent is no longer a plain directory (a file or a symlink is in its place)."""

State = Entry | None


@dataclass
class _Plan:
    """What undoing a snapshot will do with each path the command changed."""

    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, RefusedFile] = field(default_factory=dict)
    to_restore: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)


def undo_snapshot(
    root: Path, store: CheckpointStore, record: SnapshotRecord, *, force: bool = False
) -> UndoReport:
    try:
        before = load_tree(store, record.tree)
        after = load_tree(store, record.after) if record.after else None
    except (ToolError, ValueError, TypeError) as exc:
        return UndoReport(
            None, message=f"Cannot undo {record.label}: its snapshot is damaged ({exc})."
        )
    if after is not None:
        paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    else:
        paths = _differences(root, before, record.created)
    plan = _plan(store, root, sorted(paths), before, after, force)
    restored, removed = _carry_out(store, root, before, plan)
    make_durable([root / rel for rel in restored])
    if not plan.refused:
        store.save_snapshot(replace(record, undone=time.time()))
    return UndoReport(
        record,
        tuple(sorted(restored + removed)),
        tuple(sorted(plan.unchanged)),
        tuple(plan.refused[k] for k in sorted(plan.refused)),
        extra={"removed": tuple(removed)},
    )


def _plan(
    store: BlobStore, root: Path, paths: list[str], before: Tree, after: Tree | None, force: bool
) -> _Plan:
    """Sort each changed path: already as before, refused (changed again since, unless
    `force`; a file simply gone is always brought back), to restore, or to remove."""
    plan = _Plan()
    for rel in paths:
        if not _safe_rel(rel):
            plan.refused[rel] = RefusedFile(rel, "its recorded path is not a plain workspace path.")
            continue
        want = before.get(rel)
        now = _state(root, rel)
        # A directory (or a file where its folder was) in the path's place is no content of
        # its own: whatever is inside is judged path by path.
        seen = None if now in (_DIR, _BLOCKED) else now
        if now == want or (want is None and seen is None):
            plan.unchanged.append(rel)
            continue
        left = None if after is None else after.get(rel)
        as_left = after is not None and seen == left
        if not (force or as_left or (seen is None and want is not None)):
            shown = left if after is not None else want
            plan.refused[rel] = _refusal(store, root, rel, now, shown, after is not None)
        elif want is None:
            plan.to_remove.append(rel)
        else:
            plan.to_restore.append(rel)
    return plan


def _carry_out(
    store: BlobStore, root: Path, before: Tree, plan: _Plan
) -> tuple[list[str], list[str]]:
    """Restore and remove what `plan` says; (restored, removed). A file whose place a
    directory held is tried again once the removals may have emptied it."""
    restored: list[str] = []
    removed: list[str] = []
    blocked = [r for r in plan.to_restore if not _restore(root, store, r, before[r], restored)]
    listed = _listed(root) if plan.to_remove else set()
    for rel in plan.to_remove:
        if listed is not None and rel not in listed:
            plan.unchanged.append(rel)  # ignored by the snapshot's own rules: not ours to remove
        elif _state(root, rel) in (_DIR, _BLOCKED, None):
            plan.unchanged.append(rel)  # no file of the command's is there any more
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(root / rel)
            removed.append(rel)
    _remove_empty_parents(root, removed)
    for rel in blocked:
        if not _restore(root, store, rel, before[rel], restored):
            what = "a directory" if _state(root, rel) == _DIR else "a file or a link"
            plan.refused[rel] = RefusedFile(
                rel, f"{what} is in its way, changed after the command."
            )
    return restored, removed


def _differences(root: Path, before: Tree, created: float) -> set[str]:
    """Without a tree after the command: every snapshot path that differs now, and every
    listed file that appeared since the snapshot."""
    out = {rel for rel, entry in before.items() if _state(root, rel) != entry}
    since = int(created * 1e9)
    for rel in _listed(root) or ():
        if rel not in before:
            with contextlib.suppress(OSError):
                if os.lstat(root / rel).st_ctime_ns >= since:
                    out.add(rel)
    return out


def _listed(root: Path) -> set[str] | None:
    from v4code.repo.files import list_files

    try:
        return set(list_files(root).files)
    except Exception:  # without a listing nothing is removed, which loses nothing
        return None


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return (
        bool(rel)
        and not rel.startswith("/")
        and "\0" not in rel
        and all(p not in ("", ".", "..") for p in parts)
        and parts[0] != ".git"
    )


def _parents_ok(root: Path, rel: str) -> bool:
    """Every folder above `rel` is a real directory or missing (never a link out or a file)."""
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return True
        if not stat.S_ISDIR(st.st_mode):
            return False
    return True


def _state(root: Path, rel: str) -> State:
    if not _parents_ok(root, rel):
        return _BLOCKED
    path = root / rel
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISDIR(st.st_mode):
        return _DIR
    return (st.st_mode, blob_digest(_read(path, st.st_mode)))


def _read(path: Path, mode: int) -> bytes:
    if stat.S_ISLNK(mode):
        return os.readlink(os.fsencode(path))
    return path.read_bytes()


def _restore(root: Path, store: BlobStore, rel: str, entry: Entry, done: list[str]) -> bool:
    """Write one snapshot entry back; False when something is in its way."""
    if not _parents_ok(root, rel) or _state(root, rel) == _DIR:
        return False
    mode, digest = entry
    data = store.blob(digest) or b""
    path = root / rel
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir()
    if not stat.S_ISLNK(mode):
        atomic_write(path, data, stat.S_IMODE(mode), sync=False)  # made durable in bulk
    else:
        tmp = temp_name(path)
        try:
            os.symlink(os.fsdecode(data), tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    done.append(rel)
    return True


def _remove_empty_parents(root: Path, removed: list[str]) -> None:
    folders = {Path(rel).parent for rel in removed}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder.parts:
            with contextlib.suppress(OSError):
                (root / folder).rmdir()  # only if empty
            if (root / folder).exists():
                break
            folder = folder.parent


def _refusal(
    store: BlobStore, root: Path, rel: str, now: State, left: State, known: bool
) -> RefusedFile:
    if not known:
        reason = (
            "v4code did not see the command finish, so it cannot tell the command's changes "
            "from later ones; this is how it differs from the snapshot:"
        )
    else:
        reason = "it changed after the command; this is how it differs from what the command left:"
    old = _content(store, left)
    new = _content(store, now, root / rel)
    label = "as the command left it" if known else "in the snapshot"
    return RefusedFile(rel, reason, _diff(rel, old, new, label))


def _content(store: BlobStore, entry: State, path: Path | None = None) -> bytes | None:
    if entry is None or entry[0] < 0:
        return None
    if path is not None:
        with contextlib.suppress(OSError):
            return _read(path, entry[0])
    with contextlib.suppress(ToolError):
        return store.blob(entry[1])
    return None


def _diff(path: str, left: bytes | None, now: bytes | None, label: str) -> str:
    return unified_diff(path, left, now, label_a=f"a/{path} ({label})", label_b=f"b/{path} (now)")
