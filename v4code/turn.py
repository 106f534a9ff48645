"""The state of one turn: the reply being streamed, the limits, repeated calls, what changed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from v4code.config import Settings
from v4code.types import Message, ToolCall

LOGGED_EVENT_KINDS = frozenset(
    {
        "turn_started",
        "tool_started",
        "tool_finished",
        "usage_reported",
        "notice",
        "retrying",
        "error",
        "turn_finished",
    }
)
"""The agent events the session log keeps (deltas are not: the messages hold their text)."""


@dataclass
class Reply:
    """One streamed assistant reply being assembled."""

    reasoning: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None

    def message(self, with_calls: bool = True) -> Message:
        return Message(
            role="assistant",
            content="".join(self.text),
            reasoning_content="".join(self.reasoning),
            tool_calls=tuple(self.calls) if with_calls else (),
        )

    @property
    def empty(self) -> bool:
        return not (self.reasoning or self.text or self.calls)


class StopTurn(Exception):
    """Ends a turn early with a status (limit, failed) and the reason the person sees."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class TurnState:
    steps: int = 0
    denied: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    last_call_key: tuple[str, str] | None = None
    repeats: int = 0
    ended_by_tool: bool = False
    compaction_skipped: bool = False

    def check_limits(self, settings: Settings, elapsed: float, spent: float) -> None:
        """Raise StopTurn when the next step would pass a step, cost or time limit."""
        s = settings
        if self.steps >= s.max_steps:
            raise StopTurn("limit", f"step limit reached ({s.max_steps} steps)")
        if s.max_cost is not None and spent >= s.max_cost:
            raise StopTurn("limit", f"cost limit reached (${spent:.4f} of ${s.max_cost:.4f})")
        if s.max_time is not None and elapsed >= s.max_time:
            raise StopTurn("limit", f"time limit reached ({elapsed:.0f} s of {s.max_time:.0f} s)")

    def repeated(self, call: ToolCall, limit: int) -> bool:
        """Count identical calls in a row; True once the model is stuck in a loop."""
        key = (call.name, _canonical(call.arguments))
        self.repeats = self.repeats + 1 if key == self.last_call_key else 1
        self.last_call_key = key
        return self.repeats >= limit

    def repeat_reason(self, call: ToolCall) -> str:
        return f"the model called {call.name} with the same arguments {self.repeats} times in a row"


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        return arguments
