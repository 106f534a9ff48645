"""The driver of a run: which units to run, the bookkeeping around each, resume and retry.

Executors (local processes, Ray tasks) only say how a unit's checkout is made and where its
agent runs; every step is recorded in the run directory before and after it happens (here and
in `attempts.py`, which the executors write through), so a driver killed at any point can be resumed: finished units stay finished, a unit caught
mid-way is restarted from its base commit (its stale worktree and branch removed first).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.errors import ConfigError
from v4code.jobs.attempts import Budget, Progress, branch_name
from v4code.jobs.manifest import Unit
from v4code.jobs.state import FINISHED, RunDir, UnitState, new_run_id
from v4code.jobs.unit import RunOptions
from v4code.jobs.verify import Confinement
from v4code.repo import worktrees


def runs_home() -> Path:
    """Where runs go without `--out`: `$XDG_STATE_HOME/v4code/batch` (`~/.local/state/...`).

    Not under v4code's home, whose files the edit tools refuse to touch (every unit would
    change nothing); not in the repository, whose checkout would see the worktrees and whose
    `.v4code/` is covered by trust. A run is state to resume, report and apply from, so it
    belongs with state rather than in a cache that is cleared without asking."""
    base = os.environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "v4code" / "batch"


def default_run_dir(run_id: str) -> Path:
    return runs_home() / run_id


def check_units(units: list[Unit]) -> None:
    """Every unit's repository and base commit exist (each pair asked about once: units
    mostly share them, and each question starts git)."""
    seen: set[tuple[str, str]] = set()
    for unit in units:
        if (unit.repo, unit.base) in seen:
            continue
        seen.add((unit.repo, unit.base))
        root = Path(unit.repo)
        if not root.is_dir():
            raise ConfigError(f"unit {unit.id}: repository {unit.repo} does not exist")
        if not worktrees.has_commit(root, unit.base):
            raise ConfigError(f"unit {unit.id}: commit {unit.base} is not in {unit.repo}")


def check_run_dir(path: Path, units: list[Unit], *, fix: str = "give an --out folder") -> None:
    """Refuse a run directory whose worktrees the units' agents could not edit (v4code's
    home) or that a unit's repository would hold (its checkout would show the worktrees)."""
    from v4code.config import user_home

    real = Path(os.path.realpath(path))
    home = Path(os.path.realpath(user_home()))
    if real == home or home in real.parents:
        raise ConfigError(
            f"{path} is under v4code's home ({home}), where the agents' edit tools change "
            f"nothing; {fix} elsewhere"
        )
    for repo in {unit.repo for unit in units}:
        root = Path(os.path.realpath(repo))
        if real == root or root in real.parents:
            raise ConfigError(
                f"{path} is inside the repository {repo}, whose checkout would show the "
                f"run's worktrees; {fix} outside it"
            )


def check_run(units: list[Unit], out: Path | None) -> tuple[str, Path]:
    """A new run's id and directory, once every repository and base commit of `units`
    exists (`check_units`) and the directory is one they may use (`check_run_dir`)."""
    check_units(units)
    run_id = new_run_id()
    path = out if out is not None else default_run_dir(run_id)
    check_run_dir(path, units)
    return run_id, path


def create_run(
    units: list[Unit],
    options: RunOptions,
    out: Path | None,
    checked: tuple[str, Path] | None = None,
) -> RunDir:
    """A new run directory for `units`; `checked` is what `check_run` gave (checked now
    without it)."""
    run_id, path = checked if checked is not None else check_run(units, out)
    run_dir = RunDir(path)
    run_dir.create(run_id, units, options.to_dict())
    return run_dir


def saved_options(run_dir: RunDir) -> RunOptions:
    raw = run_dir.info().get("options")
    return RunOptions.from_dict(raw if isinstance(raw, dict) else {})


def stop_strays(worktree: Path) -> None:
    """Kill agent processes a killed driver left running in `worktree` (found by their
    command line, which names it), so a restarted unit never shares its checkout."""
    needle = str(worktree).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-C" in argv and needle in argv and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                os.killpg(int(entry.name), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def discard_attempt(run_dir: RunDir, unit: Unit, state: UnitState) -> None:
    """Remove what an earlier attempt of `unit` left: its processes, worktree and branch."""
    root = Path(unit.repo)
    wt = run_dir.worktree(unit.id)
    stop_strays(wt)
    worktrees.remove_worktree(root, wt)
    branch = state.branch or branch_name(run_dir.run_id, unit.id)
    worktrees.delete_branch(root, branch)


def parse_only(only: str) -> set[str]:
    """The statuses and unit ids of an `--only` option ("red,error", "u1, u2")."""
    return {part.strip() for part in only.split(",") if part.strip()}


def select(run_dir: RunDir, only: Iterable[str] | None = None) -> list[Unit]:
    """The units still to run: not finished, or (retry) those whose id or status is in `only`."""
    chosen = set(only) if only is not None else None
    units: list[Unit] = []
    for unit in run_dir.units():
        state = run_dir.load(unit.id)
        if chosen is None:
            if state.status not in FINISHED:
                units.append(unit)
        elif unit.id in chosen or state.status in chosen:
            units.append(unit)
    return units


def execute(
    run_dir: RunDir,
    options: RunOptions,
    units: list[Unit],
    cancel: CancelToken,
    progress: Progress | None = None,
    confine: Confinement | None = None,
) -> list[UnitState]:
    """Run `units` with the chosen executor; returns every unit's final state."""
    confine = confine or Confinement()
    for unit in units:  # stale attempts (a crash, a retry) are undone before anything starts
        state = run_dir.load(unit.id)
        if state.attempts or state.status != "pending":
            discard_attempt(run_dir, unit, state)
            state.status, state.reason, state.commit = "pending", "", ""
            run_dir.save(state)
    budget = Budget(options.max_cost)
    for state in run_dir.states():
        if state.status in FINISHED:
            budget.add(state.cost_usd)
    if options.executor == "ray":
        from v4code.jobs.executor_ray import run_ray

        run_ray(run_dir, options, units, cancel, budget, progress, confine)
    else:
        from v4code.jobs.executor_local import run_local

        run_local(run_dir, options, units, cancel, budget, progress, confine)
    return run_dir.states()
