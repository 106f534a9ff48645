"""Events: the only thing frontends see of the agent, and what backends stream to the agent.

Each event is a small frozen dataclass with a `kind` tag so the headless frontend can serialise
any of them to JSON without knowing the type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePath
from typing import Any, ClassVar, Union

from v4code.types import ToolCall, ToolResult, ToolSummary, Usage

# --- what a backend yields while one response streams -------------------------------------


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    kind: ClassVar[str] = "reasoning_delta"
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    kind: ClassVar[str] = "text_delta"
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A complete tool call, emitted once its arguments have fully arrived."""

    kind: ClassVar[str] = "tool_call"
    call: ToolCall
    leaked: bool = False  # recovered from text the engine failed to parse


@dataclass(frozen=True, slots=True)
class UsageChunk:
    """The token counts the server reported for one response (the agent prices them and
    yields `UsageReported`)."""

    kind: ClassVar[str] = "usage"
    usage: Usage


@dataclass(frozen=True, slots=True)
class StreamFinish:
    kind: ClassVar[str] = "finish"
    finish_reason: str
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Retrying:
    """The backend is waiting before it tries a failed request again."""

    kind: ClassVar[str] = "retrying"
    attempt: int
    delay: float
    reason: str


StreamEvent = Union[ReasoningDelta, TextDelta, ToolCallReady, UsageChunk, StreamFinish, Retrying]

# --- what the agent yields to frontends --------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnStarted:
    kind: ClassVar[str] = "turn_started"
    session_id: str
    prompt: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    kind: ClassVar[str] = "step_started"
    step: int


@dataclass(frozen=True, slots=True)
class ToolStarted:
    """A call is about to run; `summary` is its tool's one-line description (no result yet)."""

    kind: ClassVar[str] = "tool_started"
    call: ToolCall
    args: dict[str, Any] | None = None
    summary: ToolSummary | None = None


@dataclass(frozen=True, slots=True)
class ToolFinished:
    kind: ClassVar[str] = "tool_finished"
    call: ToolCall
    result: ToolResult
    denied: bool = False
    summary: ToolSummary | None = None  # described again with the result (counts, lines)


@dataclass(frozen=True, slots=True)
class UsageReported:
    """Usage of one model request plus its cost and the running session totals (the agent's
    event; the backend's is `UsageChunk`)."""

    kind: ClassVar[str] = "usage_reported"
    usage: Usage
    cost: float
    total_usage: Usage
    total_cost: float
    model: str | None = None
    priced: bool = True  # False: no price is known for the model, `cost` is 0 for want of one
    estimated: bool = False  # an interrupted response's: counted from what streamed (≈)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the person should know that is not an error (a retry, a compaction)."""

    kind: ClassVar[str] = "notice"
    text: str


@dataclass(frozen=True, slots=True)
class ModelSwitched:
    """The session moved to another model from the next request on: an escalation of `auto`
    (`signal`: edit_refused, tests_failing, repeated_call, escalate) or a fallback (overloaded,
    model_not_served). The new model's prefix cache is cold: the next prompt is a miss."""

    kind: ClassVar[str] = "model_switched"
    from_model: str
    to_model: str
    signal: str
    reason: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    kind: ClassVar[str] = "error"
    message: str
    category: str = "error"


@dataclass(frozen=True, slots=True)
class PlanUpdated:
    """The model's todo list changed: every item, in order, each a dict with `step` and
    `status` (pending, in_progress, done)."""

    kind: ClassVar[str] = "plan_updated"
    items: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class PlanProposed:
    """Plan mode's result, waiting for the person's yes: the steps (the todo list), the files
    the model expects to touch, how it will check the result, and a short summary."""

    kind: ClassVar[str] = "plan_proposed"
    items: tuple[dict[str, str], ...]
    files: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True, slots=True)
class SubagentStarted:
    """A child agent took a brief (the `task` tool): `child` is the id of the call that
    started it, `name` the named agent or "task", `model` the model it runs on."""

    kind: ClassVar[str] = "subagent_started"
    child: str
    name: str
    brief: str
    model: str


@dataclass(frozen=True, slots=True)
class SubagentProgress:
    """What a running child is doing now (its latest tool line, or "thinking…") and what it
    has cost so far: the chat's live line for it."""

    kind: ClassVar[str] = "subagent_progress"
    child: str
    name: str
    doing: str
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class SubagentFinished:
    """A child ended: how (a turn status), its steps, tokens and cost. The agent adds them to
    the turn's and the session's totals and says the new totals in `total_usage` and
    `total_cost` (as `UsageReported` does for its own requests)."""

    kind: ClassVar[str] = "subagent_finished"
    child: str
    name: str
    model: str
    status: str
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    priced: bool = True
    reason: str = ""
    files_changed: tuple[str, ...] = ()
    brief: str = ""  # its first line, as SubagentStarted said it
    total_usage: Usage | None = None
    total_cost: float | None = None


@dataclass(frozen=True, slots=True)
class DiagnosticsFound:
    """A language server looked at the files an edit batch touched: the errors they have
    now that they did not have before (`calc.py:12: "totl" is not defined`), and what kept
    the check from being complete (a server that did not answer in time)."""

    kind: ClassVar[str] = "diagnostics"
    call_id: str
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """The turn is over. `status` is one of: done, failed, limit, denied, interrupted, error."""

    kind: ClassVar[str] = "turn_finished"
    status: str
    final_text: str = ""
    reason: str = ""
    steps: int = 0
    files_changed: tuple[str, ...] = field(default_factory=tuple)


Event = Union[
    TurnStarted,
    StepStarted,
    ReasoningDelta,
    TextDelta,
    ToolStarted,
    ToolFinished,
    UsageReported,
    Notice,
    Retrying,
    ModelSwitched,
    ErrorEvent,
    PlanUpdated,
    PlanProposed,
    SubagentStarted,
    SubagentProgress,
    SubagentFinished,
    DiagnosticsFound,
    TurnFinished,
]


def event_to_dict(event: Event | StreamEvent) -> dict[str, Any]:
    """JSON-ready form of any event, tagged with its kind: its fields through `jsonable`, so
    a tool's validated arguments (pydantic models such as update_plan's items) come out as
    the objects the model sent, not as their repr."""
    data = {f.name: jsonable(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return {"type": event.kind, **data}


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data, for every place that serialises event or tool data (the
    details view, jsonl, the session log, hooks, an editor): a tool's arguments are what
    its signature validated them into, so they may hold pydantic models, dataclasses, paths,
    enums and sets, which `json.dumps` refuses (or, with `default=str`, turns into a repr).
    Anything else unknown becomes its `str`, so serialising never fails."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)  # a pydantic model (a tool's argument type)
    if callable(dump) and not isinstance(value, type):
        return jsonable(dump(mode="json"))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
