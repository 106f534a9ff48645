"""The files of a workspace as a person sees them: a gitignore-aware listing (globs: globs.py).

Inside a git work tree the listing is `git ls-files --cached --others --exclude-standard`
(tracked files plus untracked ones that are not ignored); elsewhere it is a walk that skips
version-control metadata, dependency folders and caches. Paths are workspace-relative POSIX
strings, sorted. Used by the `list_files` and `grep` tools, the repo map and the review.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.globs import compile_glob, glob_matches
from v4code.repo import git

__all__ = [
    "SKIP_DIRS",
    "FileListing",
    "compile_glob",
    "glob_matches",
    "is_git_work_tree",
    "list_files",
]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".jj",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".idea",
        ".DS_Store",
    }
)
"""Directory names a walk outside git never enters (git's own ignore rules apply inside it)."""

WALK_LIMIT = 200_000
"""A walk stops after this many files (a workspace that is really a home directory, say)."""


@dataclass(frozen=True)
class FileListing:
    files: list[str]
    """Workspace-relative POSIX paths, sorted."""
    source: str
    """"git" (ls-files) or "walk"."""
    complete: bool = True
    """False when the walk stopped at WALK_LIMIT."""
    note: str = ""
    """Something worth telling the reader (an ignored directory listed anyway, ...)."""
    repositories: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """The nested git repositories below the root among the listed entries (a gitlink, or an
    untracked folder with a `.git`): the `.git` entry's path -> its identity (`_identity`).
    Found while listing, so no second walk (a walk records the `.git` entries it skips)."""


def list_files(
    root: Path, under: Path | None = None, *, cancel: CancelToken | None = None
) -> FileListing:
    """The files below `under` (a resolved path inside `root`; the root by default)."""
    root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(under)) if under is not None else root
    if target.is_file():
        return FileListing([_rel(root, target)], "walk")
    found = _git_files(root, target)
    if found is not None:
        files, repositories = found
        if files or not _has_any_file(target):
            return FileListing(files, "git", repositories=repositories)
        listing = _walk(root, target, cancel)
        note = f"{_rel(root, target)} is ignored by git (or untracked); listed anyway."
        return FileListing(listing.files, "walk", listing.complete, note)
    return _walk(root, target, cancel)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _git_files(root: Path, target: Path) -> tuple[list[str], dict[str, tuple[int, ...]]] | None:
    """ls-files output relative to the root and the nested repositories among it (see
    `FileListing.repositories`), or None when git is missing or this is no repo.

    One git process: ls-files itself fails outside a work tree (and inside `.git/`), so no
    separate `rev-parse` is needed; this runs before and after every command (snapshots).
    """
    spec = _rel(root, target)
    try:
        out = git.run(
            root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", spec,
            timeout=60,
        )  # fmt: skip
    except git.GitError:
        return None
    names = set(out.decode("utf-8", "surrogateescape").split("\0"))
    names.discard("")
    base = str(root) + os.sep
    lstat = os.lstat
    files: list[str] = []
    repositories: dict[str, tuple[int, ...]] = {}
    for name in names:
        try:  # tracked files deleted from disk are still in the index: list what is there
            mode = lstat(base + name).st_mode
        except OSError:
            continue
        files.append(name)
        if stat.S_ISDIR(mode):  # a gitlink, or an untracked repository ("sub/")
            marker = name.rstrip("/") + "/.git"
            with contextlib.suppress(OSError):
                repositories[marker] = _identity(base + marker)
    return sorted(files), repositories


def _identity(path: str) -> tuple[int, ...]:
    """What tells one `.git` from another put in its place (an inode can be reused at once)
    and from itself with a changed configuration: its own inode and type, and the identity,
    size and times of what names programs (`config` in a directory, the file itself)."""
    st = os.lstat(path)
    named = st
    if stat.S_ISDIR(st.st_mode):
        try:
            named = os.lstat(path + "/config")
        except OSError:
            return (st.st_ino, stat.S_IFMT(st.st_mode))
    return (st.st_ino, stat.S_IFMT(st.st_mode), named.st_ino, named.st_size,
            named.st_mtime_ns, named.st_ctime_ns)  # fmt: skip


def is_git_work_tree(root: Path) -> bool:
    """Whether `root` is inside a git work tree (and git is installed)."""
    try:
        return git.run(root, "rev-parse", "--is-inside-work-tree", timeout=20).strip() == b"true"
    except git.GitError:
        return False


def _has_any_file(target: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if filenames:
            return True
    return False


def _walk(root: Path, target: Path, cancel: CancelToken | None) -> FileListing:
    """Every file below `target` but the skipped folders; the `.git` entries below the root
    that the walk passes over are its nested repositories (a folder that is no repository
    may hold some, and a command may make more)."""
    files: list[str] = []
    repositories: dict[str, tuple[int, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(target):
        if cancel is not None:
            cancel.raise_if_cancelled()
        base = Path(dirpath)
        if ".git" in dirnames or ".git" in filenames:
            marker = base / ".git"
            if marker != root / ".git":
                with contextlib.suppress(OSError):
                    repositories[_rel(root, marker)] = _identity(str(marker))
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            if name in SKIP_DIRS:
                continue
            files.append(_rel(root, base / name))
            if len(files) >= WALK_LIMIT:
                return FileListing(sorted(files), "walk", False, repositories=repositories)
    return FileListing(sorted(files), "walk", repositories=repositories)
