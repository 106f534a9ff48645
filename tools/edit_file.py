"""Tool: replace one piece of text in a file (the agent's most used edit)."""

from __future__ import annotations

from typing import Any

from v4code.edits.changeset import ChangeSet, changes_summary
from v4code.edits.operations import Edit, prepare_edits
from v4code.toolkit import ToolContext, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    return changes_summary("edit", [args["path"]], data)


@tool(risk="edit", summary=_summary)
def edit_file(
    ctx: ToolContext, path: str, old_string: str, new_string: str, replace_all: bool = False
) -> ChangeSet:
    """Replace text in a file. old_string must occur in the file exactly once.

    Copy old_string from the file as it is now, with enough surrounding lines to make it
    unique. When it does not match exactly, the edit is retried ignoring trailing whitespace,
    then indentation (new_string is re-indented the same way), then typographic quotes and
    dashes, each only if it finds exactly one place; otherwise the edit is refused and the
    nearest candidates are shown with line numbers. The file keeps its line endings, encoding,
    final newline and permissions. With an empty old_string, a file that does not exist yet
    (or is empty) is created with new_string as its content.

    Args:
        path: File path relative to the workspace root.
        old_string: The exact text to replace; it must differ from new_string.
        new_string: The text to put in its place.
        replace_all: Replace every occurrence of old_string instead of requiring exactly one.
    """
    edit = Edit(path, old_string, new_string, replace_all)
    return prepare_edits(ctx.root, [edit], "edit_file", ctx.files)
