"""A ChangeSet is a batch of file changes computed in memory, shown for approval, then applied.

Edit tools never write: they return a ChangeSet. The agent asks the permission policy (and
the person, with the diff) and only then applies it, atomically and with a checkpoint, so a
rejected proposal changes nothing on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from v4code.diffs import unified_diff
from v4code.textio import is_binary


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
        for line in self.unified_diff(context=0).splitlines()[2:]:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        return added, removed

    def unified_diff(self, context: int = 3) -> str:
        return unified_diff(self.path, self.before, self.after, context=context, status=self.status)


@dataclass(frozen=True)
class ChangeSet:
    """A batch of changes plus the text the model gets once it has been applied."""

    changes: tuple[FileChange, ...]
    summary: str
    tool: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes)

    def unified_diff(self) -> str:
        return "".join(c.unified_diff() for c in self.changes)

    def as_data(self) -> list[dict[str, Any]]:
        """Per-file structured form for frontends and `--output json`."""
        out = []
        for c in self.changes:
            added, removed = c.counts()
            out.append(
                {
                    "path": c.path,
                    "status": c.status,
                    "diff": c.unified_diff(),
                    "additions": added,
                    "deletions": removed,
                    "binary": c.binary,
                    "mode_before": c.mode_before,
                    "mode_after": c.mode_after,
                }
            )
        return out
