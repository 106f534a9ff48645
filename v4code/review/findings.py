"""Findings and where they sit in the diff; no heavy imports (the cache-hit path uses it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SEVERITIES = ("blocker", "major", "minor", "nit")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    severity: str
    category: str
    message: str
    suggestion: str = ""
    outside_diff: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def place(findings: list[Finding], changed: dict[str, set[int]], slack: int = 3) -> list[Finding]:
    """Keep findings on the reviewed files; mark those not near a changed line.

    A finding a few lines from a change still concerns it (the model often points at the line
    above); further away it is kept but marked, and never gates a commit.
    """
    placed = []
    for f in findings:
        path = f.path.removeprefix("b/").removeprefix("./")
        lines = changed.get(path)
        if lines is None:
            continue
        near = any(abs(f.line - n) <= slack for n in lines)
        placed.append(
            Finding(path, f.line, f.severity, f.category, f.message, f.suggestion, not near)
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(placed, key=lambda f: (f.outside_diff, order.get(f.severity, 9), f.path, f.line))


def gating(findings: list[Finding], fail_on: str) -> list[Finding]:
    """Findings on changed lines at or above the `fail_on` severity."""
    limit = SEVERITIES.index(fail_on)
    return [f for f in findings if not f.outside_diff and SEVERITIES.index(f.severity) <= limit]
