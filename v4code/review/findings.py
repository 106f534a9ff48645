"""Findings: what the model reports through `report_findings`, checked against the diff."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from v4code.toolkit import Tool, ToolContext, ToolOutput, build_tool

SEVERITIES = ("blocker", "major", "minor", "nit")
Severity = Literal["blocker", "major", "minor", "nit"]


class FindingSpec(BaseModel):
    """One problem in the change."""

    path: str = Field(description="File path as shown in the diff.")
    line: int = Field(description="Line number in the new version of the file.")
    severity: Severity = Field(
        description="blocker: must not be committed (bug, data loss, security hole, broken build); "
        "major: likely bug or serious maintainability problem; minor: worth fixing; nit: style."
    )
    category: str = Field(
        description="One word: bug, security, performance, correctness, style, tests, docs, ..."
    )
    message: str = Field(description="What is wrong and why, in one or two sentences.")
    suggestion: str = Field(default="", description="How to fix it (code or words); may be empty.")


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


class FindingsCollector:
    """Holds what report_findings received; the tool is built per review run."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.summary = ""
        self.reported = False

    def tool(self) -> Tool:
        collector = self

        def report_findings(
            ctx: ToolContext, findings: list[FindingSpec], summary: str = ""
        ) -> ToolOutput:
            """Report the review's result. Call it exactly once, at the end, with every finding
            (an empty list when the change is fine).

            Args:
                findings: The problems found in the changed lines, most severe first.
                summary: One sentence on the change as a whole.
            """
            collector.reported = True
            collector.summary = summary
            collector.findings.extend(
                Finding(f.path, f.line, f.severity, f.category, f.message, f.suggestion)
                for f in findings
            )
            return ToolOutput(
                f"Recorded {len(findings)} findings. The review is complete.", ends_turn=True
            )

        return build_tool(report_findings, "read")


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
