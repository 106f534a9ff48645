"""`v4code undo`: restore the files of the last batch of edits, or list the batches.

Wired into the main CLI as a subcommand; it needs no model, so it imports nothing heavy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the store is imported when the command runs, not for `v4code --help`
    from v4code.edits.checkpoints import CheckpointStore, UndoPoint


def find_workspace(store: CheckpointStore, start: Path) -> Path:
    """The workspace v4code edited that contains `start` (nearest first); else `start`."""
    here = Path(os.path.realpath(start))
    for candidate in (here, *here.parents):
        if store.undo_points(candidate):
            return candidate
    return here


def _state(batch: UndoPoint) -> str:
    if batch.undone is not None:
        return "undone"
    return "applied" if batch.state == "applied" else "interrupted"


def format_batches(batches: list[UndoPoint], latest: str | None) -> str:
    """A table of undo points (edit batches and commands), grouped by session, oldest first."""
    if not batches:
        return "No batches."
    lines: list[str] = []
    sessions: list[str] = []
    for b in batches:
        if b.session_id not in sessions:
            sessions.append(b.session_id)
    for session in sessions:
        tag = " (latest)" if session == latest else ""
        lines.append(f"Session {session or '(none)'}{tag}:")
        lines.append(f"  {'ID':<22}  {'TIME':<19}  {'TOOL':<12}  {'STATE':<11}  FILES")
        for b in (b for b in batches if b.session_id == session):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(b.created))
            files = ", ".join(b.paths) if hasattr(b, "paths") else b.summary
            lines.append(f"  {b.id:<22}  {when:<19}  {b.tool or '-':<12}  {_state(b):<11}  {files}")
    return "\n".join(lines)


def list_text(store: CheckpointStore, root: Path, session: str | None, every: bool) -> str:
    latest = store.latest_session(root)
    chosen = None if every else (session if session is not None else latest)
    batches = store.undo_points(root, chosen)
    if not batches:
        return f"v4code has recorded no edits or commands in {root}."
    return f"Undo points in {root} (edit batches and commands):\n" + format_batches(batches, latest)


@click.command("undo")
@click.option("--list", "show_list", is_flag=True, help="List the batches instead of undoing.")
@click.option("--all", "every", is_flag=True, help="With --list: every session, not only one.")
@click.option("--session", "session", metavar="ID", help="Undo (or list) this session's batches.")
@click.option("--force", is_flag=True, help="Restore files even if they changed since.")
@click.option(
    "-C",
    "--workspace",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="The workspace (default: the one containing the current directory).",
)
def undo_command(
    show_list: bool, every: bool, session: str | None, force: bool, workspace: Path
) -> None:
    """Restore the files of the last batch of edits (of the latest session by default).

    A file that changed since v4code wrote it is not touched: undo shows how it differs and
    exits with status 1 (--force restores it anyway).
    """
    from v4code.edits.checkpoints import default_store

    store = default_store()
    root = find_workspace(store, workspace)
    if show_list:
        click.echo(list_text(store, root, session, every))
        return
    report = store.undo_last(root, session, force=force)
    click.echo(report.render())
    if not report.ok:
        raise SystemExit(1)
