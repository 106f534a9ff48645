"""One attempt of a unit, as the run directory records it: begun, finished, never started,
put back; and the run's budget. The driver (`runner.py`) and the executors (`executor_local.py`,
`executor_ray.py`) both write through here, so the executors need nothing of the driver.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v4code.jobs.manifest import Unit
from v4code.jobs.state import RunDir, UnitState
from v4code.jobs.unit import UnitOutcome, tail
from v4code.jobs.verify import Confinement
from v4code.repo import worktrees
from v4code.repo.git import GitError

Progress = Callable[[UnitState], None]


def branch_name(run_id: str, uid: str) -> str:
    return f"v4code/batch/{run_id}/{uid}"


@dataclass
class Budget:
    """The run-wide --max-cost: no unit starts once the units so far have spent it."""

    limit: float | None
    spent: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, cost: float) -> None:
        with self._lock:
            self.spent += cost

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.limit is not None and self.spent >= self.limit


def begin(run_dir: RunDir, unit: Unit, state: UnitState) -> UnitState:
    state.status, state.reason = "running", ""
    state.attempts += 1
    state.started, state.finished = time.time(), 0.0
    state.branch = branch_name(run_dir.run_id, unit.id)
    for name in ("agent.json", "agent.log", "verify.log", "result.patch"):
        with contextlib.suppress(FileNotFoundError):
            (run_dir.unit_dir(unit.id) / name).unlink()
    run_dir.save(state)
    return state


def not_started(run_dir: RunDir, uid: str) -> None:
    """Leave a unit pending, saying why: the run's --max-cost was spent before its turn."""
    state = run_dir.load(uid)
    state.reason = "not started: the run's --max-cost was reached"
    run_dir.save(state)


def requeue(state: UnitState) -> None:
    """Back to pending: an interrupted unit restarts from its base on --resume."""
    state.status, state.reason = "pending", "interrupted; will restart from its base"


def record(
    run_dir: RunDir,
    unit: Unit,
    state: UnitState,
    out: UnitOutcome,
    started: float,
    confine: Confinement | None = None,
) -> UnitState:
    """Write a unit's outcome to its files and state (interrupted units go back to pending).

    `started` is the unit's `time.monotonic()` start: the time neither the agent nor the
    verify command took is recorded as the executor's overhead. Everything written is
    scrubbed of the driver's secrets first (a Ray worker's output included)."""
    overhead = time.monotonic() - started - out.agent_s - out.verify_s
    scrub = (confine or Confinement()).scrub
    for name in ("reason", "agent_stdout", "agent_log", "verify_output", "diffstat"):
        setattr(out, name, scrub(getattr(out, name)))
    uid = unit.id
    if out.agent_stdout:
        run_dir.write_text(uid, "agent.json", out.agent_stdout)
    if out.agent_log:
        run_dir.write_text(uid, "agent.log", out.agent_log)
    if out.verify_output:
        run_dir.write_text(uid, "verify.log", out.verify_output)
    agent = out.agent
    raw_usage = agent.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    state.session_id = str(agent.get("session_id") or "")
    state.agent_status = str(agent.get("status") or "")
    state.cost_usd = float(agent.get("cost_usd") or 0.0)
    state.steps = int(agent.get("steps") or 0)
    state.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    state.completion_tokens = int(usage.get("completion_tokens") or 0)
    state.cache_hit_tokens = int(usage.get("cache_hit_tokens") or 0)
    state.verify_exit = out.verify_exit
    state.verify_tail = tail(out.verify_output)
    state.commit = out.commit or ""
    state.diffstat = out.diffstat
    if out.commit:
        try:
            patch = worktrees.format_patch(Path(unit.repo), unit.base, out.commit)
            run_dir.write_text(uid, "result.patch", patch)
        except GitError as exc:
            out.status, out.reason = "error", f"could not record the patch: {exc.message}"
    state.finished = time.time()
    state.duration_s = round(state.finished - state.started, 3)
    state.overhead_s = round(overhead, 4)
    if out.status == "interrupted":
        requeue(state)
    else:
        state.status, state.reason = out.status, out.reason
    state.history.append(
        {"attempt": state.attempts, "status": state.status, "reason": state.reason}
    )
    run_dir.save(state)
    return state
