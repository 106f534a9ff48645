"""Repositories, worktrees and branches for batch jobs, through gitpython.

Batch jobs create and remove many worktrees and branches; gitpython keeps that code short.
It gets the protections of `repo.git` (see its docstring): every `Git` object is given the
HARDENING overrides and `drivers_off` (the filter drivers the repository defines switched off,
its merge drivers replaced by git's text merge, whatever branch an `includeIf` names; the
user's own filters, like git-lfs, kept only while the repository's configuration is that of a
plain clone) as persistent options, and is a `Git` whose calls start in `repo.git`'s
environment (`git_env`: prompt-free, lock-free, without the inherited GIT_* variables and
v4code's secrets) through `safety/process.py`, not in a copy of this process's environment,
which stays as it is. gitpython starts the git `find_git` resolved, never one on PATH (its
import-time `git version` included). gitpython is imported only here, and only when a batch
command needs it.

Nothing here reads or writes the user's checkout or index: worktrees are added from a commit
by id, branches are created and deleted by name, and commits happen inside our worktrees.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.repo.git import HARDENING, GitError, drivers_off, find_git, git_env
from v4code.safety.process import capture_process
from v4code.workspace import not_a_repository

if TYPE_CHECKING:
    import git as gitpython

DEFAULT_AUTHOR = ("v4code", "v4code@localhost")
"""The author of a unit's commit when the repository's git config names none."""

_REF_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_IMPORTING = threading.Lock()
_EXECUTABLE_VAR = "GIT_PYTHON_GIT_EXECUTABLE"
GITPYTHON_TIMEOUT = 6 * 3600.0
"""A git call of a batch job that has not ended by then is killed (a clone of a huge
repository takes minutes, not hours)."""


def ref_safe(name: str) -> str:
    """`name` as one component of a branch name (git check-ref-format rules, conservatively)."""
    cleaned = _REF_SAFE.sub("-", name).strip("-.") or "unit"
    cleaned = cleaned.replace("..", ".")
    return cleaned[:-5] + "-lock" if cleaned.endswith(".lock") else cleaned


def _gitpython(workspace: Path) -> Any:
    """The gitpython module, set to start the git `find_git` resolved (never one on PATH
    inside a workspace)."""
    program = find_git(workspace)
    if program is None:
        raise GitError("git is not installed (or not on PATH outside the workspace)")
    with _IMPORTING:
        gitpython = sys.modules.get("git") or _import_gitpython(program)
        if program != gitpython.Git.GIT_PYTHON_GIT_EXECUTABLE:
            gitpython.refresh(program)
    return gitpython


def _import_gitpython(program: str) -> Any:
    """Import gitpython, whose import runs `git version` with the git its variable
    GIT_PYTHON_GIT_EXECUTABLE names, or the first on PATH without it: the variable names
    `program` during the import (under `_IMPORTING`) and is put back as it was at once."""
    before = os.environ.get(_EXECUTABLE_VAR)
    os.environ[_EXECUTABLE_VAR] = program
    try:
        import git as gitpython
    finally:
        if before is None:
            del os.environ[_EXECUTABLE_VAR]
        else:
            os.environ[_EXECUTABLE_VAR] = before
    return gitpython


@functools.cache
def _git_class(gitpython: Any) -> Any:
    """gitpython's `Git`, its calls started as `repo.git` starts git (`_execute`)."""

    class HardenedGit(gitpython.Git):  # type: ignore[misc]  # gitpython is imported lazily
        def execute(self, command: list[str], *args: Any, **options: Any) -> str:
            if args or options:  # nothing here asks for streams or extended output
                raise TypeError(f"unsupported gitpython execute options: {sorted(options)}")
            return _execute(gitpython, command, self._working_dir, self._environment)

    return HardenedGit


def _execute(gitpython: Any, command: list[str], cwd: Any, extra: dict[str, str]) -> str:
    """Run one command gitpython built, in the environment `repo.git` gives git (inherited
    GIT_* variables and v4code's secrets left out: gitpython would copy this process's
    environment, and cannot drop a variable from it), plus the `Git` object's own variables;
    stdout as gitpython returns it (text, one trailing newline off)."""
    from git.compat import safe_decode
    from git.util import remove_password_if_present

    env = {**git_env(), "LANGUAGE": "C", "LC_ALL": "C", **extra}
    where = Path(cwd) if cwd else Path.cwd()
    try:
        done = capture_process(command, cwd=where, timeout=GITPYTHON_TIMEOUT, env=env)
    except OSError as exc:
        raise GitError(f"git could not be started: {exc.strerror or exc}") from None
    out, err = done.stdout.removesuffix(b"\n"), done.stderr.removesuffix(b"\n")
    if done.timed_out or done.returncode != 0:
        shown = remove_password_if_present(command)
        status = done.returncode if not done.timed_out else "timed out"
        raise gitpython.exc.GitCommandError(shown, status, err, out)
    return str(safe_decode(out))


