"""Review output: grouped, coloured text for people; JSON; SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import groupby
from typing import Any

import click

from v4code import __version__
from v4code.pricing import format_cost
from v4code.review.findings import Finding, counts
from v4code.review.runner import ReviewResult
from v4code.textio import counted, one_line, shown_lines

COLOURS = {"blocker": "red", "major": "yellow", "minor": "cyan", "nit": "blue"}
SARIF_LEVEL = {"blocker": "error", "major": "error", "minor": "warning", "nit": "note"}
OUTSIDE_LEVEL = "note"  # a finding away from the change never gates, so it is never an error
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _tally(c: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in c.items() if n)


def summary_line(result: ReviewResult) -> str:
    """`1 blocker, 1 nit in 2 files; 1 minor outside the change`: what gates comes first,
    and a finding listed above is always counted somewhere."""
    on_change = _tally(counts(result.findings))
    outside = _tally(counts(result.findings, "outside"))
    if on_change:
        found = on_change
    else:
        found = "nothing on the changed lines" if outside else "no findings"
    found += f" in {counted(len(result.files), 'file')}"
    if outside:
        found += f"; {outside} outside the change"
    cost = "cached, no API call" if result.cached else format_cost(result.cost)
    return f"v4code review: {found} ({cost}, {result.seconds:.1f} s)"


def nothing_to_review(result: ReviewResult) -> str:
    """The line for a review with no file to look at (nothing staged, or all skipped)."""
    described = one_line(result.description)  # `review PATH...` names the paths
    if result.skipped:
        return f"v4code review: nothing to review (every changed file is skipped: {described})"
    if result.description == "staged changes":  # said once, not "nothing is staged: staged ..."
        return "v4code review: nothing to review (nothing is staged)"
    return f"v4code review: nothing to review (no changes: {described})"


def render_text(result: ReviewResult, *, colour: bool) -> str:
    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if colour else text

    lines: list[str] = []
    if not result.files:
        lines.extend(style(f"skipped {one_line(p)} ({why})", dim=True) for p, why in result.skipped)
        return "\n".join([*lines, nothing_to_review(result)]) + "\n"
    by_path = sorted(result.findings, key=lambda f: (f.path, f.outside_diff, f.line))
    for path, group in groupby(by_path, key=lambda f: f.path):
        lines.append(style(one_line(path), bold=True))  # a name from the diff, kept on its line
        for f in group:
            lines.extend(_finding_lines(f, style))
        lines.append("")
    for path, why in result.skipped:
        lines.append(style(f"skipped {one_line(path)} ({why})", dim=True))
    for note in result.notes:
        lines.append(style(f"note: {one_line(note)}", dim=True))
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def _finding_lines(f: Finding, style: Callable[..., str]) -> list[str]:
    tag = style(f"{f.severity:<7}", fg=COLOURS.get(f.severity), bold=f.severity == "blocker")
    head = f"  {f.line:>5}  {tag}  {one_line(f.category)}: {shown_lines(f.message.strip())}"
    if f.outside_diff:
        head += style("  (outside the change)", dim=True)
    lines = [head]
    for i, text in enumerate(shown_lines(f.suggestion.strip()).splitlines()):
        lines.append(style(("          → " if i == 0 else "            ") + text, dim=True))
    return lines


def render_json(result: ReviewResult, exit_code: int, fail_on: str = "blocker") -> str:
    data = {
        "target": result.description,
        "files": result.files,
        "findings": [f.to_dict() for f in result.findings],
        "counts": counts(result.findings, "all"),
        "changed_lines": counts(result.findings),
        "outside_diff": sum(1 for f in result.findings if f.outside_diff),
        "summary": result.summaries,
        "skipped": [{"path": p, "reason": r} for p, r in result.skipped],
        "notes": result.notes,
        "cached": result.cached,
        "model": result.model,
        "usage": result.usage,
        "cost_usd": round(result.cost, 6),
        "seconds": round(result.seconds, 3),
        "fail_on": fail_on,
        "exit_code": exit_code,
    }
    return json.dumps(data, indent=2) + "\n"


def render_sarif(result: ReviewResult) -> str:
    """A SARIF 2.1.0 log: one rule per finding category, one result per finding."""
    categories = sorted({f.category for f in result.findings})
    rules = [
        {"id": c, "name": c, "shortDescription": {"text": f"v4code review: {c}"}}
        for c in categories
    ]
    driver = {"name": "v4code", "version": __version__, "rules": rules}
    notes = [f"skipped {p} ({why})" for p, why in result.skipped] + result.notes
    run = {
        "tool": {"driver": driver},
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": text}} for text in notes
                ],
            }
        ],
        "results": [_sarif_result(f, categories.index(f.category)) for f in result.findings],
        "properties": {"target": result.description, "model": result.model},
    }
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2) + "\n"


def _sarif_result(f: Finding, rule_index: int) -> dict[str, Any]:
    from urllib.parse import quote

    text = f.message.strip() + (f"\n\nSuggestion: {f.suggestion.strip()}" if f.suggestion else "")
    return {
        "ruleId": f.category,
        "ruleIndex": rule_index,
        "level": OUTSIDE_LEVEL if f.outside_diff else SARIF_LEVEL[f.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(f.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(f.line, 1)},
                }
            }
        ],
        "properties": {"severity": f.severity, "outsideDiff": f.outside_diff},
    }
