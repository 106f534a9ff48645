"""`v4code lsp status`: which language servers are configured, found, and would run here."""

from __future__ import annotations

import click

from v4code.commands import say


@click.group("lsp")
def lsp_group() -> None:
    """Show which language servers check edits here (configured, installed, would run)."""


@lsp_group.command("status")
def status_command() -> None:
    """One line per language: the server configured (or the default), whether it is
    installed, and whether a session in this workspace would run it."""
    from v4code.config import load_settings
    from v4code.lsp.status import status_lines
    from v4code.workspace import workspace_root

    root = workspace_root()
    for line in status_lines(load_settings(root).settings, root):
        say(line)
