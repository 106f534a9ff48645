"""What `/diff` shows: every file this session changed, as it was before vs now.

The computation lives here, beside the undo points it reads; the chat only renders the diff
text it is given.
"""

from __future__ import annotations

from pathlib import Path

from v4code.diffs import unified_diff
from v4code.edits.blobs import BlobStore
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.records import SnapshotRecord
from v4code.edits.snapshot import blob_digest, load_tree


def session_diff(store: CheckpointStore, root: Path, session_id: str) -> str:
    """Every file this session's edits and commands changed: as it was before the first
    edit batch or command snapshot that touched it vs now (what `/undo` steps back through;
    files ignored by git are not snapshotted, so they are not shown)."""
    first: dict[str, str | None] = {}
    for point in store.undo_points(root, session_id):
        if isinstance(point, SnapshotRecord):
            for path, digest in _command_changes(store, root, point).items():
                first.setdefault(path, digest)
        else:
            for f in point.files:
                first.setdefault(f.path, f.before)
    out = []
    for path, before_digest in sorted(first.items()):
        before = store.blob(before_digest) if before_digest else None
        target = root / path
        try:
            now = target.read_bytes() if target.is_file() else None
        except OSError:
            now = None
        if before == now:
            continue
        out.append(_file_diff(path, before, now))
    return "".join(out)


def _command_changes(store: BlobStore, root: Path, point: SnapshotRecord) -> dict[str, str | None]:
    """path -> its content digest before the command (None: it did not exist), for every
    file the command changed (when v4code did not see it finish: every snapshotted file
    that differs now)."""
    try:
        before = load_tree(store, point.tree)
        after = load_tree(store, point.after) if point.after else None
    except Exception:  # a damaged snapshot shows nothing rather than failing /diff
        return {}
    if after is not None:
        paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
        return {p: before[p][1] if p in before else None for p in paths}
    changed: dict[str, str | None] = {}
    for path, (mode, digest) in before.items():
        if mode & 0o170000 != 0o100000:  # a symbolic link: its target, not content
            continue
        try:
            now = (root / path).read_bytes()
        except OSError:
            now = None
        if now is None or blob_digest(now) != digest:
            changed[path] = digest
    return changed


def _file_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    return unified_diff(path, before, after, status="changed")
