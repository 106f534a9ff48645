"""task: hand a self-contained sub-task to a child agent and get back its report."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError
from v4code.textio import one_line
from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`task (reviewer) find where the config is loaded`."""
    who = args.get("agent") or ""
    brief = one_line(str(args.get("brief") or ""))
    label = f"task ({who}) {brief}" if who else f"task {brief}"
    return ToolSummary(label[:120])


@tool(risk="read", summary=_summary, parallel=True)
def task(ctx: ToolContext, brief: str, agent: str | None = None) -> ToolOutput:
    """Hand a self-contained sub-task to a sub-agent with a fresh context; get its report back.

    The sub-agent sees only the brief (not this conversation), works with read-only tools
    unless a named agent says otherwise, and answers with a concise report. Use it for
    independent pieces of exploration or review; several task calls in one step run at the
    same time. Sub-agents cannot start sub-agents.

    Args:
        brief: Everything the sub-agent needs: the goal, where to look, what to report.
        agent: A named agent to run the brief (omit for the default read-only one).
    """
    if ctx.agents is None:
        raise ToolError("Sub-agents are not available here: do this part yourself.")
    report = ctx.agents.start(brief, ctx.cancel, agent=agent, child=ctx.call_id)
    return ToolOutput(report, data={"agent": agent or "task"})
