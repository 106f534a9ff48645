"""Working-tree snapshots: the state before (and after) every command, so undo can restore it.

A command can delete or rewrite anything (`git reset --hard`, `rm -rf ./*`); edit checkpoints
never see it. So before a command runs, the files a person would call the project (tracked and
untracked-not-ignored, from repo/files.py; never `.git/`, never ignored folders such as `.venv/`)
are recorded in the checkpoint store (blobs.py holds the contents, records.py the undo point),
and again once it finished.

It has to be cheap, because it happens before every command:

- a per-workspace stat cache (path -> size, mtime_ns, ctime_ns, inode, digest) means only files
  whose stat changed since the previous snapshot are read; a file changed within the last
  RACY_NS of a snapshot is not cached, because a second write in the same timestamp tick would
  look unchanged;
- blobs are content-addressed, so unchanged content is stored once, ever;
- the list of (path, mode, digest) is itself a blob, so an unchanged tree adds one small record.

A tree that is too large is skipped with a reason (SkippedSnapshot), and a snapshot that fails
never stops the command: the caller gets a note to show instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.edits.atomic import atomic_write
from v4code.edits.blobs import BlobStore
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.records import SnapshotRecord, new_batch_id
from v4code.errors import V4codeError

if TYPE_CHECKING:
    from v4code.repo.files import FileListing
    from v4code.toolkit import ToolContext

MAX_FILES = 50_000
MAX_CHANGED_BYTES = 1 << 30
RACY_NS = 2_000_000_000
"""A file changed this recently is read again next time (timestamps can be coarse)."""
FSYNC_EACH_UP_TO = 64
"""Up to this many new blobs are fsynced one by one; more get one `os.sync()`."""
CACHE_VERSION = 1
TREE_VERSION = 1

Entry = tuple[int, str]
"""(st_mode, digest): a regular file's content or a symlink's target, as stored."""
Tree = dict[str, Entry]


@dataclass(frozen=True)
class SnapshotLimits:
    max_files: int = MAX_FILES
    max_changed_bytes: int = MAX_CHANGED_BYTES


@dataclass(frozen=True)
class SkippedSnapshot:
    """No snapshot was taken, and why (a person or the model should know undo cannot help)."""

    reason: str

    @property
    def note(self) -> str:
        return (
            f"(no undo snapshot was taken before this command: {self.reason}; "
            "`v4code undo` cannot restore what it changes)"
        )


def snapshot(
    root: Path,
    store: CheckpointStore,
    session_id: str,
    reason: str,
    limits: SnapshotLimits | None = None,
    listing: FileListing | None = None,
) -> SnapshotRecord | SkippedSnapshot:
    """Record the working tree as an undo point labelled with `reason` (the command line);
    `listing` is the root's file listing when the caller has it already."""
    try:
        root_real = Path(os.path.realpath(root))
        created = time.time()
        tree = scan(root_real, store, limits or SnapshotLimits(), listing)
        if isinstance(tree, SkippedSnapshot):
            return tree
        record = SnapshotRecord(
            id=new_batch_id(),
            root=str(root_real),
            session_id=session_id,
            command=reason,
            created=created,
            tree=put_tree(store, tree),
            files=len(tree),
        )
        store.save_snapshot(record)
        return record
    except Exception as exc:  # a snapshot must never stop the command it protects
        return SkippedSnapshot(f"the snapshot failed ({_describe(exc)})")


def finish_snapshot(
    store: CheckpointStore,
    record: SnapshotRecord,
    limits: SnapshotLimits | None = None,
    listing: FileListing | None = None,
) -> SnapshotRecord | None:
    """Record the tree after the command: undo then knows what the command did and can tell
    it apart from later changes. A command that changed nothing leaves no undo point (None)."""
    try:
        root = Path(record.root)
        tree = scan(root, store, limits or SnapshotLimits(), listing)
        if isinstance(tree, SkippedSnapshot):
            return record  # stays pending: undo then treats every difference with care
        before = load_tree(store, record.tree)
        tree = _without_unseen(root, before, tree, record.created)
        tree.update(_now_ignored(root, store, before, tree))
        after = put_tree(store, tree)
        if tree == before:
            store.discard_snapshot(record)
            return None
        finished = replace(record, after=after, state="applied")
        store.save_snapshot(finished)
        return finished
    except Exception:  # the command already ran; a pending record is still an undo point
        return record


def _without_unseen(root: Path, before: Tree, after: Tree, created: float) -> Tree:
    """Drop files the snapshot could not see but which predate it (ignored until the command
    changed a .gitignore, say): they are not the command's creation, so undo must keep them."""
    since = int(created * 1e9)
    kept: Tree = {}
    for rel, entry in after.items():
        if rel not in before:
            try:
                st = os.lstat(root / rel)
            except OSError:
                continue
            if st.st_ctime_ns < since:
                continue
        kept[rel] = entry
    return kept


