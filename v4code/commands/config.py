"""`v4code config show`: the effective settings and where each one came from."""

from __future__ import annotations

import click

from v4code.commands import say


@click.group("config")
def config_group() -> None:
    """Show the effective settings."""


@config_group.command("show")
def config_show() -> None:
    """Print every setting, its value and where it came from (the API key redacted)."""
    from v4code.ui.settings_table import settings_lines
    from v4code.workspace import workspace_root

    lines = settings_lines(workspace_root())
    for line in lines:
        say(line)
