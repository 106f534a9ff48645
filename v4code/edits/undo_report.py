"""What an undo did, and the text a person (or the model) is shown for it.

Both kinds of undo point report the same way (restored, already as before, refused with the
changes a forced undo would lose), so `/undo`, `v4code undo` and the model's note read one type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from v4code.edits.records import SnapshotRecord, UndoPoint
from v4code.textio import one_line, shown_lines


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
