"""`v4code undo`: undo the last edit batch or command v4code ran, or list the undo points."""

from __future__ import annotations

from pathlib import Path

import click

from v4code.commands import options, say


@click.command("undo")
@click.option("--list", "show_list", is_flag=True, help="List the undo points instead of undoing.")
@click.option("--all", "every", is_flag=True, help="With --list: every session, not only one.")
@click.option("--session", "session", metavar="ID", help="Undo (or list) this session's batches.")
@click.option("--force", is_flag=True, help="Restore files even if they changed since.")
@options.cwd(
    "Work in this directory instead of the current one (its workspace's undo points).",
    "--workspace",
    dest="workspace",
    path_type=Path,
    default=".",
)
def undo_command(
    show_list: bool, every: bool, session: str | None, force: bool, workspace: Path
) -> None:
    """Undo the last edit batch or command v4code ran (in the latest session).

    Edits are restored as they were before the batch; a command's changes as the tree was
    before it ran (files ignored by git are not snapshotted). A file that changed since is
    not touched: undo shows how it differs and exits with status 1 (--force restores it).
    """
    from v4code.edits.undo import batches_text, undo_last_batch

    if show_list:
        say(batches_text(workspace, session, every))
        return
    from v4code.notes import undo_note
    from v4code.sessions import leave_note

    report = undo_last_batch(workspace, session, force)
    say(report.render())
    note = undo_note(report)
    if note and report.batch is not None:  # the model hears of it when the session goes on
        leave_note(Path(report.batch.root), report.batch.session_id, note)
    if not report.ok:
        raise SystemExit(1)
