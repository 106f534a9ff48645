"""An in-process Backend that replays scripted replies: for agent-loop tests without sockets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v4code.agent import Agent
from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.conversation import Conversation
from v4code.errors import BackendError
from v4code.events import (
    ReasoningDelta,
    StreamEvent,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    TurnFinished,
    UsageChunk,
)
from v4code.protocols import Approval, ApprovalRequest, Approver
from v4code.sessions import SessionLog
from v4code.toolkit import ToolRegistry
from v4code.types import ChatRequest, Message, ToolCall, Usage

Reply = (
    list[StreamEvent] | Callable[[ChatRequest, CancelToken], Iterator[StreamEvent]] | BackendError
)


def reply(
    text: str = "",
    *,
    reasoning: str = "",
    calls: list[tuple[str, Any]] = (),
    usage: Usage | None = None,
) -> list[StreamEvent]:  # type: ignore[assignment]
    events: list[StreamEvent] = []
    if reasoning:
        events.append(ReasoningDelta(reasoning))
    if text:
        events.append(TextDelta(text))
    for i, (name, args) in enumerate(calls):
        raw = args if isinstance(args, str) else json.dumps(args)
        events.append(ToolCallReady(ToolCall(f"call_{i}_{name}", name, raw)))
    events.append(
        UsageChunk(usage or Usage(prompt_tokens=100, completion_tokens=10, cache_miss_tokens=100))
    )
    events.append(StreamFinish("tool_calls" if calls else "stop", "deepseek-v4-pro"))
    return events


@dataclass
class ScriptedBackend:
    replies: list[Reply]
    requests: list[ChatRequest] = field(default_factory=list)

    def stream(
        self, request: ChatRequest, cancel: CancelToken, deadline: float | None = None
    ) -> Iterator[StreamEvent]:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("the scripted backend ran out of replies")
        item = self.replies.pop(0)
        if isinstance(item, BackendError):
            raise item
        if callable(item):
            yield from item(request, cancel)
            return
        for event in item:
            cancel.raise_if_cancelled()
            yield event

    def list_models(self, timeout: float = 5.0) -> list[str] | None:
        """No list: any model name is taken as given."""
        return None

    def warm_up(self) -> None:
        """Nothing to build: the replies are at hand."""

    def close(self) -> None:
        """Nothing to let go of."""


class Recorder:
    """An Approver that gives one fixed answer and keeps every request it was asked."""

    def __init__(self, answer: Approval) -> None:
        self.answer = answer
        self.requests: list[ApprovalRequest] = []

    def decide(self, request: ApprovalRequest) -> Approval:
        self.requests.append(request)
        return self.answer


def scripted_agent(
    root: Path,
    backend: ScriptedBackend,
    registry: ToolRegistry,
    settings: Settings,
    approver: Approver | None = None,
    session: SessionLog | None = None,
    **options: Any,
) -> Agent:
    """An Agent in `root` over a scripted backend, with the system prompt "sys".

    Every call is approved unless `approver` says otherwise; the session is a fresh log in
    `root` unless the test prepared one. `options` are Agent's other keywords (before_apply, ...).
    """
    return Agent(
        settings=settings,
        backend=backend,
        registry=registry,
        root=root,
        conversation=Conversation(Message("system", "sys")),
        session=session or SessionLog.create(root, {"model": "m"}),
        approver=approver or Recorder(Approval(True)),
        **options,
    )


def finish(events: list) -> TurnFinished:
    """The turn's last event, which must be its TurnFinished."""
    assert isinstance(events[-1], TurnFinished)
    return events[-1]


def tool_results(agent: Agent) -> list[str]:
    """The tool results the model was given, in order."""
    return [m.content or "" for m in agent.conversation.history if m.role == "tool"]
