"""Tool: several replacements across files, validated together and applied all-or-nothing."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from v4code.edits.changeset import ChangeSet, changes_summary
from v4code.edits.operations import Edit, prepare_edits
from v4code.toolkit import ToolContext, tool
from v4code.types import ToolSummary


class EditSpec(BaseModel):
    """One replacement: the same fields as edit_file."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File path relative to the workspace root.")
    old_string: str = Field(description="The exact text to replace (empty: create the file).")
    new_string: str = Field(description="The text to put in its place.")
    replace_all: bool = Field(
        default=False, description="Replace every occurrence instead of requiring exactly one."
    )


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`edit a.py, b.py +4 -1`: one line for the whole batch."""
    paths = {e.get("path", "?") if isinstance(e, dict) else e.path for e in args["edits"]}
    return changes_summary("edit", sorted(paths), data)


@tool(risk="edit", summary=_summary)
def apply_edits(ctx: ToolContext, edits: list[EditSpec]) -> ChangeSet:
    """Apply several edits across one or more files as one batch: all of them or none.

    Each edit works like edit_file. Edits to the same file apply in the order given, each on
    the result of the ones before. Every edit is checked before anything is written; if any
    fails to match, no file changes and the reply says which edit failed and why.

    Args:
        edits: The edits, in order.
    """
    specs = [Edit(e.path, e.old_string, e.new_string, e.replace_all) for e in edits]
    return prepare_edits(ctx.root, specs, "apply_edits", ctx.files)
