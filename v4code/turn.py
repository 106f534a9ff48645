"""The state of one turn: the reply being streamed, the limits, repeated calls, what changed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from v4code.config import Settings
from v4code.events import (
    Event,
    ReasoningDelta,
    StreamEvent,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    ToolFinished,
    UsageChunk,
)
from v4code.pricing import format_cost
from v4code.types import Message, ToolCall, Usage

LOGGED_EVENT_KINDS = frozenset(
    {
        "turn_started",
        "tool_started",
        "tool_finished",
        "usage_reported",
        "notice",
        "retrying",
        "model_switched",
        "error",
        "plan_updated",
        "plan_proposed",
        "subagent_started",
        "subagent_finished",
        "diagnostics",
        "turn_finished",
    }
)
"""The agent events the session log keeps (deltas are not: the messages hold their text)."""

Watcher = Callable[[ToolFinished], list[Event]]
"""Sees each finished tool call and answers with events about it (the todo list's
`plan_updated`); the agent records and yields them without knowing what they mean."""


@dataclass
class Reply:
    """One streamed assistant reply being assembled."""

    reasoning: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: Usage | None = None

    def add(self, event: StreamEvent) -> None:
        """Take one streamed piece into the reply."""
        if isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ToolCallReady):
            self.calls.append(event.call)
        elif isinstance(event, UsageChunk):
            self.usage = event.usage
        elif isinstance(event, StreamFinish):
            self.finish_reason, self.model = event.finish_reason, event.model

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
    started: float = 0.0  # the agent's clock when the turn began
    spent_before: float = 0.0  # the session's cost then
    deadline: float | None = None  # time.monotonic() when --max-time runs out (the backend's)
    steps: int = 0
    denied: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    last_call_key: tuple[str, str] | None = None
    repeats: int = 0
    ended_by_tool: bool = False
    compaction_skipped: bool = False
    partial_text: str = ""  # the text of a reply a limit cut short
    request: str = ""  # the person's words that started the turn (a compaction keeps them)

    @classmethod
    def begin(cls, settings: Settings, now: float, total_cost: float) -> TurnState:
        limit = settings.max_time
        deadline = None if limit is None else time.monotonic() + limit
        return cls(started=now, spent_before=total_cost, deadline=deadline)

    def check_limits(
        self,
        settings: Settings,
        now: float,
        total_cost: float,
        next_prompt: float | None = None,
    ) -> None:
        """Raise StopTurn when the next step would pass a step, cost or time limit;
        `next_prompt` is the estimated cost of the next request's prompt alone."""
        s = settings
        elapsed, spent = now - self.started, total_cost - self.spent_before
        if self.steps >= s.max_steps:
            raise StopTurn("limit", f"step limit reached ({s.max_steps} steps)")
        self.check_cost(s, total_cost)
        if s.max_cost is not None and next_prompt is not None and spent + next_prompt > s.max_cost:
            raise StopTurn(
                "limit",
                f"cost limit: the next request would cost about {format_cost(next_prompt)} "
                f"with {format_cost(spent)} of {format_cost(s.max_cost)} spent",
            )
        if s.max_time is not None and elapsed >= s.max_time:
            raise StopTurn("limit", f"time limit reached ({elapsed:.0f} s of {s.max_time:.0f} s)")

    def check_time(self, settings: Settings) -> None:
        """Raise StopTurn once the time limit's deadline passed (between a step's calls)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            limit = settings.max_time or 0.0
            raise StopTurn("limit", f"time limit reached ({limit:.0f} s)")

    def check_cost(self, settings: Settings, total_cost: float) -> None:
        spent = total_cost - self.spent_before
        if settings.max_cost is not None and spent >= settings.max_cost:
            limit = format_cost(settings.max_cost)
            raise StopTurn("limit", f"cost limit reached ({format_cost(spent)} of {limit})")

    def repeated(self, call: ToolCall, limit: int) -> bool:
        """Count identical calls in a row; True once the model is stuck in a loop."""
        key = (call.name, _canonical(call.arguments))
        self.repeats = self.repeats + 1 if key == self.last_call_key else 1
        self.last_call_key = key
        return self.repeats >= limit

    def new_model(self) -> None:
        """Another model takes over (an escalation, a fallback): it starts its own count of
        repeated calls. The old model's repeats are what escalated; counting them against the
        new one would end the run on its first call when it retries what the old one did."""
        self.last_call_key = None
        self.repeats = 0

    def repeat_reason(self, call: ToolCall) -> str:
        return f"the model called {call.name} with the same arguments {self.repeats} times in a row"


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        return arguments
