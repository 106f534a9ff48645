"""Units as tasks on a Ray cluster (`pip install "ray>=2.9"` into v4code's environment).

The driver ships each repository at the unit's base commit as a git bundle (made once per
repository and base, put in Ray's object store); a task clones it into a private folder, runs
the unit there exactly as the local executor does (agent child process, verify, commit), and
returns the unit's commit as a bundle. The driver fetches that into the unit's branch and
records everything in the same run directory, so `status`, `report`, `apply` and `clean` do
not know which executor ran a unit. Workers need v4code installed and the model endpoint
reachable; the driver passes its DEEPSEEK_* and V4CODE_* settings along.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from v4code.cancel import CancelToken
from v4code.errors import ConfigError
from v4code.jobs import attempts
from v4code.jobs.manifest import Unit, parse_unit
from v4code.jobs.state import RunDir, UnitState
from v4code.jobs.unit import RunOptions, UnitOutcome, run_unit_in
from v4code.jobs.verify import Confinement
from v4code.repo import worktrees
from v4code.repo.git import GitError

SHIPPED_ENV_PREFIXES = ("DEEPSEEK_", "V4CODE_")


def shipped_env() -> dict[str, str]:
    """The driver's v4code and endpoint settings, for the workers' agent processes."""
    return {k: v for k, v in os.environ.items() if k.startswith(SHIPPED_ENV_PREFIXES)}


def ray_unit(
    bundle: bytes,
    unit: dict[str, Any],
    branch: str,
    options: dict[str, Any],
    env: dict[str, str],
    confine: dict[str, Any],
) -> dict[str, Any]:
    """A Ray task: clone the bundle, run the unit (verify confined as the driver's user
    settings say), return its outcome and result bundle."""
    work = Path(tempfile.mkdtemp(prefix="v4code-batch-"))
    try:
        (work / "in.bundle").write_bytes(bundle)
        checkout = work / "repo"
        parsed = parse_unit(unit, f"unit {unit.get('id')}")
        worktrees.clone_bundle(work / "in.bundle", checkout, branch, parsed.base)
        outcome = run_unit_in(checkout, parsed, RunOptions.from_dict(options), None,
                              {**os.environ, **env}, Confinement.from_shipped(confine))  # fmt: skip
        result: bytes | None = None
        if outcome.commit:
            worktrees.create_bundle(checkout, work / "out.bundle", [f"{parsed.base}..{branch}"])
            result = (work / "out.bundle").read_bytes()
        return {"outcome": outcome.to_dict(), "bundle": result}
    except GitError as exc:
        return {"outcome": UnitOutcome("error", f"worker git failed: {exc.message}").to_dict()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _connect(options: RunOptions) -> bool:
    """Connect to the cluster (or start a local one); True when this call started Ray."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            'the Ray executor needs ray: pip install "ray>=2.9" into v4code\'s environment'
        ) from None
    if ray.is_initialized():
        return False
    if options.address:
        ray.init(address=options.address, log_to_driver=False)
    else:
        ray.init(
            num_cpus=max(1, options.jobs),
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    return True


def _base_bundle(run_dir: RunDir, unit: Unit, branch: str, made: dict[tuple[str, str], Any]) -> Any:
    import ray

    key = (unit.repo, unit.base)
    if key not in made:
        path = run_dir.path / f".bundle-{hashlib.sha1(unit.repo.encode()).hexdigest()[:10]}"
        try:
            worktrees.create_bundle(Path(unit.repo), path, [branch])
            made[key] = ray.put(path.read_bytes())
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return made[key]


def _finish(run_dir: RunDir, unit: Unit, state: UnitState, result: dict[str, Any],
            started: float, confine: Confinement) -> UnitState:  # fmt: skip
    outcome = UnitOutcome(**result["outcome"])
    bundle = result.get("bundle")
    if bundle:
        path = run_dir.unit_dir(unit.id) / ".result.bundle"
        try:
            path.write_bytes(bundle)
            worktrees.fetch_branch(Path(unit.repo), path, state.branch)
        except (GitError, OSError) as exc:
            outcome.status, outcome.reason = "error", f"could not fetch the result: {exc}"
            outcome.commit = None
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return attempts.record(run_dir, unit, state, outcome, started, confine)


def run_ray(
    run_dir: RunDir,
    options: RunOptions,
    units: list[Unit],
    cancel: CancelToken,
    budget: attempts.Budget,
    progress: attempts.Progress | None = None,
    confine: Confinement | None = None,
) -> None:
    confine = confine or Confinement()
    started_ray = _connect(options)
    import ray

    task = ray.remote(num_cpus=1, max_retries=0)(ray_unit)
    bundles: dict[tuple[str, str], Any] = {}
    waiting = list(units)
    running: dict[Any, tuple[Unit, UnitState, float]] = {}
    env = shipped_env()
    try:
        while waiting or running:
            while waiting and len(running) < max(1, options.jobs) and not budget.exhausted:
                unit = waiting.pop(0)
                state = attempts.begin(run_dir, unit, run_dir.load(unit.id))
                worktrees.set_branch(Path(unit.repo), state.branch, unit.base)
                ref = task.remote(_base_bundle(run_dir, unit, state.branch, bundles),
                                  unit.to_dict(), state.branch, options.to_dict(), env,
                                  confine.shipped())  # fmt: skip
                running[ref] = (unit, state, time.monotonic())
                if progress:
                    progress(state)
            if waiting and not running and budget.exhausted:
                for unit in waiting:
                    attempts.not_started(run_dir, unit.id)
                break
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
            if cancel.cancelled:
                raise KeyboardInterrupt
            for ref in ready:
                unit, state, started = running.pop(ref)
                state = _finish(run_dir, unit, state, ray.get(ref), started, confine)
                budget.add(state.cost_usd)
                if progress:
                    progress(state)
    except BaseException:
        for ref, (_unit, state, _started) in running.items():
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
            attempts.requeue(state)
            run_dir.save(state)
        raise
    finally:
        if started_ray:
            ray.shutdown()
