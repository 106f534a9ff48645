"""What `batch run` checks before it spends anything: that the sandbox the units' commands and
verify run in can start, and that verify passes on the base commit (when it fails there, every
unit would go red at full cost). The base is verified through the same confined path the units
use, in a throwaway checkout of the base commit that is removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.errors import ConfigError
from v4code.jobs.manifest import Unit
from v4code.jobs.unit import RunOptions
from v4code.jobs.verify import Confinement, VerifyRun, run_verify, verify_command
from v4code.repo import worktrees
from v4code.safety.sandbox import sandbox_problem

TAIL_LINES = 20
TAIL_CHARS = 2000


def needs_sandbox(options: RunOptions) -> bool:
    """Commands will run: a verify command, or the agents' own in full-auto."""
    return bool(options.verify) or options.permission_mode in (None, "full-auto")


def check_sandbox_for(units: list[Unit], options: RunOptions, confine: Confinement) -> str | None:
    """Raise ConfigError when the sandbox cannot start; the notice to show when the user
    turned it off; None otherwise."""
    if not needs_sandbox(options):
        return None
    if not confine.sandbox:
        return (
            f"sandbox = false ({confine.source}): verify commands and the agents' commands "
            "run unconfined"
        )
    for repo in sorted({unit.repo for unit in units}):
        problem = sandbox_problem(Path(repo))
        if problem is not None:
            raise ConfigError(
                "verify commands and the agents' commands must run in the sandbox, but it "
                f"cannot start here ({problem}); nothing was run. Install bubblewrap "
                "(`apt-get install bubblewrap`), or set `sandbox = false` in your user config "
                "(or V4CODE_SANDBOX=false) to run them unconfined."
            )
    return None


@dataclass
class BaseCheck:
    """Verify on one repository's base commit, with every unit's paths of that base."""

    repo: str
    base: str
    run: VerifyRun

    def tail(self) -> str:
        lines = self.run.output.rstrip("\n").splitlines()[-TAIL_LINES:]
        return "\n".join(lines)[-TAIL_CHARS:]

    def failure(self) -> str:
        return (
            f"--verify fails on the base commit {self.base[:12]} of {self.repo} "
            f"({self.run.why()}), so every unit would likely be red"
        )


def _groups(units: list[Unit]) -> dict[tuple[str, str], tuple[str, ...]]:
    found: dict[tuple[str, str], dict[str, None]] = {}
    for unit in units:
        found.setdefault((unit.repo, unit.base), {}).update(dict.fromkeys(unit.paths))
    return {key: tuple(paths) for key, paths in found.items()}


def verify_base(
    units: list[Unit], options: RunOptions, confine: Confinement, cancel: CancelToken
) -> list[BaseCheck]:
    """Run verify once per (repository, base commit), filled with all its units' paths."""
    if not options.verify or options.on_red_base == "skip":
        return []
    checks: list[BaseCheck] = []
    for (repo, base), paths in _groups(units).items():
        root = Path(repo)
        scratch = Path(tempfile.mkdtemp(prefix="v4code-base-"))
        checkout = scratch / root.name
        try:
            worktrees.add_detached(root, checkout, base)
            command = verify_command(options.verify, checkout, paths)
            run = run_verify(command, checkout, confine, options.verify_timeout, cancel)
        finally:
            worktrees.remove_worktree(root, checkout)
            shutil.rmtree(scratch, ignore_errors=True)
        checks.append(BaseCheck(repo, base, run))
        if run.cancelled:
            raise KeyboardInterrupt
    return checks
