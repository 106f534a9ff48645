"""What `v4code batch` shows a person: progress lines, the status table, the report, results.

Exit codes of `batch run` / `retry`: 0 every unit green, 1 some unit red, unchanged (its agent
changed nothing) or in error (or left pending by the run's --max-cost), 2 refused before
anything was spent (the sandbox cannot start, verify fails on the base commit, `--only` names
a unit the run does not have), 130 interrupted (resume with `--resume RUN_DIR`). A retry with
no unit to run ran nothing and failed nothing: 0, whatever the run's other units are.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from v4code.cancel import CancelToken
from v4code.errors import ConfigError, ExitCode
from v4code.jobs import attempts, runner
from v4code.jobs.manifest import Unit, read_manifest
from v4code.jobs.preflight import check_sandbox_for, verify_base
from v4code.jobs.state import STATUSES, RunDir, UnitState
from v4code.jobs.unit import RunOptions
from v4code.jobs.verify import Confinement, confinement
from v4code.say import say
from v4code.textio import counted, one_line, shown_lines

_print_lock = threading.Lock()


def _progress(state: UnitState) -> None:
    line = f"  {state.id}: {state.status}"
    if state.status not in ("running", "pending"):
        line += f" ({state.duration_s:.1f} s, ${state.cost_usd:.4f})"
    if state.reason:
        line += f" — {one_line(state.reason)}"
    with _print_lock:
        say(line, err=True)


def _confine(units: list[Unit], options: RunOptions) -> Confinement:
    """The user's sandbox settings now, checked before anything is spent (the notice shown)."""
    root = Path(units[0].repo) if units else Path.cwd()
    confine = confinement(root, options.profile)
    notice = check_sandbox_for(units, options, confine)
    if notice:
        say(f"v4code batch: {notice}", err=True)
    return confine


def _summary_line(states: list[UnitState], run_dir: RunDir) -> str:
    counts = Counter(s.status for s in states)
    line = f"v4code batch: {counts['green']} of {len(states)} units green"
    others = [f"{counts[k]} {k}" for k in ("red", "unchanged", "error", "pending") if counts[k]]
    if others:
        line += f" ({', '.join(others)})"
    return line + f"; `v4code batch report {run_dir.path}`"


def _drive(
    run_dir: RunDir, options: RunOptions, only: set[str] | None, confine: Confinement | None = None
) -> int:
    units = runner.select(run_dir, only)
    if confine is None:
        confine = _confine(run_dir.units(), options)
    say(f"v4code batch: run {run_dir.run_id} in {run_dir.path}", err=True)
    say(f"  {counted(len(units), 'unit')} to run, {options.jobs} at a time", err=True)
    cancel = CancelToken()
    try:
        with run_dir.driving():
            states = runner.execute(run_dir, options, units, cancel, _progress, confine)
    except KeyboardInterrupt:
        say(
            f"v4code batch: interrupted; continue with `v4code batch run --resume {run_dir.path}`",
            err=True,
        )
        return ExitCode.INTERRUPTED
    say(_summary_line(states, run_dir), err=True)
    say(str(run_dir.path))
    green = sum(1 for s in states if s.status == "green")
    return ExitCode.DONE if green == len(states) else ExitCode.FAILED


def _check_base(units: list[Unit], options: RunOptions, confine: Confinement) -> None:
    """Verify on the base commits first; refuse (or warn) when it fails there."""
    for check in verify_base(units, options, confine, CancelToken()):
        if check.run.passed:
            say(
                f"v4code batch: verify passes on the base commit {check.base[:12]} "
                f"({check.run.duration:.1f} s)",
                err=True,
            )
            continue
        say(check.tail(), err=True)
        if options.on_red_base == "refuse":
            raise ConfigError(
                f"{check.failure()}; nothing was spent. Fix the command, or pass "
                "--on-red-base warn if the units are meant to make it pass."
            )
        say(f"v4code batch: warning: {check.failure()}; running anyway", err=True)


def _with_mode(options: RunOptions, units: list[Unit]) -> RunOptions:
    """`options` with the permission mode each unit's `run` takes: --permission-mode, else
    the config's (user, trusted project, environment), else run's full-auto. Pinned here, so
    the sandbox check knows it and `--resume` runs the rest alike."""
    if options.permission_mode is not None:
        return options
    from dataclasses import replace

    from v4code.config import RUN_DEFAULTS, load_settings

    root = Path(units[0].repo) if units else Path.cwd()
    flags = {"profile": options.profile} if options.profile else None
    mode = load_settings(root, flags, defaults=RUN_DEFAULTS).settings.permission_mode
    return replace(options, permission_mode=mode)


def start_run(manifest: Path, out: Path | None, flags: dict[str, Any]) -> int:
    units = read_manifest(manifest)
    options = _with_mode(RunOptions(**{k: v for k, v in flags.items() if v is not None}), units)
    checked = runner.check_run(units, out)
    confine = _confine(units, options)
    _check_base(units, options, confine)
    run_dir = runner.create_run(units, options, out, checked)
    return _drive(run_dir, options, None, confine)


def _existing(path: Path) -> RunDir:
    """A run to continue; one made where its agents can change nothing is refused."""
    run_dir = RunDir(path)
    runner.check_run_dir(run_dir.path, run_dir.units(), fix="start it again with an --out folder")
    return run_dir


def resume_run(path: Path) -> int:
    run_dir = _existing(path)
    return _drive(run_dir, runner.saved_options(run_dir), None)


def retry_run(path: Path, only: str) -> int:
    run_dir = _existing(path)
    wanted = runner.parse_only(only)
    _check_only(run_dir, wanted)
    if not runner.select(run_dir, wanted):
        say(f"v4code batch: run {run_dir.run_id} in {run_dir.path}", err=True)
        say(f"  0 units to run: no unit is {', '.join(sorted(wanted))}", err=True)
        return ExitCode.DONE
    return _drive(run_dir, runner.saved_options(run_dir), wanted)


def _check_only(run_dir: RunDir, wanted: set[str]) -> None:
    """An `--only` word that is neither a status nor one of the run's units is a typo, not
    a choice of nothing: said as one (exit 2) rather than retrying no unit."""
    known = set(STATUSES) | {unit.id for unit in run_dir.units()}
    unknown = sorted(wanted - known)
    if unknown:
        raise ConfigError(
            f"--only: no status or unit {', '.join(unknown)} in run {run_dir.run_id} "
            f"(statuses: {', '.join(STATUSES)})"
        )


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
            say(str(patch))
        return ExitCode.DONE
    branch = into or attempts.branch_name(run_dir.run_id, "applied")
    result = apply_into(run_dir, branch, only)
    for uid in result.applied:
        say(f"applied {uid}")
    for uid, why in result.conflicts.items():
        say(f"conflict {uid}: {one_line(why)} (not applied)", err=True)  # names files
    say(f"{counted(len(result.applied), 'unit')} on branch {branch}; your checkout is unchanged")
    return ExitCode.FAILED if result.conflicts else ExitCode.DONE