def _now_ignored(root: Path, store: BlobStore, before: Tree, after: Tree) -> Tree:
    """Snapshot files missing from the listing after the command but still on disk (the
    command made them ignored): recorded as they are, so undo does not take them for deleted."""
    found: Tree = {}
    for rel in before.keys() - after.keys():
        path = str(root / rel)
        try:
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                found[rel] = (mode, store.put_blob_unsynced(_read_entry(path, mode))[0])
        except OSError:
            continue  # deleted: that is what the after tree says
    return found


# -- the scan ----------------------------------------------------------------------------------


def scan(
    root: Path, store: CheckpointStore, limits: SnapshotLimits, listing: FileListing | None = None
) -> Tree | SkippedSnapshot:
    """The tree as it is now (`listing` when given, listed now otherwise), every changed
    file's content stored in `store`."""
    from v4code.repo.files import list_files

    listing = list_files(root) if listing is None else listing
    if not listing.complete or len(listing.files) > limits.max_files:
        return SkippedSnapshot(
            f"the workspace has more than {limits.max_files:,} files (the limit of a snapshot)"
        )
    cache_path = store.statcache_path(root)
    cache = _load_cache(cache_path)
    start_ns = time.time_ns()
    base = str(root) + os.sep
    tree, fresh, to_read = _unchanged(base, listing.files, cache)
    changed = sum(st.st_size for _, st in to_read)
    if changed > limits.max_changed_bytes:
        return SkippedSnapshot(
            f"{_size(changed)} changed since the last snapshot (the limit is "
            f"{_size(limits.max_changed_bytes)})"
        )
    _read_changed(store, base, to_read, start_ns - RACY_NS, tree, fresh)
    if to_read or len(fresh) != len(cache):
        _save_cache(cache_path, fresh)
    return tree


def _unchanged(
    base: str, files: Iterable[str], cache: dict[str, list[Any]]
) -> tuple[Tree, dict[str, list[Any]], list[tuple[str, os.stat_result]]]:
    """Stat every listed file: those the cache still describes go into the tree (and the
    fresh cache) as they are; the others are returned to be read."""
    tree: Tree = {}
    fresh: dict[str, list[Any]] = {}
    to_read: list[tuple[str, os.stat_result]] = []
    for rel in files:
        try:
            st = os.lstat(base + rel)
        except OSError:
            continue  # gone since the listing
        mode = st.st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            continue  # a submodule or a nested repository: not ours to restore
        hit = cache.get(rel)
        if (
            hit is not None
            and hit[0] == st.st_size
            and hit[1] == st.st_mtime_ns
            and hit[2] == st.st_ctime_ns
            and hit[3] == st.st_ino
        ):
            tree[rel] = (mode, hit[4])
            fresh[rel] = hit
        else:
            to_read.append((rel, st))
    return tree, fresh, to_read


def _read_changed(
    store: BlobStore,
    base: str,
    to_read: list[tuple[str, os.stat_result]],
    settled: int,
    tree: Tree,
    fresh: dict[str, list[Any]],
) -> None:
    """Store the files whose stat changed into `tree` (and `fresh`, those last changed before
    `settled`, see RACY_NS), their new blobs made durable together."""
    new_blobs: list[Path] = []
    for rel, st in to_read:
        try:
            data = _read_entry(base + rel, st.st_mode)
        except OSError:
            continue  # vanished or unreadable: not recorded, so undo leaves it alone
        digest, written = store.put_blob_unsynced(data)
        if written is not None:
            new_blobs.append(written)
        tree[rel] = (st.st_mode, digest)
        if max(st.st_mtime_ns, st.st_ctime_ns) < settled:
            fresh[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, digest]
    make_durable(new_blobs)


def _read_entry(path: str, mode: int) -> bytes:
    if stat.S_ISLNK(mode):
        return os.readlink(os.fsencode(path))  # the link itself, never what it points to
    with open(path, "rb") as fh:
        return fh.read()


def make_durable(paths: list[Path]) -> None:
    """fsync a few new files one by one; many at once, with one system-wide sync."""
    if len(paths) > FSYNC_EACH_UP_TO:
        os.sync()
        return
    for path in paths:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# -- trees as blobs ----------------------------------------------------------------------------


_LAST_TREE: dict[Path, tuple[Tree, str]] = {}
"""The last tree stored per store: an unchanged tree is not serialised and hashed again."""


def put_tree(store: BlobStore, tree: Tree) -> str:
    last = _LAST_TREE.get(store.directory)
    if last is not None and last[0] == tree and store.has_blob(last[1]):
        return last[1]
    rows = [[rel, mode, digest] for rel, (mode, digest) in sorted(tree.items())]
    data = json.dumps({"version": TREE_VERSION, "files": rows}, separators=(",", ":")).encode()
    digest, written = store.put_blob_unsynced(data)
    make_durable([written] if written else [])
    _LAST_TREE[store.directory] = (tree, digest)
    return digest


