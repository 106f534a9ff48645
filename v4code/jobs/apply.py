"""Applying a run's green units (into a branch, or as a patch series), and cleaning up.

Applying works in a worktree of its own, never in the user's checkout: each unit's commit is
cherry-picked onto the target branch; a conflict aborts that unit's pick (the branch keeps the
units before it) and is reported for that unit. `clean` removes the worktrees and branches the
run made, and nothing else.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from v4code.errors import ConfigError
from v4code.jobs import attempts, runner
from v4code.jobs.state import RunDir
from v4code.repo import worktrees
from v4code.repo.git import GitError


@dataclass
class ApplyResult:
    applied: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)  # repo -> branch tip
    patches: list[Path] = field(default_factory=list)


def _chosen(run_dir: RunDir, only: str) -> list[tuple[str, str, str, str]]:
    """(unit id, repo, base, commit) of the chosen units that have a commit."""
    wanted = runner.parse_only(only)
    out = []
    for unit in run_dir.units():
        state = run_dir.load(unit.id)
        if (state.status in wanted or unit.id in wanted) and state.commit:
            out.append((unit.id, unit.repo, unit.base, state.commit))
    return out


def apply_into(run_dir: RunDir, branch: str, only: str = "green") -> ApplyResult:
    """Cherry-pick the chosen units' commits onto `branch` in each repository (created at the
    run's base commit when missing)."""
    result = ApplyResult()
    by_repo: dict[str, list[tuple[str, str, str]]] = {}
    for uid, repo, base, commit in _chosen(run_dir, only):
        by_repo.setdefault(repo, []).append((uid, base, commit))
    if not by_repo:
        raise ConfigError(f"no {only} unit with a commit to apply")
    for repo, picks in by_repo.items():
        root = Path(repo)
        start = worktrees.branch_commit(root, branch) or picks[0][1]
        wt = run_dir.path / "apply" / worktrees.ref_safe(root.name)
        work_branch = (
            f"{attempts.branch_name(run_dir.run_id, 'apply')}-{worktrees.ref_safe(root.name)}"
        )
        worktrees.remove_worktree(root, wt)
        worktrees.delete_branch(root, work_branch)
        worktrees.add_worktree(root, wt, work_branch, start)
        try:
            for uid, _base, commit in picks:
                picked = worktrees.cherry_pick_into(wt, [commit])
                if picked.commit is None:
                    result.conflicts[uid] = picked.conflict
                else:
                    result.applied.append(uid)
            tip = worktrees.resolve_commit(wt, "HEAD")
            worktrees.set_branch(root, branch, tip)
            result.branches[repo] = tip
        finally:
            worktrees.remove_worktree(root, wt)
            worktrees.delete_branch(root, work_branch)
    with contextlib.suppress(OSError):
        (run_dir.path / "apply").rmdir()
    return result


def write_patches(run_dir: RunDir, directory: Path, only: str = "green") -> ApplyResult:
    """One numbered patch file per chosen unit (`git am` applies them in order)."""
    result = ApplyResult()
    chosen = _chosen(run_dir, only)
    if not chosen:
        raise ConfigError(f"no {only} unit with a commit to write")
    directory.mkdir(parents=True, exist_ok=True)
    for number, (uid, repo, base, commit) in enumerate(chosen, 1):
        target = directory / f"{number:04d}-{uid}.patch"
        target.write_text(worktrees.format_patch(Path(repo), base, commit), encoding="utf-8")
        result.patches.append(target)
        result.applied.append(uid)
    return result


def clean(run_dir: RunDir) -> tuple[list[str], list[str]]:
    """Remove the run's worktrees and unit branches; returns the worktrees and the branches
    removed, which the person is told apart."""
    removed: list[str] = []
    branches: list[str] = []
    roots: set[Path] = set()
    for unit in run_dir.units():
        state = run_dir.load(unit.id)
        root = Path(unit.repo)
        roots.add(root)
        if not root.is_dir():
            continue
        wt = run_dir.worktree(unit.id)
        runner.stop_strays(wt)
        if wt.exists():
            worktrees.remove_worktree(root, wt)
            removed.append(str(wt))
        branch = state.branch or attempts.branch_name(run_dir.run_id, unit.id)
        if worktrees.branch_exists(root, branch):
            worktrees.delete_branch(root, branch)
            branches.append(branch)
    for root in roots:
        with contextlib.suppress(GitError):
            worktrees.prune(root)
    shutil.rmtree(run_dir.path / "worktrees", ignore_errors=True)
    return removed, branches
