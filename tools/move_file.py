"""Tool: move or rename a file inside the workspace."""

from __future__ import annotations

from typing import Any

from v4code.edits.changeset import ChangeSet
from v4code.edits.operations import prepare_move
from v4code.toolkit import ToolContext, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    return ToolSummary(f"move {args['src']} -> {args['dst']}", paths=(args["src"], args["dst"]))


@tool(risk="edit", summary=_summary)
def move_file(ctx: ToolContext, src: str, dst: str) -> ChangeSet:
    """Move or rename a file inside the workspace. The destination must not exist yet.

    Missing destination directories are created; the file keeps its content and permissions.

    Args:
        src: Path of the file to move, relative to the workspace root.
        dst: Its new path, relative to the workspace root.
    """
    return prepare_move(ctx.root, src, dst, files=ctx.files)
