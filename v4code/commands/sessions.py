"""`v4code sessions`: this workspace's saved sessions, newest first."""

from __future__ import annotations

import click

from v4code.commands import say


@click.command("sessions")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many to list.",
)
@click.option("--all", "every", is_flag=True, help="Review and hook runs too, with their kind.")
def sessions_command(limit: int, every: bool) -> None:
    """List this workspace's saved sessions, newest first."""
    from v4code.ui.session_list import session_rows
    from v4code.workspace import workspace_root

    for row in session_rows(workspace_root(), limit, every=every):
        say(row)
