"""A line for a person on the terminal: every command and the batch frontend print through `say`.

Its text often carries what v4code does not control (a server's model id or error, a file
name, a hook's or git's output); `textio.shown_lines` makes sure none of it can drive the
terminal (escape sequences) or change how the line reads (bidi controls). Imports nothing
heavy, so `v4code --help` may reach it.
"""

from __future__ import annotations

import click

from v4code.textio import shown_lines


def say(text: str, err: bool = False) -> None:
    """Print `text` (several lines allowed) on stdout, or stderr with `err`, made safe to show."""
    click.echo(shown_lines(text), err=err)
