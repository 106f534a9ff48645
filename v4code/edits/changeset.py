"""A ChangeSet is a batch of file changes computed in memory, shown for approval, then applied.

Edit tools never write: they return a ChangeSet, a proposal (v4code.protocols.Proposal). The
tool-call pipeline asks the permission policy (and the person, with `preview()`: the diff and
the files) and only then calls `apply()`, which writes atomically with a checkpoint (apply.py),
so a rejected proposal changes nothing on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from v4code.diffs import unified_diff
from v4code.textio import is_binary
from v4code.types import Preview, ToolOutput, ToolSummary

if TYPE_CHECKING:
    from v4code.toolkit import ToolContext


@dataclass(frozen=True)
class FileChange:
    """One file's change. `before is None`: created; `after is None`: deleted."""

    path: str  # workspace-relative, POSIX separators
    before: bytes | None
    after: bytes | None
    mode_before: int | None = None
    mode_after: int | None = None

    @property
    def status(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "deleted"
        return "modified"

    @property
    def binary(self) -> bool:
        return is_binary(self.before) or is_binary(self.after)

    def counts(self) -> tuple[int, int]:
        """(lines added, lines removed), 0 for binary files."""
        if self.binary:
            return 0, 0
        added = removed = 0
        for line in self.diff.splitlines()[2:]:  # the same +/- lines at any context size
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        return added, removed

    @cached_property
    def diff(self) -> str:
        """The diff with three lines of context, made once (files may be large)."""
        return unified_diff(self.path, self.before, self.after, status=self.status)

    def unified_diff(self, context: int = 3) -> str:
        if context == 3:
            return self.diff
        return unified_diff(self.path, self.before, self.after, context=context, status=self.status)


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
        return Preview(diff=self.unified_diff(), files=tuple(self.as_data()))

    def apply(self, ctx: ToolContext) -> ToolOutput:
        """Write the batch (re-checked, checkpointed in the context's store, atomic)."""
        from v4code.edits.apply import apply_changeset

        batch = apply_changeset(ctx.root, self, ctx.checkpoints, ctx.session_id)
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


def changes_summary(verb: str, planned: Sequence[str], data: Any) -> ToolSummary:
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
