"""What `v4code batch` shows a person: progress lines, the status table, the report, results.

Exit codes of `batch run` / `retry`: 0 every unit green, 1 some unit red or in error (or
left pending by the run's --max-cost), 130 interrupted (resume with `--resume RUN_DIR`).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from v4code.cancel import CancelToken
from v4code.errors import ExitCode
from v4code.jobs import runner
from v4code.jobs.manifest import read_manifest
from v4code.jobs.state import RunDir, UnitState
from v4code.jobs.unit import RunOptions
from v4code.textio import one_line, shown_lines

_print_lock = threading.Lock()


def _say(text: str, err: bool = False) -> None:
    """A line for a person, through the one display sanitiser: unit reasons, paths and
    git's words cannot drive the terminal or reorder the line (textio.shown_lines)."""
    click.echo(shown_lines(text), err=err)


def _progress(state: UnitState) -> None:
    line = f"  {state.id}: {state.status}"
    if state.status not in ("running", "pending"):
        line += f" ({state.duration_s:.1f} s, ${state.cost_usd:.4f})"
    if state.reason:
        line += f" — {one_line(state.reason)}"
    with _print_lock:
        _say(line, err=True)


def _drive(run_dir: RunDir, options: RunOptions, only: set[str] | None) -> int:
    units = runner.select(run_dir, only)
    _say(f"v4code batch: run {run_dir.run_id} in {run_dir.path}", err=True)
    _say(f"  {len(units)} units to run, {options.jobs} at a time", err=True)
    cancel = CancelToken()
    try:
        with run_dir.driving():
            states = runner.execute(run_dir, options, units, cancel, _progress)
    except KeyboardInterrupt:
        _say(
            f"v4code batch: interrupted; continue with `v4code batch run --resume {run_dir.path}`",
            err=True,
        )
        return ExitCode.INTERRUPTED
    green = sum(1 for s in states if s.status == "green")
    _say(
        f"v4code batch: {green} of {len(states)} units green; `v4code batch report {run_dir.path}`",
        err=True,
    )
    _say(str(run_dir.path))
    return ExitCode.DONE if green == len(states) else ExitCode.FAILED


def start_run(manifest: Path, out: Path | None, flags: dict[str, Any]) -> int:
    options = RunOptions(**{k: v for k, v in flags.items() if v is not None})
    run_dir = runner.create_run(read_manifest(manifest), options, out)
    return _drive(run_dir, options, None)


def resume_run(path: Path) -> int:
    run_dir = RunDir(path)
    return _drive(run_dir, runner.saved_options(run_dir), None)


def retry_run(path: Path, only: str) -> int:
    run_dir = RunDir(path)
    return _drive(run_dir, runner.saved_options(run_dir), runner.parse_only(only))


def show_status(path: Path, watch: bool | None) -> None:
    from rich.console import Console
    from rich.live import Live

    from v4code.jobs.report import status_table

    run_dir = RunDir(path)
    jobs = runner.saved_options(run_dir).jobs
    console = Console()
    if watch is None:
        watch = console.is_terminal
    if not watch:
        console.print(status_table(run_dir, jobs))
        return
    with Live(status_table(run_dir, jobs), console=console, refresh_per_second=2) as live:
        while run_dir.is_driven():
            time.sleep(0.5)
            live.update(status_table(run_dir, jobs))
        live.update(status_table(run_dir, jobs))


def show_report(path: Path, fmt: str) -> None:
    from v4code.jobs.report import summary, to_json, to_markdown

    data = summary(RunDir(path))
    if fmt == "json":
        sys.stdout.write(to_json(data))
    elif fmt == "md":
        sys.stdout.write(shown_lines(to_markdown(data)))
    else:
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(shown_lines(to_markdown(data))))


def apply_run(path: Path, only: str, into: str | None, patch_dir: Path | None) -> int:
    from v4code.jobs.apply import apply_into, write_patches

    run_dir = RunDir(path)
    if patch_dir is not None:
        result = write_patches(run_dir, patch_dir, only)
        for patch in result.patches:
            _say(str(patch))
        return ExitCode.DONE
    branch = into or runner.branch_name(run_dir.run_id, "applied")
    result = apply_into(run_dir, branch, only)
    for uid in result.applied:
        _say(f"applied {uid}")
    for uid, why in result.conflicts.items():
        _say(f"conflict {uid}: {one_line(why)} (not applied)", err=True)  # names files
    _say(f"{len(result.applied)} units on branch {branch}; your checkout is unchanged")
    return ExitCode.FAILED if result.conflicts else ExitCode.DONE
