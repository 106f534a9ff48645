"""Tool: delete a file (undoable like every edit)."""

from __future__ import annotations

from typing import Any

from v4code.edits.changeset import ChangeSet
from v4code.edits.operations import prepare_delete
from v4code.toolkit import ToolContext, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    return ToolSummary(f"delete {args['path']}", paths=(args["path"],))


@tool(risk="edit", summary=_summary)
def delete_file(ctx: ToolContext, path: str) -> ChangeSet:
    """Delete one file in the workspace (not a directory). It can be restored with undo.

    Args:
        path: Path of the file to delete, relative to the workspace root.
    """
    return prepare_delete(ctx.root, path, files=ctx.files)
