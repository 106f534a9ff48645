"""User-facing errors and loop-control exceptions.

Every V4codeError carries a message a person can act on and an exit code the headless
frontend returns; nothing else should reach a user as a traceback.
"""

from __future__ import annotations


class ExitCode:
    """Documented exit codes of `v4code run` (README lists them)."""

    DONE = 0
    FAILED = 1
    USAGE = 2
    BACKEND = 3
    LIMIT = 4
    DENIED = 5
    INTERRUPTED = 130


class V4codeError(Exception):
    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(V4codeError):
    exit_code = ExitCode.USAGE


class NotARepository(ConfigError):
    """A command that reads a git repository was run outside one."""


FALLBACK_CAUSES = ("overloaded", "model_not_served")
"""`BackendError.cause` values a fallback model may help with: the model overloaded (429 or 503
after the retries) or no longer served. A `model_switched` event's `signal` is one of these
when the switch was a fallback (an escalation's is not)."""


class BackendError(V4codeError):
    """The model endpoint failed in a way retrying will not fix (or retries ran out)."""

    exit_code = ExitCode.BACKEND

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        cause: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.cause = cause  # one of FALLBACK_CAUSES, or ""


class DeadlineExceeded(BackendError):
    """The caller's deadline (e.g. `--max-time`) passed while waiting on the model endpoint.

    Raised from inside a response: every event streamed before it has already been yielded,
    so nothing is lost. A BackendError, so a caller that does not know it still ends cleanly.
    """

    exit_code = ExitCode.LIMIT

    def __init__(self, message: str = "the time limit ran out while waiting for the model") -> None:
        super().__init__(message)


class ToolError(Exception):
    """Raised by a tool to send an error result (the message) back to the model."""


class WorkspaceError(ToolError, V4codeError):
    """A path that resolves outside the workspace, or is otherwise unusable.

    A ToolError, so a tool's bad path goes back to the model; a V4codeError too, so a
    frontend that meets one (an @-mention in the chat, a command's argument) says it in one
    line like every other error a person can act on, instead of ending in a traceback."""


class Cancelled(Exception):
    """The person pressed Ctrl-C (or a caller cancelled); unwinds to the agent loop."""
