"""Review output: grouped, coloured text for people; JSON; SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

import click

from v4code import __version__
from v4code.pricing import format_cost
from v4code.review.findings import SEVERITIES, Finding
from v4code.review.runner import ReviewResult

COLOURS = {"blocker": "red", "major": "yellow", "minor": "cyan", "nit": "white"}
SARIF_LEVEL = {"blocker": "error", "major": "error", "minor": "warning", "nit": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def counts(findings: list[Finding]) -> dict[str, int]:
    return {
        s: sum(1 for f in findings if f.severity == s and not f.outside_diff) for s in SEVERITIES
    }


def summary_line(result: ReviewResult) -> str:
    c = counts(result.findings)
    parts = [f"{n} {s}" for s, n in c.items() if n]
    found = ", ".join(parts) if parts else "no findings"
    cost = "cached, no API call" if result.cached else format_cost(result.cost)
    return f"v4code review: {found} in {len(result.files)} file(s) ({cost}, {result.seconds:.1f} s)"


def render_text(result: ReviewResult, *, colour: bool) -> str:
    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if colour else text

    lines: list[str] = []
    for path, group in groupby(
        sorted(result.findings, key=lambda f: (f.path, f.line)), key=lambda f: f.path
    ):
        lines.append(style(path, bold=True))
        for f in group:
            tag = style(
                f"{f.severity:<7}", fg=COLOURS.get(f.severity), bold=f.severity == "blocker"
            )
            where = f"  {f.line:>5}  {tag} {f.category}: {f.message}"
            if f.outside_diff:
                where += style("  (outside the change)", dim=True)
            lines.append(where)
            if f.suggestion:
                for i, text in enumerate(f.suggestion.strip().splitlines()):
                    lines.append(
                        style(
                            f"{'' if i else '         → '}{'' if not i else '           '}{text}",
                            dim=True,
                        )
                    )
        lines.append("")
    for path, why in result.skipped:
        lines.append(style(f"skipped {path} ({why})", dim=True))
    for note in result.notes:
        lines.append(style(f"note: {note}", dim=True))
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def render_json(result: ReviewResult, exit_code: int) -> str:
    data = {
        "target": result.description,
        "files": result.files,
        "findings": [f.to_dict() for f in result.findings],
        "counts": counts(result.findings),
        "summary": result.summaries,
        "skipped": [{"path": p, "reason": r} for p, r in result.skipped],
        "notes": result.notes,
        "cached": result.cached,
        "model": result.model,
        "usage": result.usage.to_dict(),
        "cost_usd": round(result.cost, 6),
        "seconds": round(result.seconds, 3),
        "exit_code": exit_code,
    }
    return json.dumps(data, indent=2) + "\n"


def render_sarif(result: ReviewResult) -> str:
    categories = sorted({f.category for f in result.findings})
    rules = [
        {"id": c, "name": c, "shortDescription": {"text": f"v4code review: {c}"}}
        for c in categories
    ]
    results = []
    for f in result.findings:
        text = f.message + (f"\n\nSuggestion: {f.suggestion}" if f.suggestion else "")
        results.append(
            {
                "ruleId": f.category,
                "ruleIndex": categories.index(f.category),
                "level": SARIF_LEVEL.get(f.severity, "warning"),
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": max(f.line, 1)},
                        }
                    }
                ],
                "properties": {"severity": f.severity, "outsideDiff": f.outside_diff},
            }
        )
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "v4code",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"
