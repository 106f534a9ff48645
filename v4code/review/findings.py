"""Findings and where they sit in the diff; no heavy imports (the cache-hit path uses it).

The `report_findings` tool the model answers through is in `report_tool.py`: it needs
pydantic, which a cache hit must not pay for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SEVERITIES = ("blocker", "major", "minor", "nit")
NEAR_LINES = 3  # a finding this close to a changed line still concerns the change


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


def _match_path(path: str, changed: dict[str, set[int]]) -> str | None:
    """The reviewed file a model-given path means (`b/x.py`, `./x.py`, or a unique suffix)."""
    clean = path.strip().replace("\\", "/")
    for prefix in ("a/", "b/", "./", "/"):
        if clean.startswith(prefix) and clean[len(prefix) :] in changed:
            return clean[len(prefix) :]
    if clean in changed:
        return clean
    tails = [p for p in changed if p.endswith("/" + clean.lstrip("/"))]
    return tails[0] if len(tails) == 1 else None


def place(
    findings: list[Finding], changed: dict[str, set[int]], slack: int = NEAR_LINES
) -> list[Finding]:
    """Keep findings on the reviewed files, each once; mark those away from the change.

    A finding on another file is dropped (the model may only judge what it was shown). One a
    few lines from a change still concerns it (models often point at the line above); further
    away it is kept but marked "outside the change", and never gates a commit.
    """
    placed: dict[tuple[str, int, str, str], Finding] = {}
    for f in findings:
        path = _match_path(f.path, changed)
        if path is None or f.severity not in SEVERITIES:
            continue
        line = max(int(f.line), 0)
        near = any(abs(line - n) <= slack for n in changed[path])
        key = (path, line, f.severity, f.message.strip())
        placed.setdefault(
            key,
            Finding(path, line, f.severity, f.category, f.message, f.suggestion, not near),
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(
        placed.values(), key=lambda f: (f.outside_diff, order[f.severity], f.path, f.line)
    )


def gating(findings: list[Finding], fail_on: str) -> list[Finding]:
    """Findings on the changed lines at or above the `fail_on` severity."""
    limit = SEVERITIES.index(fail_on)
    return [f for f in findings if not f.outside_diff and SEVERITIES.index(f.severity) <= limit]


def counts(findings: list[Finding], where: str = "changed") -> dict[str, int]:
    """Findings per severity: on the changed lines (what gates), "outside" the change, or
    "all" of them."""
    chosen = [f for f in findings if where == "all" or f.outside_diff == (where == "outside")]
    return {s: sum(1 for f in chosen if f.severity == s) for s in SEVERITIES}
