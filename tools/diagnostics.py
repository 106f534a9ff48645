"""diagnostics: a file's current errors, as the project's language server sees them."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError
from v4code.textio import counted
from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`diagnostics calc.py 2 errors`."""
    path = args.get("path") or ""
    label = f"diagnostics {path}".rstrip()
    counts = {}
    if isinstance(data, dict) and "errors" in data:
        counts["errors"] = n = int(data["errors"])
        label += f" {counted(n, 'error')}"
    return ToolSummary(label, paths=(path,) if path else (), counts=counts)


@tool(risk="read", summary=_summary)
def diagnostics(ctx: ToolContext, path: str | None = None) -> ToolOutput:
    """List the errors a language server (a type checker such as basedpyright) finds in a
    file now: undefined names, wrong arguments, bad imports, syntax errors.

    Edits already report the new errors they cause; use this to check a file before
    editing it, or after a command changed it. Without a path: the errors of every file
    the server has looked at in this session (the files edited so far).

    Args:
        path: Path of the file, relative to the workspace root; omit for every file
            looked at so far.
    """
    source = ctx.diagnostics
    if source is None:
        raise ToolError("No language server runs in this session, so there are no diagnostics.")
    target = ctx.root
    if path is not None:
        target = ctx.resolve(path, must_exist=True)
        if target.is_dir():
            raise ToolError(f"{path} is a directory; diagnostics takes a file.")
    lines = list(source.diagnostics(target, ctx.cancel))
    if not lines:
        return ToolOutput("No errors.", data={"errors": 0})
    count = len(lines)
    if lines[-1].startswith("... and "):  # a long list, cut: the last line counts the rest
        count += int(lines[-1].split()[2]) - 1
    return ToolOutput("\n".join(lines), data={"errors": count})
