"""The seams between the agent and the outside world, as typing Protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from v4code.cancel import CancelToken
from v4code.events import StreamEvent
from v4code.types import ChatRequest, Preview, ToolCall, ToolOutput

if TYPE_CHECKING:
    from v4code.toolkit import ToolContext


class Backend(Protocol):
    def stream(
        self, request: ChatRequest, cancel: CancelToken, deadline: float | None = None
    ) -> Iterator[StreamEvent]:
        """Stream one model response; raise BackendError when it cannot be had, and
        DeadlineExceeded once `deadline` (a time.monotonic() value) passes."""
        ...


@runtime_checkable
class Proposal(Protocol):
    """An effect a tool computed but has not carried out: an edit batch, a command, ...

    A tool whose effect may need approval returns one instead of acting. The agent shows
    `preview()` to the Approver when the permission policy says to ask, runs the before-apply
    hooks, then calls `apply()`, which does the work and returns what the model is told. The
    agent never looks further into it, so every kind of effect takes the same path.
    """

    def preview(self) -> Preview: ...

    def apply(self, ctx: ToolContext) -> ToolOutput: ...


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person (or a policy) is asked to allow: a proposal's preview, and why."""

    tool: str
    call: ToolCall
    args: dict[str, Any]
    risk: str
    preview: Preview = field(default_factory=Preview)
    note: str | None = None  # why a before-apply hook wants a person's yes
    guard_reason: str | None = None  # why the command needs a yes in every mode (destructive)

    @property
    def diff(self) -> str | None:
        return self.preview.diff

    @property
    def files(self) -> tuple[dict[str, Any], ...]:
        return self.preview.files

    @property
    def command(self) -> str | None:
        return self.preview.command

    @property
    def cwd(self) -> str | None:
        return self.preview.cwd

    @property
    def sandboxed(self) -> bool:
        return self.preview.sandboxed


@dataclass(frozen=True)
class Approval:
    """The answer. `remember`: "tool" allows this tool for the session, "prefix" this command prefix."""

    allowed: bool
    reason: str | None = None
    remember: str | None = None


class Approver(Protocol):
    def decide(self, request: ApprovalRequest) -> Approval: ...
