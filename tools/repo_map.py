"""repo_map: the files that matter for a question, with their definitions' signatures."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError
from v4code.repomap.api import focused_map
from v4code.textio import counted
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary

MAX_TOKENS = 8000
"""The most one call may ask for: a map is an overview, not a dump of the repository."""


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`repo map 'invoice totals' 12 files`."""
    focus = args.get("focus")
    label = "repo map" + (f" {focus[:60]!r}" if isinstance(focus, str) and focus else "")
    counts = {}
    if isinstance(data, dict) and "files" in data:
        counts["files"] = int(data["files"])
        label += f" {counted(counts['files'], 'file')}"
    return ToolSummary(label, counts=counts)


@tool(risk="read", summary=_summary)
def repo_map(ctx: ToolContext, focus: str | None = None, max_tokens: int = 2000) -> ToolOutput:
    """Map the repository: the files most relevant to `focus`, each with its classes,
    functions and methods as signatures with line ranges (no bodies).

    Use this first to find where to look, instead of listing directories or grepping for
    words: it ranks files by the names, paths, identifiers and error messages in `focus`
    (a task, an issue, a traceback) and by how the code references itself. Without a focus
    it shows the repository's most-used files. Then read only the line ranges you need.

    Args:
        focus: What you are looking for, in words or code: a task, an error message, names.
        max_tokens: Size of the map (about 4 characters a token; at most 8000).
    """
    if max_tokens < 100:
        raise ToolError(f"max_tokens must be 100 or more, not {max_tokens}.")
    budget = min(max_tokens, MAX_TOKENS)
    secret = ctx.secret_files  # the user's globs too
    found = focused_map(ctx.root, focus, budget, cancel=ctx.cancel, secret_files=secret)
    text = found.text
    files = sum(1 for line in text.splitlines() if line and not line.startswith(" "))
    if not text:
        return ToolOutput("No source files to map in this workspace.", data={"files": 0})
    if found.focus_missed:  # the model should know these are not matches for its words
        text = f"No file matches the focus; the most-used files instead:\n{text}"
    return ToolOutput(cap_output(text, ctx.output_cap), data={"files": files})
