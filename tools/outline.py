"""outline: one file's structure with line ranges, without its bodies."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError, WorkspaceError
from v4code.repomap import outline as file_outline
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`outline src/app.py 14 definitions`."""
    label = f"outline {args['path']}"
    counts = {}
    if isinstance(data, dict) and "definitions" in data:
        counts["definitions"] = n = int(data["definitions"])
        label += f" {n} definition{'' if n == 1 else 's'}"
    return ToolSummary(label, paths=(args["path"],), counts=counts)


@tool(risk="read", summary=_summary)
def outline(ctx: ToolContext, path: str) -> ToolOutput:
    """Show a source file's structure: its classes, functions and methods with their
    signatures and line ranges, nested by class, without the bodies.

    Much cheaper than reading a whole file: outline a large file first, then read_file only
    the line range of the definition you need.

    Args:
        path: Path of the file, relative to the workspace root.
    """
    real = ctx.resolve(path, must_exist=True)
    if real.is_dir():
        raise ToolError(f"{path} is a directory; outline takes a file (list_files shows one).")
    try:
        text = file_outline(ctx.root, path)
    except WorkspaceError as exc:
        raise ToolError(str(exc)) from exc
    count = sum(1 for line in text.splitlines()[1:] if line[:1] == " " and "-" in line)
    if text.endswith("(no definitions found)"):
        count = 0
    return ToolOutput(cap_output(text, ctx.output_cap), data={"definitions": count})
