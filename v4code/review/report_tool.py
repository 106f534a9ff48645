"""The `report_findings` tool the review model answers through (pydantic: imported lazily)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from v4code.review.findings import Finding
from v4code.toolkit import Tool, ToolContext, ToolOutput, build_tool

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
