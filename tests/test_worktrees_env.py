"""Batch worktrees (gitpython) run git as `repo/git.py` does, and leave the process alone.

gitpython starts every call from a copy of the process environment: v4code's worktree code
used to drop the inherited GIT_* variables from that environment itself (and to name its git
there), so every later child of the process, and everything reading `os.environ`, saw a
changed environment. Each check runs a worktree round trip in a fresh interpreter, with a
GIT_DIR pointing at another repository and a `git` planted in the workspace first on PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import git, make_repo

ROUND_TRIP = """
import json, os, sys
from pathlib import Path
from v4code.repo import worktrees

repo, wt = Path(sys.argv[1]), Path(sys.argv[2])
before = dict(os.environ)
worktrees.add_worktree(repo, wt, "unit-a", worktrees.resolve_commit(repo))
(wt / "new.txt").write_text("new\\n")
commit = worktrees.commit_all(wt, "add new.txt")
worktrees.remove_worktree(repo, wt)
after = dict(os.environ)
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
print(json.dumps({"changed": changed, "commit": commit}))
"""


def new_repo(root: Path, name: str) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    return make_repo(root, {name: "text\n"})


def round_trip(repo: Path, tmp_path: Path) -> tuple[dict[str, object], Path]:
    """Add a worktree, commit in it, remove it; what changed in the environment, the commit,
    and the marker the planted git touches when it runs."""
    other = new_repo(tmp_path / "other", "o.txt")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    marker = tmp_path / "planted-git-ran"
    planted = bin_dir / "git"
    planted.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec /usr/bin/git "$@"\n')
    planted.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_DIR": str(other / ".git"),  # inherited: must reach neither git nor the test's end
    }
    env.pop("GIT_PYTHON_GIT_EXECUTABLE", None)
    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, str(repo), str(tmp_path / "wt")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), marker


def test_a_worktree_round_trip_leaves_the_process_environment_unchanged(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", "a.txt")
    result, _ = round_trip(repo, tmp_path)
    assert result["changed"] == []
    # the inherited GIT_DIR did not send git to the other repository
    assert git(repo, "log", "-1", "--format=%H", "unit-a").strip() == result["commit"]
    assert git(repo, "show", "--format=", "--name-only", "unit-a").split() == ["new.txt"]


def test_gitpython_never_runs_a_git_planted_first_on_path(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", "a.txt")
    _, marker = round_trip(repo, tmp_path)
    assert not marker.exists()
