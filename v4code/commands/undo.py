"""`v4code undo`: restore the files of the last batch of edits, or list the batches."""

from __future__ import annotations

from pathlib import Path

import click


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
    from v4code.edits.undo import batches_text, undo_last_batch

    if show_list:
        click.echo(batches_text(workspace, session, every))
        return
    from v4code.notes import undo_note
    from v4code.sessions import leave_note

    report = undo_last_batch(workspace, session, force)
    click.echo(report.render())
    note = undo_note(report)
    if note and report.batch is not None:  # the model hears of it when the session goes on
        leave_note(Path(report.batch.root), report.batch.session_id, note)
    if not report.ok:
        raise SystemExit(1)
