"""Workspace confinement: every path a tool touches resolves inside the workspace root."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from v4code.errors import NotARepository, WorkspaceError


def resolve_in_workspace(root: Path, path: str, *, must_exist: bool = False) -> Path:
    """Resolve `path` (relative to `root`, or absolute) and refuse anything outside the root.

    Symlinks are resolved first, so a link inside the workspace that points outside it is
    refused just like `../` would be.
    """
    if not isinstance(path, str) or not path.strip():
        raise WorkspaceError("The path is empty; give a path relative to the workspace root.")
    if "\x00" in path:
        raise WorkspaceError("The path contains a NUL byte.")
    root_real = Path(os.path.realpath(root))
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = root_real / candidate
    real = Path(os.path.realpath(candidate))
    if real != root_real and root_real not in real.parents:
        raise WorkspaceError(
            f"{path!r} resolves to {real}, which is outside the workspace {root_real}; "
            "only files inside the workspace can be used."
        )
    if must_exist and not real.exists():
        raise WorkspaceError(f"{path!r} does not exist in the workspace.")
    return real


PROTECTED_DIRS = (".git", ".v4code")


def protected_reason(root: Path, real: Path, homes: Iterable[Path] = ()) -> str | None:
    """Why the model's edit tools may not change `real` (a resolved path), or None.

    `.git/` (hooks, config: code that runs on the user's next git command) and `.v4code/`
    (settings, tools: code v4code itself runs) would let a model, or a repository steering it,
    plant something that outlives the session; so would v4code's home (`homes`). A person can
    still change them by hand.
    """
    rel = Path(relative_to_root(root, real))
    under = next((f"{part}/" for part in rel.parts if part in PROTECTED_DIRS), None)
    for home in homes:
        home_real = Path(os.path.realpath(home))
        if under is None and (real == home_real or home_real in real.parents):
            under = "v4code's home folder"
    if under is None:
        return None
    return (
        f"{rel.as_posix()} is protected (under {under}): v4code's tools do not edit git's or "
        "v4code's own files; ask the user to change it"
    )


def resolve_for_edit(root: Path, path: str, homes: Iterable[Path] = ()) -> Path:
    """`resolve_in_workspace`, then refuse the protected paths (see `protected_reason`)."""
    real = resolve_in_workspace(root, path)
    reason = protected_reason(root, real, homes)
    if reason is not None:
        raise WorkspaceError(reason)
    return real


def relative_to_root(root: Path, path: Path) -> str:
    """The workspace-relative POSIX form of a resolved path, for messages and diffs."""
    root_real = Path(os.path.realpath(root))
    try:
        rel = path.relative_to(root_real)
    except ValueError:
        return str(path)
    return rel.as_posix() or "."


def git_top_level(start: Path | None = None) -> Path | None:
    """The git top level containing `start` (default: cwd), or None outside any repository."""
    here = Path(os.path.realpath(start or Path.cwd()))
    return next((c for c in (here, *here.parents) if (c / ".git").exists()), None)


def workspace_root(start: Path | None = None) -> Path:
    """The git top level containing `start` (default: cwd), else `start` itself."""
    return git_top_level(start) or Path(os.path.realpath(start or Path.cwd()))


def repository_root(command: str, start: Path | None = None) -> Path:
    """The git top level for a command that works in a repository (review's diff, the map's
    files, the hook, a batch plan): outside one it says so in one line instead of reading
    whatever lies below, or passing git's own error on."""
    top = git_top_level(start)
    if top is None:
        raise not_a_repository(command, start)
    return top


def not_a_repository(command: str, start: Path | None = None) -> NotARepository:
    """The one way every command needing a repository says it was run outside one."""
    here = os.path.realpath(start or Path.cwd())
    return NotARepository(
        f"{here} is not inside a git repository, and `v4code {command}` needs one: "
        "run it in a repository (or `git init` first)"
    )