def load_tree(store: BlobStore, digest: str) -> Tree:
    data = json.loads(store.blob(digest) or b"{}")
    return {str(rel): (int(mode), str(d)) for rel, mode, d in data.get("files", ())}


# -- the stat cache ----------------------------------------------------------------------------

_MEMORY: dict[Path, tuple[tuple[int, int, int], dict[str, list[Any]]]] = {}
"""The cache as last read or written by this process, keyed by file, checked by its stat."""


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _load_cache(path: Path) -> dict[str, list[Any]]:
    key = _stat_key(path)
    if key is None:
        return {}
    remembered = _MEMORY.get(path)
    if remembered is not None and remembered[0] == key:
        return remembered[1]
    try:
        data = json.loads(path.read_bytes())
        entries = data["entries"] if data.get("version") == CACHE_VERSION else {}
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        entries = {}  # a damaged cache only costs a full read
    _MEMORY[path] = (key, entries)
    return entries


def _save_cache(path: Path, entries: dict[str, list[Any]]) -> None:
    """Written without fsync: a cache lost to a crash only means reading the files again."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps({"version": CACHE_VERSION, "entries": entries}, separators=(",", ":"))
        atomic_write(path, data.encode("utf-8"), 0o600, sync=False)
        key = _stat_key(path)
        if key is not None:
            _MEMORY[path] = (key, entries)


# -- the entry point for commands --------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    """What the scan before a running command found: its undo point (None when skipped),
    the nested repositories and whether `.v4code/` was there."""

    record: SnapshotRecord | None
    repositories: dict[str, tuple[int, ...]]
    project_dir: bool


_PENDING: dict[tuple[str, str, str], _Pending] = {}
"""Commands that are running, until snapshot_after_command sees them finish."""


def limits_from(ctx: ToolContext) -> SnapshotLimits:
    """The limits a tool context sets (snapshot_max_files, ..._changed_bytes), else ours."""
    files, changed = ctx.snapshot_max_files, ctx.snapshot_max_changed_bytes
    return SnapshotLimits(
        max_files=MAX_FILES if files is None else files,
        max_changed_bytes=MAX_CHANGED_BYTES if changed is None else changed,
    )


def _pending_key(store: CheckpointStore, ctx: ToolContext) -> tuple[str, str, str]:
    return (str(store.directory), os.path.realpath(ctx.root), ctx.session_id)


def _listing(root: Path) -> FileListing | None:
    from v4code.repo.files import list_files

    try:
        return list_files(root)
    except Exception:  # the snapshot says why; the command runs anyway
        return None


def snapshot_before_command(ctx: ToolContext, command: str) -> str | None:
    """Snapshot the workspace before `command` runs; a note for the model and the person when
    no snapshot could be taken (the command runs anyway)."""
    from v4code.edits.planted import has_project_dir, with_root

    store = ctx.checkpoints
    if not isinstance(store, CheckpointStore):
        return None  # nothing to record into (a review, a test context)
    root = Path(os.path.realpath(ctx.root))
    listing = _listing(root)
    result = snapshot(root, store, ctx.session_id, command, limits_from(ctx), listing)
    record = None if isinstance(result, SkippedSnapshot) else result
    repositories = with_root(root, listing.repositories if listing is not None else {})
    _PENDING[_pending_key(store, ctx)] = _Pending(record, repositories, has_project_dir(root))
    return result.note if isinstance(result, SkippedSnapshot) else None


def snapshot_after_command(ctx: ToolContext) -> list[str]:
    """Record what the command left; without this call the undo point stays usable, only more
    cautious (every later difference is shown rather than restored). Moves aside a nested git
    repository the command made and remembers a `.v4code/` it made (`planted.py`); the lines
    that say so."""
    from v4code.edits import planted

    store = ctx.checkpoints
    if not isinstance(store, CheckpointStore):
        return []
    pending = _PENDING.pop(_pending_key(store, ctx), None)
    if pending is None:
        return []
    root = Path(os.path.realpath(ctx.root))
    listing = _listing(root)
    lines: list[str] = []
    if listing is not None:
        after = planted.with_root(root, listing.repositories)
        made = planted.new_repositories(pending.repositories, after)
        if made:
            lines += planted.move_aside(root, made, store.aside_dir(root) / new_batch_id())
            listing = _listing(root)  # the folders they held are plain files now
    try:
        appeared = planted.project_dir_appeared(root, pending.project_dir)
    except V4codeError as exc:  # the trust file cannot be written: say so, never stop
        appeared = f"{planted.PROJECT_DIR}/ appeared during this command ({exc.message})"
    lines += [appeared] if appeared else []
    if pending.record is not None:
        finish_snapshot(store, pending.record, limits_from(ctx), listing)
    return lines


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def blob_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
