"""One unit in a checkout of its own: the agent as a child process, the verify command, the commit.

The agent runs as `v4code run --output json` in a child process with its own process group
(started through jobs/child.py, so it also dies with the driver), so
a crash, a memory blow-up or an `os._exit` in one unit never takes the driver down, and
cancelling (Ctrl-C) kills the unit's whole group. Shared by the local and the Ray executor.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v4code.cancel import CancelToken
from v4code.jobs.manifest import Unit
from v4code.jobs.verify import Confinement, run_verify, verify_command
from v4code.repo import worktrees
from v4code.repo.git import GitError, git_env
from v4code.safety.process import capture_process
from v4code.safety.programs import workspaces_env
from v4code.textio import one_line

AGENT_TIMEOUT = 24 * 3600.0
"""A unit without --max-time still ends some day."""
VERIFY_TIMEOUT = 1800.0
TAIL_CHARS = 4000


@dataclass
class RunOptions:
    """What `v4code batch run` was asked to do; saved in run.json so --resume does the same."""

    jobs: int = 1
    verify: str | None = None
    verify_timeout: float = VERIFY_TIMEOUT
    on_red_base: str = "refuse"  # verify fails on the base commit: refuse, warn or skip the check
    max_cost_per_unit: float | None = None
    max_cost: float | None = None
    max_steps: int | None = None
    max_time: float | None = None
    model: str | None = None
    profile: str | None = None
    permission_mode: str | None = None  # None: as `run` would take it (frontend resolves it)
    executor: str = "local"
    address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunOptions:
        known = set(cls().__dict__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class UnitOutcome:
    """What happened to a unit in its checkout (before the driver records it)."""

    status: str  # green, red, unchanged, error, interrupted
    reason: str = ""
    agent: dict[str, Any] = field(default_factory=dict)
    agent_stdout: str = ""
    agent_log: str = ""
    verify_exit: int | None = None
    verify_output: str = ""
    commit: str | None = None
    diffstat: str = ""
    agent_s: float = 0.0
    verify_s: float = 0.0
    commit_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def agent_argv(checkout: Path, task: str, options: RunOptions) -> list[str]:
    argv = [sys.executable, "-m", "v4code.jobs.child", str(os.getpid()), "run"]
    argv += ["--output", "json", "-C", str(checkout)]
    if options.permission_mode is not None:
        argv += ["--permission-mode", options.permission_mode]
    limits = {
        "--max-cost": options.max_cost_per_unit,
        "--max-steps": options.max_steps,
        "--max-time": options.max_time,
        "--model": options.model,
        "--profile": options.profile,
    }
    for flag, value in limits.items():
        if value is not None:
            argv += [flag, str(value)]
    return [*argv, "--", task]


def tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def run_agent(
    checkout: Path,
    task: str,
    options: RunOptions,
    cancel: CancelToken | None,
    env: Mapping[str, str] | None = None,
) -> UnitOutcome:
    timeout = AGENT_TIMEOUT if options.max_time is None else options.max_time + 120
    start = time.monotonic()
    done = capture_process(
        agent_argv(checkout, task, options),
        cwd=checkout,
        timeout=timeout,
        cancel=cancel,
        # the driver's repository is a workspace for the agent too (its .venv/bin on PATH);
        # the unit's agent needs the key
        env={**git_env(base=env, keep_secrets=True), **workspaces_env()},
    )
    out = UnitOutcome("error", agent_s=time.monotonic() - start)
    out.agent_stdout = done.stdout.decode("utf-8", "replace")
    out.agent_log = done.stderr.decode("utf-8", "replace")
    if done.cancelled:
        out.status, out.reason = "interrupted", "interrupted"
        return out
    if done.timed_out:
        out.reason = f"the agent did not finish within {timeout:g} s"
        return out
    try:
        result = json.loads(out.agent_stdout)
        if not isinstance(result, dict):
            raise ValueError
    except ValueError:
        last = out.agent_log.strip().splitlines()[-1:] or [""]
        out.reason = f"the agent process failed (exit {done.returncode}): {last[0][:300]}"
        return out
    out.agent = result
    planted = result.get("planted")
    if planted and isinstance(planted, list):  # a nested .git, a .v4code/: never committed
        out.reason = f"the agent's command left what v4code does not commit: {planted[0]}"
        return out
    status = str(result.get("status", "error"))
    if status != "done":
        why = str(result.get("reason") or "")
        out.status = "error" if status == "error" else "red"
        out.reason = f"agent {status}" + (f": {why}" if why else "")
        return out
    out.status = "green"
    return out


def run_unit_in(
    checkout: Path,
    unit: Unit,
    options: RunOptions,
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
    confine: Confinement | None = None,
) -> UnitOutcome:
    """Agent, then verify, then (green only) commit, all inside `checkout`.

    What the agent changed is staged before verify runs: that is the unit's diffstat (red
    units show it too) and its commit, so what verify leaves behind (caches) is not."""
    out = run_agent(checkout, unit.task, options, cancel, env)
    if out.status == "interrupted":
        return out
    try:
        out.diffstat = worktrees.stage_all(checkout, unit.base)
    except GitError as exc:
        if out.status == "green":
            out.status, out.reason = "error", f"could not read the change: {exc.message}"
        return out
    if out.status != "green":
        return out
    if not out.diffstat.strip():
        said = (str(out.agent.get("final_message") or "").strip().splitlines() or [""])[0]
        said = one_line(said[:200])
        out.status = "unchanged"
        out.reason = "the agent changed nothing" + (f": {said}" if said else "")
        return out
    if options.verify:
        run = run_verify(
            verify_command(options.verify, checkout, unit.paths), checkout,
            confine or Confinement(), options.verify_timeout, cancel, env,
        )  # fmt: skip
        out.verify_s, out.verify_exit, out.verify_output = run.duration, run.exit_code, run.output
        if run.cancelled:
            out.status, out.reason = "interrupted", "interrupted"
            return out
        if run.error:  # the sandbox (or the shell) did not start: nothing was verified
            out.status, out.reason = "error", f"verify {run.error}"
            return out
        if not run.passed:
            out.status, out.reason = "red", f"verify failed ({run.why()})"
            return out
    start = time.monotonic()
    try:
        out.commit = worktrees.commit_staged(checkout, f"v4code batch: {unit.id}\n\n{unit.task}\n")
    except GitError as exc:
        out.status, out.reason = "error", f"commit failed: {exc.message}"
    out.commit_s = time.monotonic() - start
    return out
