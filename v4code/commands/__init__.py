"""The click commands under `v4code`, one module per command group.

Each module is imported only when its command runs or shows its own help (see the lazy group
in `v4code.cli`); a callback parses flags and calls the part of v4code that does the work.
Options several commands share are declared once, in `options`; a `V4codeError` a command
raises is said in one line by the root group (`fail`), never caught command by command.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from v4code.errors import V4codeError
from v4code.say import say

__all__ = ["fail", "say", "session_flags"]


def fail(exc: V4codeError) -> NoReturn:
    """Say what went wrong in one line and exit with the error's documented code."""
    say(f"v4code: {exc.message}", err=True)
    sys.exit(exc.exit_code)


def session_flags(**flags: Any) -> dict[str, Any]:
    """The command line's layer for `load_settings`: `--effort none` means thinking off."""
    effort = flags.get("effort")
    if effort is not None and effort.lower() == "none":
        flags.update(thinking=False, effort=None)
    return flags