def _hardened(g: gitpython.Git, path: Path) -> gitpython.Git:
    """Hooks, fsmonitor and the repository's filter programs off: a checkout (smudge) or an
    add (clean) in our worktrees starts nothing the repository configures. Filters of the
    user's global or system configuration keep working while the repository's own
    configuration holds only what a clone and git-lfs write (`drivers_off`), so git-lfs
    files are real content in a unit's worktree and are stored as pointers again when it
    commits; any other key there (git-lfs could start a program it names) switches them off
    too, and the files stay pointers."""
    overrides = [f"{key}={value}" for key, value in HARDENING] + drivers_off(path)
    g.set_persistent_git_options(c=overrides)
    return g


def _call(g: gitpython.Git, command: str, *args: str, **kwargs: Any) -> str:
    """Run `git COMMAND ARGS` through gitpython, turning its errors into GitError."""
    from git.exc import GitCommandError

    try:
        out: str = getattr(g, command.replace("-", "_"))(*args, **kwargs)
    except GitCommandError as exc:
        detail = (exc.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
        raise GitError(f"git {command} failed: {detail or exc}") from None
    return out


def git_at(path: Path) -> gitpython.Git:
    """A hardened gitpython `Git` working in `path` (a repository or one of our worktrees)."""
    gitpython = _gitpython(path)
    return _hardened(_git_class(gitpython)(str(path)), path)


def repo_root(path: Path, command: str = "batch") -> Path:
    """The top of the work tree that holds `path`; outside a repository, `command` (the one
    the user typed) is said to need one, as every such command says it."""
    if not path.is_dir():
        raise GitError(f"{path} is not a directory")
    try:
        top = _call(git_at(path), "rev-parse", "--show-toplevel")
    except GitError:
        raise not_a_repository(command, path) from None
    return Path(top).resolve()


def resolve_commit(root: Path, rev: str = "HEAD") -> str:
    """The full id of commit `rev` (GitError when it does not exist, e.g. an empty repo)."""
    try:
        return _call(git_at(root), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        raise GitError(f"{root}: {rev} is not a commit (does the repository have one?)") from None


def has_commit(root: Path, commit: str) -> bool:
    try:
        resolve_commit(root, commit)
    except GitError:
        return False
    return True


def files_at(root: Path, commit: str) -> list[str]:
    """Every file path committed at `commit` (what a unit's worktree will hold)."""
    out = _call(git_at(root), "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit)
    return [name for name in out.split("\0") if name]


def branch_exists(root: Path, branch: str) -> bool:
    out = _call(git_at(root), "branch", "--list", "--format=%(refname:short)", branch)
    return bool(out.strip())


def branch_commit(root: Path, branch: str) -> str | None:
    try:
        return resolve_commit(root, f"refs/heads/{branch}")
    except GitError:
        return None


def add_worktree(root: Path, path: Path, branch: str, base: str) -> None:
    """A new worktree at `path` on a new branch `branch` that starts at commit `base`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _call(git_at(root), "worktree", "add", "--quiet", "-b", branch, str(path), base)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove our worktree at `path` (changes in it included); quiet when it is gone already."""
    g = git_at(root)
    if path.exists():
        try:
            _call(g, "worktree", "remove", "--force", "--force", str(path))
        except GitError:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
    _call(g, "worktree", "prune")


def delete_branch(root: Path, branch: str) -> None:
    if branch_exists(root, branch):
        _call(git_at(root), "branch", "-D", "--quiet", branch)


def prune(root: Path) -> None:
    _call(git_at(root), "worktree", "prune")


def _author_env(g: gitpython.Git) -> dict[str, str]:
    """The author and committer git `g` would use, v4code's own when none is configured."""
    env: dict[str, str] = {}
    for key, var, default in (
        ("user.name", "NAME", DEFAULT_AUTHOR[0]),
        ("user.email", "EMAIL", DEFAULT_AUTHOR[1]),
    ):
        try:
            value = _call(g, "config", "--get", key)
        except GitError:
            value = ""
        value = value.strip() or default
        env[f"GIT_AUTHOR_{var}"] = value
        env[f"GIT_COMMITTER_{var}"] = value
    return env


def commit_all(worktree: Path, message: str) -> str | None:
    """Commit every change in our worktree (hooks never run); the new commit, or None if clean.

    A git repository inside the worktree (a `.git` below its root: the unit's agent or
    verify command made it) is refused: `add --all` would record it as a gitlink, and git
    on the host reads its configuration, which can name programs."""
    from v4code.repo.files import list_files

    nested = sorted(list_files(worktree).repositories)
    if nested:
        raise GitError(f"a git repository inside the worktree is never committed: {nested[0]}")
    g = git_at(worktree)
    _call(g, "add", "--all")
    if not _call(g, "status", "--porcelain", "--untracked-files=no").strip():
        return None
    g.update_environment(**_author_env(g))
    _call(g, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
    return _call(g, "rev-parse", "HEAD")


def stage_all(worktree: Path, base: str) -> str:
    """Stage every change in our worktree; the diffstat of the staged tree against `base`
    (empty when the worktree holds what `base` holds). What is staged now is what
    `commit_staged` commits, so files a verify command leaves behind later are not."""
    g = git_at(worktree)
    _call(g, "add", "--all")
    return _call(g, "diff", "--no-ext-diff", "--no-textconv", "--cached", "--stat", base)


def commit_staged(worktree: Path, message: str) -> str | None:
    """Commit what is staged in our worktree (hooks never run); the new commit, or None."""
    g = git_at(worktree)
    if not _call(g, "diff", "--no-ext-diff", "--no-textconv", "--cached", "--name-only").strip():
        return None
    g.update_environment(**_author_env(g))
    _call(g, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message)
    return _call(g, "rev-parse", "HEAD")


def add_detached(root: Path, path: Path, commit: str) -> None:
    """A worktree at `path` checked out at `commit`, on no branch (a throwaway checkout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _call(git_at(root), "worktree", "add", "--quiet", "--detach", str(path), commit)


def format_patch(root: Path, base: str, tip: str) -> str:
    """The commits between `base` and `tip` as one mbox patch series (empty when none)."""
    if base == tip:
        return ""
    return (
        _call(
            git_at(root),
            "format-patch",
            "--no-ext-diff",
            "--no-textconv",
            "--stdout",
            f"{base}..{tip}",
        )
        + "\n"
    )


@dataclass(frozen=True)
class PickResult:
    commit: str | None
    conflict: str = ""


def cherry_pick_into(worktree: Path, commits: Iterable[str]) -> PickResult:
    """Cherry-pick `commits` onto our worktree's branch; on a conflict abort it (nothing half
    applied) and say which files conflicted."""
    g = git_at(worktree)
    g.update_environment(**_author_env(g))
    for commit in commits:
        try:
            _call(g, "cherry-pick", "--no-gpg-sign", "--allow-empty", "--keep-redundant-commits",
                  commit)  # fmt: skip
        except GitError as exc:
            files = _call(g, "diff", "--name-only", "--diff-filter=U").split()
            try:
                _call(g, "cherry-pick", "--abort")
            except GitError:
                _call(g, "reset", "--hard", "--quiet", "HEAD")
            reason = ("conflict in " + ", ".join(files)) if files else exc.message
            return PickResult(None, reason)
    return PickResult(_call(g, "rev-parse", "HEAD"))


def create_bundle(root: Path, path: Path, refs: Iterable[str]) -> None:
    """A git bundle at `path` holding `refs` (branch names or `A..B` ranges)."""
    _call(git_at(root), "bundle", "create", "--quiet", str(path), *refs)


def clone_bundle(bundle: Path, dest: Path, branch: str, base: str) -> None:
    """Clone `bundle` into `dest` with a new branch `branch` checked out at `base` (a Ray
    worker's private copy of the repository).

    The copy has the commits but nothing a filter keeps beside them (git-lfs objects), so
    its own configuration switches every filter driver off, the user's too: files stay as
    committed (LFS pointers), and a file added there is committed as it is rather than into
    a store that goes away with the copy."""
    _call(git_at(dest.parent), "clone", "--quiet", "--no-checkout", str(bundle), str(dest))
    clone = git_at(dest)
    for setting in drivers_off(dest, users_too=True):
        _call(clone, "config", *setting.split("=", 1))
    _call(clone, "checkout", "--quiet", "-b", branch, base)


def fetch_branch(root: Path, bundle: Path, branch: str) -> str:
    """Set our branch `branch` in `root` to the tip `bundle` carries for it."""
    _call(
        git_at(root), "fetch", "--quiet", str(bundle), f"+refs/heads/{branch}:refs/heads/{branch}"
    )
    return resolve_commit(root, f"refs/heads/{branch}")


def set_branch(root: Path, branch: str, commit: str) -> None:
    """Point `branch` at `commit` (git refuses when it is checked out somewhere)."""
    _call(git_at(root), "branch", "--force", "--quiet", branch, commit)
