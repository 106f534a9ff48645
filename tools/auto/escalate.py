"""escalate: the model hands the task to the stronger model (sessions with `model = "auto"`).

Offered only in sessions started with `auto` (the tool list is fixed when a session starts,
so the cached prefix holds): the file sits apart from the tools every session gets. The
router (v4code.routing) sees the finished call and switches from the next request on.
"""

from __future__ import annotations

from typing import Any

from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: Any) -> ToolSummary:
    """`escalate: the failing test needs a design change`."""
    return ToolSummary(f"escalate: {args.get('reason', '')}".rstrip(": "))


@tool(risk="read", summary=_summary)
def escalate(ctx: ToolContext, reason: str) -> ToolOutput:
    """Hand this task to the stronger, slower model from your next step on, for the rest of
    the session. Use it when you are stuck: an edit keeps failing, a fix keeps not working,
    or the task needs deeper reasoning than you can give. Do not use it for routine work.

    Args:
        reason: In one sentence, why the stronger model is needed.
    """
    return ToolOutput(
        "The stronger model takes over from the next step. Continue with the task.",
        data={"reason": reason},
    )
