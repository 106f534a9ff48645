"""Units as local child processes, `-j N` at a time, each in a worktree of the unit's repository.

The worktree is added from the unit's recorded base commit on the unit's own branch; the
user's checkout, index and HEAD are never read or written.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.jobs import attempts
from v4code.jobs.manifest import Unit
from v4code.jobs.state import RunDir
from v4code.jobs.unit import RunOptions, UnitOutcome, run_unit_in
from v4code.jobs.verify import Confinement
from v4code.repo import worktrees
from v4code.repo.git import GitError

_ADDING = threading.Lock()


def run_one(
    run_dir: RunDir,
    options: RunOptions,
    unit: Unit,
    cancel: CancelToken,
    budget: attempts.Budget,
    progress: attempts.Progress | None,
    confine: Confinement,
) -> None:
    if cancel.cancelled:
        return
    if budget.exhausted:
        attempts.not_started(run_dir, unit.id)
        return
    start = time.monotonic()
    state = attempts.begin(run_dir, unit, run_dir.load(unit.id))
    if progress:
        progress(state)
    wt = run_dir.worktree(unit.id)
    try:
        with _ADDING:  # git reads every worktree's files while it adds one: one at a time
            worktrees.add_worktree(Path(unit.repo), wt, state.branch, unit.base)
        state.worktree = str(wt)
        run_dir.save(state)
    except GitError as exc:
        outcome = UnitOutcome("error", f"could not create the worktree: {exc.message}")
    else:
        outcome = run_unit_in(wt, unit, options, cancel, confine=confine)
    state = attempts.record(run_dir, unit, state, outcome, start, confine)
    budget.add(state.cost_usd)
    if progress:
        progress(state)


def run_local(
    run_dir: RunDir,
    options: RunOptions,
    units: list[Unit],
    cancel: CancelToken,
    budget: attempts.Budget,
    progress: attempts.Progress | None = None,
    confine: Confinement | None = None,
) -> None:
    confine = confine or Confinement()
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = [
            pool.submit(run_one, run_dir, options, unit, cancel, budget, progress, confine)
            for unit in units
        ]
        try:
            for future in futures:
                while not future.done():
                    time.sleep(0.05)  # short waits keep the main thread open to Ctrl-C
                future.result()
        except BaseException:
            cancel.cancel()  # every running agent's process group is killed
            for future in futures:
                future.cancel()
            raise
