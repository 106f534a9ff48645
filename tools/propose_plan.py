"""propose_plan: plan mode's end, the plan the user answers yes or no to."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError
from v4code.textio import counted, one_line
from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary

MAX_STEPS = 50


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`plan 4 steps, 2 files`."""
    steps, files = args.get("steps") or [], args.get("files") or []
    label = f"plan {counted(len(steps), 'step')}, {counted(len(files), 'file')}"
    return ToolSummary(label, paths=tuple(files))


def _clean(values: list[str]) -> list[str]:
    return [one_line(" ".join(v.split())) for v in values if v.strip()]


@tool(risk="read", summary=_summary)
def propose_plan(
    ctx: ToolContext, steps: list[str], files: list[str], checks: list[str], summary: str = ""
) -> ToolOutput:
    """In plan mode: put the finished plan before the user, then stop and wait for the answer.

    The steps become your todo list. If the user says yes, carry it out (the mode allows
    edits and commands then) and keep the list current with update_plan; if no, their reason
    comes back and you revise the plan. Refused outside plan mode.

    Args:
        steps: The steps, in order, one short line each.
        files: The files you expect to create, change or delete (paths from the workspace root).
        checks: How you will check the result: commands to run, behaviour to look at.
        summary: One or two sentences on the approach.
    """
    steps = _clean(steps)
    if not steps:
        raise ToolError("A plan needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise ToolError(f"The plan has {len(steps)} steps; keep it to {MAX_STEPS} or fewer.")
    todo = [{"step": s, "status": "pending"} for s in steps]
    data = {"todo": todo, "files": _clean(files), "checks": _clean(checks), "summary": summary}
    text = "The plan is with the user. Stop here and wait for their answer."
    return ToolOutput(text, data=data, ends_turn=True)
