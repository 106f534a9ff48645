"""The model's todo list and plan mode: what the session keeps of both, what the model is told.

The list is written whole by the `update_plan` tool (tools/update_plan.py); plan mode ends with
`propose_plan` (tools/propose_plan.py), whose steps become the list. `PlanBook.watch` is a
watcher the agent calls after every tool call: the loop records and yields the events it
returns (`plan_updated`, `plan_proposed`) and knows nothing of plans. The policy's `planning`
flag is what turns effects away while planning (safety/permissions.py), so the tool list and
the system prompt never change: plan mode is said to the model in a message of the history.

Entering plan mode and the person's answer are session log records (`plan_mode`,
`plan_answer`); with `plan_updated` and `plan_proposed` they let `restore` rebuild the list,
the phase and a plan still waiting for its answer when a session is resumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from v4code.events import Event, PlanProposed, PlanUpdated, ToolFinished
from v4code.safety.permissions import PROPOSE_PLAN, PermissionPolicy
from v4code.sessions import SessionLog
from v4code.textio import one_line

UPDATE_PLAN = "update_plan"
STATUSES = ("pending", "in_progress", "done")
MARKS = {"done": "[x]", "in_progress": "[>]", "pending": "[ ]"}

PLAN_MODE_NOTE = (
    "Plan mode: the user wants a plan before any change. Explore with the reading and search "
    "tools and the repo map; edits and commands are refused until the user approves. Keep the "
    "steps with update_plan, then call propose_plan with the steps, the files you expect to "
    "touch and how you will check the result, and stop there."
)
PLAN_MODE_OFF_NOTE = "Plan mode is off: edits and commands run under the permission mode again."

Item = dict[str, str]


def todo_lines(items: Sequence[Item]) -> list[str]:
    """The list compact, one line per item: `[x] done`, `[>] current`, `[ ] pending`."""
    return [f"{MARKS.get(i.get('status', ''), '[ ]')} {one_line(i.get('step', ''))}" for i in items]


def plan_lines(plan: PlanProposed) -> list[str]:
    """A proposed plan as the person reads it before answering."""
    lines = ["Plan" + (f": {one_line(plan.summary)}" if plan.summary else "")]
    lines += [f"  {n}. {one_line(i.get('step', ''))}" for n, i in enumerate(plan.items, 1)]
    if plan.files:
        lines.append("Files: " + ", ".join(map(one_line, plan.files)))
    if plan.checks:
        lines.append("Check: " + "; ".join(map(one_line, plan.checks)))
    return lines


def plan_dict(plan: PlanProposed) -> dict[str, Any]:
    """The plan as `run -o json` carries it."""
    return {
        "summary": plan.summary,
        "steps": [i.get("step", "") for i in plan.items],
        "files": list(plan.files),
        "checks": list(plan.checks),
    }


def _items(data: object) -> tuple[Item, ...] | None:
    todo = data.get("todo") if isinstance(data, dict) else None
    if not isinstance(todo, list):
        return None
    return tuple(
        {"step": str(i.get("step", "")), "status": str(i.get("status", "pending"))}
        for i in todo
        if isinstance(i, dict)
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()


@dataclass
class PlanBook:
    """The session's todo list, whether it is planning, and a plan waiting for its answer."""

    policy: PermissionPolicy
    session: SessionLog
    items: tuple[Item, ...] = ()
    proposal: PlanProposed | None = None

    @property
    def planning(self) -> bool:
        return self.policy.planning

    def watch(self, finished: ToolFinished) -> list[Event]:
        """The agent's watcher: a todo list written or a plan proposed becomes an event."""
        name = finished.call.name
        if name not in (UPDATE_PLAN, PROPOSE_PLAN) or finished.result.is_error:
            return []
        data = finished.result.data
        items = _items(data)
        if items is None:
            return []
        self.items = items
        events: list[Event] = [PlanUpdated(items)]
        if name == PROPOSE_PLAN and isinstance(data, dict):
            files, checks = _strings(data.get("files")), _strings(data.get("checks"))
            self.proposal = PlanProposed(items, files, checks, str(data.get("summary") or ""))
            events.append(self.proposal)
        return events

    def start(self) -> str:
        """Plan mode on; the note the model gets before the next message."""
        self.policy.planning = True
        self.session.event({"type": "plan_mode", "planning": True})
        return PLAN_MODE_NOTE

    def stop(self) -> str:
        """Plan mode off without a plan carried out (the person changed their mind)."""
        self.policy.planning = False
        self.proposal = None
        self.session.event({"type": "plan_mode", "planning": False})
        return PLAN_MODE_OFF_NOTE

    def approve(self, mode: str) -> str:
        """The person's yes: planning ends; the message that starts carrying the plan out."""
        self.policy.planning = False
        self.proposal = None
        self._answer({"approved": True, "mode": mode})
        return (
            "Yes: carry out the plan. Plan mode is over; edits and commands now run under the "
            f"{mode} permission mode. Keep the todo list current with update_plan as you go."
        )

    def reject(self, reason: str) -> str:
        """The person's no and why: still planning; the message that asks for a new plan."""
        self.proposal = None
        self._answer({"approved": False, "reason": reason})
        why = reason.strip() or "no reason given"
        return (
            f"No, revise the plan. My reason: {why}. It is still plan mode: explore more if "
            "you need to, then call propose_plan again."
        )

    def _answer(self, answer: dict[str, Any]) -> None:
        self.session.event({"type": "plan_answer", **answer})

    def for_model(self) -> str:
        """What compaction keeps verbatim: the list as it stands, and plan mode if on."""
        parts = []
        if self.items:
            parts.append(
                "Your todo list (update_plan), as it stands:\n" + "\n".join(todo_lines(self.items))
            )
        if self.planning:
            parts.append(PLAN_MODE_NOTE)
        return "\n\n".join(parts)

    def restore(self, events: Iterable[dict[str, Any]]) -> None:
        """Rebuild the list, the phase and a pending plan from a saved session's events."""
        for event in events:
            kind = event.get("type")
            if kind == "plan_updated" and isinstance(event.get("items"), list):
                self.items = _items({"todo": event["items"]}) or ()
            elif kind == "plan_proposed" and isinstance(event.get("items"), list):
                items = _items({"todo": event["items"]}) or ()
                files, checks = _strings(event.get("files")), _strings(event.get("checks"))
                self.proposal = PlanProposed(items, files, checks, str(event.get("summary") or ""))
            elif kind == "plan_mode":
                self.policy.planning = bool(event.get("planning"))
                self.proposal = None if not self.policy.planning else self.proposal
            elif kind == "plan_answer":
                self.proposal = None
                if event.get("approved"):
                    self.policy.planning = False
