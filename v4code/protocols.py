"""The seams between the agent and the outside world, as typing Protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from v4code.cancel import CancelToken
from v4code.events import StreamEvent
from v4code.types import ChatRequest, ToolCall


class Backend(Protocol):
    def stream(self, request: ChatRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        """Stream one model response; raise BackendError when it cannot be had."""
        ...


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person (or a policy) is asked to allow: an edit batch or a command."""

    tool: str
    call: ToolCall
    args: dict[str, Any]
    risk: str
    diff: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    command: str | None = None
    cwd: str | None = None
    sandboxed: bool = False
    guard_reason: str | None = None  # why the command needs a yes in every mode (destructive)


@dataclass(frozen=True)
class Approval:
    """The answer. `remember`: "tool" allows this tool for the session, "prefix" this command prefix."""

    allowed: bool
    reason: str | None = None
    remember: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Approver(Protocol):
    def decide(self, request: ApprovalRequest) -> Approval: ...
