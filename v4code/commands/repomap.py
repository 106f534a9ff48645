"""`v4code map` and `v4code locate`: the repository as the ranker sees it, for people and
scripts (batch jobs read `locate --json`)."""

from __future__ import annotations

import sys

import click

from v4code.commands import options


@click.command("map")
@click.option("--focus", default=None, help="Rank for this task or text (default: most-used).")
@click.option(
    "--tokens",
    type=click.IntRange(min=50),
    default=2048,
    show_default=True,
    help="Size of the map in tokens (about 4 characters each).",
)
@options.cwd("Run in this repository.")
def map_command(focus: str | None, tokens: int, cwd: str | None) -> None:
    """Print the repo map: the files that matter most with their definitions' signatures.

    With --focus the files are ranked for that text (a task, an issue); without it, the
    files the rest of the code uses most come first.
    """
    from v4code.repomap.cli_entry import TerminalProgress, print_map

    root = _root("map", cwd)
    progress = TerminalProgress()
    try:
        print_map(root, focus, tokens, progress=progress, secret_files=_secret_files(root))
    finally:  # the progress line is gone before any error is said
        progress.finish()


@click.command("locate")
@click.argument("text")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many files to list.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"files": [{path, score, why}]}.')
@options.cwd("Run in this repository.")
def locate_command(text: str, top: int, as_json: bool, cwd: str | None) -> None:
    """Rank the repository's files for TEXT (a task or an issue; `-` reads it from stdin).

    Each file comes with its score (1.0 for the best) and why it ranks there: the paths,
    names and words of TEXT it matches. Paths are relative to the repository root.
    """
    from v4code.repomap.cli_entry import TerminalProgress, print_locate

    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise click.UsageError("TEXT is empty: say what the task is about.")
    root = _root("locate", cwd)
    progress = TerminalProgress()
    try:
        print_locate(
            root, text, top, as_json=as_json, progress=progress, secret_files=_secret_files(root)
        )
    finally:
        progress.finish()


def _root(command: str, cwd: str | None) -> str:
    """The git top level containing `cwd` (or the current folder); outside a repository
    the command stops with one line (exit 2) instead of indexing every file below."""
    from pathlib import Path

    from v4code.workspace import repository_root

    return str(repository_root(command, Path(cwd) if cwd is not None else None))


def _secret_files(root: str) -> tuple[str, ...]:
    """The user's own `secret_files` globs: such files are known by name only, as in a session."""
    from pathlib import Path

    from v4code.config import load_settings

    return tuple(load_settings(Path(root)).settings.secret_files)
