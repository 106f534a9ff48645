"""The seams between the agent and the outside world, as typing Protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from v4code.cancel import CancelToken
from v4code.events import StreamEvent
from v4code.toolkit import Proposal
from v4code.types import ChatRequest, Preview, ToolCall

__all__ = ["Approval", "ApprovalRequest", "Approver", "Backend", "Proposal"]


class Backend(Protocol):
    """The model connection: one streamed response per request."""

    def stream(
        self, request: ChatRequest, cancel: CancelToken, deadline: float | None = None
    ) -> Iterator[StreamEvent]:
        """Stream one model response; raise BackendError when it cannot be had, and
        DeadlineExceeded once `deadline` (a time.monotonic() value) passes."""
        ...

    def list_models(self, timeout: float = 5.0) -> list[str] | None:
        """The model IDs the server lists; None when it lists none or cannot be asked now."""
        ...

    def warm_up(self) -> None:
        """Get ready for the first request (build the client) while the person types."""
        ...

    def close(self) -> None:
        """Let go of the connection; a later request opens a new one."""
        ...


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
