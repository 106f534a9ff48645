"""One file's change, the unit every edit is made of, and what a batch of them must offer.

The data below the edit tools, the apply step and the checkpoint store alike: a FileChange is
what a tool computed, what the person approves, what `apply.py` writes and what `checkpoints.py`
records, so each of them reads it from here and none of them needs the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

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


class ChangeBatch(Protocol):
    """What applying and recording a batch reads (a changeset.ChangeSet is one)."""

    @property
    def changes(self) -> tuple[FileChange, ...]: ...

    @property
    def summary(self) -> str: ...

    @property
    def tool(self) -> str: ...
