"""The click commands under `v4code`, one module per command group.

Each module is imported only when its command runs or shows its own help (see the lazy group
in `v4code.cli`); a callback parses flags and calls the part of v4code that does the work.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from v4code.choices import EFFORTS
from v4code.errors import V4codeError

EFFORT = click.Choice(EFFORTS, case_sensitive=False)
"""`--effort`'s type, for every command that takes it (the chat, run, review)."""


def say(text: str, err: bool = False) -> None:
    """A line for a person: every command's text output goes through here, so a server's
    model id or error, a file name or a hook's output printed in it cannot drive the terminal
    (escape sequences) or change how the line reads (bidi controls): see textio.shown_lines."""
    from v4code.textio import shown_lines

    click.echo(shown_lines(text), err=err)


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
