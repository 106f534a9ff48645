"""Tool: delete a file (undoable like every edit)."""

from __future__ import annotations

from v4code.edits.changeset import ChangeSet
from v4code.edits.operations import prepare_delete
from v4code.toolkit import ToolContext, tool


@tool(risk="edit")
def delete_file(ctx: ToolContext, path: str) -> ChangeSet:
    """Delete one file in the workspace (not a directory). It can be restored with undo.

    Args:
        path: Path of the file to delete, relative to the workspace root.
    """
    return prepare_delete(ctx.root, path)
