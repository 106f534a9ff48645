"""The files of a workspace as a person sees them: a gitignore-aware listing (globs: globs.py).

Inside a git work tree the listing is `git ls-files --cached --others --exclude-standard`
(tracked files plus untracked ones that are not ignored); elsewhere it is a walk that skips
version-control metadata, dependency folders and caches. Paths are workspace-relative POSIX
strings, sorted. Used by the `list_files` and `grep` tools, the repo map and the review.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


def list_files(
    root: Path, under: Path | None = None, *, cancel: CancelToken | None = None
) -> FileListing:
    """The files below `under` (a resolved path inside `root`; the root by default)."""
    root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(under)) if under is not None else root
    if target.is_file():
        return FileListing([_rel(root, target)], "walk")
    files = _git_files(root, target)
    if files is not None:
        if files or not _has_any_file(target):
            return FileListing(files, "git")
        listing = _walk(root, target, cancel)
        note = f"{_rel(root, target)} is ignored by git (or untracked); listed anyway."
        return FileListing(listing.files, "walk", listing.complete, note)
    return _walk(root, target, cancel)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _git_files(root: Path, target: Path) -> list[str] | None:
    """ls-files output relative to the root, or None when git is missing or this is no repo.

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
    lexists = os.path.lexists
    # Tracked files deleted from disk are still in the index: list what a person would see.
    return sorted([n for n in names if lexists(base + n)])


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
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(target):
        if cancel is not None:
            cancel.raise_if_cancelled()
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        base = Path(dirpath)
        for name in filenames:
            if name in SKIP_DIRS:
                continue
            files.append(_rel(root, base / name))
            if len(files) >= WALK_LIMIT:
                return FileListing(sorted(files), "walk", complete=False)
    return FileListing(sorted(files), "walk")
