"""v4code: a terminal coding agent for DeepSeek V4.

The Python API (`v4code.api`) is reached from here lazily: `import v4code` loads none of the
session machinery, so the command line's start-up stays what it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from v4code.api import (
        Approval,
        ApprovalRequest,
        AsyncSession,
        AsyncTurn,
        Result,
        Session,
        Turn,
        open_session,
        open_session_async,
    )
    from v4code.errors import ConfigError, V4codeError

_ERRORS = frozenset({"ConfigError", "V4codeError"})

__all__ = [
    "Approval",
    "ApprovalRequest",
    "AsyncSession",
    "AsyncTurn",
    "ConfigError",
    "Result",
    "Session",
    "Turn",
    "V4codeError",
    "__version__",
    "open_session",
    "open_session_async",
]


def __getattr__(name: str) -> Any:
    """`v4code.open_session`, the API's types and its errors, imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'v4code' has no attribute {name!r}")
    if name in _ERRORS:
        from v4code import errors

        return getattr(errors, name)
    from v4code import api

    return getattr(api, name)
