"""A ChangeSet is a batch of file changes computed in memory, shown for approval, then applied.

Edit tools never write: they return a ChangeSet, a proposal (v4code.protocols.Proposal). The
tool-call pipeline asks the permission policy (and the person, with `preview()`: the diff and
the files) and only then calls `apply()`, which hands it to the one apply step (apply.py: atomic,
with a checkpoint), so a rejected proposal changes nothing on disk. The changes themselves are
FileChange values (filechange.py), which apply.py and the checkpoint store read without this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from v4code.edits.apply import apply_changeset
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.filechange import FileChange
from v4code.types import Preview, ToolOutput, ToolSummary

if TYPE_CHECKING:
    from v4code.toolkit import ToolContext

__all__ = ["ChangeSet", "FileChange", "changes_summary"]


@dataclass(frozen=True)
class ChangeSet:
    """A batch of changes plus the text the model gets once it has been applied."""

    changes: tuple[FileChange, ...]
    summary: str
    tool: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes)

    def unified_diff(self) -> str:
        return "".join(c.unified_diff() for c in self.changes)

    def preview(self) -> Preview:
        """What the approval shows: one diff for the whole batch and its files."""
        texts = tuple(
            (c.path, _text(c.before), _text(c.after)) for c in self.changes if not c.binary
        )
        return Preview(diff=self.unified_diff(), files=tuple(self.as_data()), texts=texts)

    def apply(self, ctx: ToolContext) -> ToolOutput:
        """Write the batch (re-checked, checkpointed in the context's store, atomic; through
        the editor when one shares its view of the files)."""
        store = ctx.checkpoints if isinstance(ctx.checkpoints, CheckpointStore) else None
        batch = apply_changeset(ctx.root, self, store, ctx.session_id, ctx.files)
        data = {"files": self.as_data(), "batch": batch}
        return ToolOutput(self.summary, data=data, changed=self.paths)

    def as_data(self) -> list[dict[str, Any]]:
        """Per-file structured form for frontends and `--output json` (fresh dicts, one diff)."""
        return [dict(entry) for entry in self._data]

    @cached_property
    def _data(self) -> list[dict[str, Any]]:
        out = []
        for c in self.changes:
            added, removed = c.counts()
            out.append(
                {
                    "path": c.path,
                    "status": c.status,
                    "diff": c.diff,
                    "additions": added,
                    "deletions": removed,
                    "binary": c.binary,
                    "mode_before": c.mode_before,
                    "mode_after": c.mode_after,
                }
            )
        return out


def _text(content: bytes | None) -> str | None:
    return None if content is None else content.decode("utf-8", errors="replace")


def changes_summary(verb: str, planned: Sequence[str], data: object) -> ToolSummary:
    """The line for an edit tool: `edit a.py, new.py (new) +4 -1` once applied, `edit a.py`
    before (or when it was refused)."""
    files = data.get("files") if isinstance(data, dict) else None
    files = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    if not files:
        return ToolSummary(f"{verb} {', '.join(planned)}".rstrip(), paths=tuple(planned))
    added = sum(int(f.get("additions") or 0) for f in files)
    removed = sum(int(f.get("deletions") or 0) for f in files)
    counts = " ".join(([f"+{added}"] if added else []) + ([f"-{removed}"] if removed else []))
    names = ", ".join(
        str(f.get("path", "?")) + (" (new)" if f.get("status") == "added" else "") for f in files
    )
    paths = tuple(str(f.get("path")) for f in files if f.get("path"))
    return ToolSummary(
        f"{verb} {names} {counts or '+0 -0'}",
        paths=paths or tuple(planned),
        counts={"files": len(files), "additions": added, "deletions": removed},
    )
