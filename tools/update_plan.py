"""update_plan: the model's todo list for the task, written whole on every call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from v4code.errors import ToolError
from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary

MAX_ITEMS = 50


class TodoItem(BaseModel):
    """One step of the list."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(description="What to do, in one short line.")
    status: Literal["pending", "in_progress", "done"] = Field(
        description="pending, in_progress (the one being worked on now) or done."
    )


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`todo 2/5 done`."""
    items = data.get("todo") if isinstance(data, dict) else args.get("items")
    items = items if isinstance(items, list) else []
    done = sum(1 for i in items if _status(i) == "done")
    return ToolSummary(f"todo {done}/{len(items)} done")


def _status(item: object) -> str:
    return str(item.get("status") if isinstance(item, dict) else getattr(item, "status", ""))


def check_items(items: list[TodoItem]) -> list[dict[str, str]]:
    """The list as plain data, or a ToolError the model can act on."""
    if len(items) > MAX_ITEMS:
        raise ToolError(f"The todo list has {len(items)} items; keep it to {MAX_ITEMS} or fewer.")
    if sum(1 for i in items if i.status == "in_progress") > 1:
        raise ToolError("Only one item may be in_progress at a time; mark the others pending.")
    if any(not i.step.strip() for i in items):
        raise ToolError("Every item needs a step (a short line saying what to do).")
    return [{"step": " ".join(i.step.split()), "status": i.status} for i in items]


@tool(risk="read", summary=_summary)
def update_plan(ctx: ToolContext, items: list[TodoItem]) -> ToolOutput:
    """Keep a todo list for the task: send the whole list each time it changes.

    Use it for work of several steps: write the steps first, mark the one you start
    in_progress (only one at a time), mark each done as soon as it is, and add steps you
    discover. The user sees the list as it changes. It is allowed in every mode, plan mode too.

    Args:
        items: The whole list, in order (an empty list clears it).
    """
    todo = check_items(items)
    done = sum(1 for i in todo if i["status"] == "done")
    return ToolOutput(f"Todo list updated ({done} of {len(todo)} done).", data={"todo": todo})
