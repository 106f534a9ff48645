"""Tool: create a file, or replace a file's whole content."""

from __future__ import annotations

from typing import Any

from v4code.edits.changeset import ChangeSet, changes_summary
from v4code.edits.operations import prepare_write
from v4code.toolkit import ToolContext, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    return changes_summary("write", [args["path"]], data)


@tool(risk="edit", summary=_summary)
def write_file(ctx: ToolContext, path: str, content: str) -> ChangeSet:
    """Create a new file with the given content, creating missing directories.

    For an existing file this replaces its whole content; prefer edit_file or apply_edits for
    changes to part of a file. An existing file keeps its line endings, encoding, final newline
    and permissions.

    Args:
        path: File path relative to the workspace root.
        content: The complete content of the file.
    """
    return prepare_write(ctx.root, path, content, files=ctx.files)
