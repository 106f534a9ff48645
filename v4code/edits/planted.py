"""What a command leaves in the workspace that v4code must not take for the user's own.

- A nested git repository (a `.git` below the root that was not there before the command,
  that the command replaced, or whose configuration it changed), and a `.git` at the root of
  a folder that was no repository before the command (`git init` in a plain folder, with an
  fsmonitor for the user's next `git status`). git on the host, v4code's own or the user's next `git
  status`, would read its configuration, and that can name programs: a clean filter, an
  fsmonitor. It is moved out of the workspace into v4code's checkpoint store (kept, not
  deleted), with a line that says where.
- A `.v4code/` where there was none: it is remembered (`safety.trust.remember_appeared`), so
  the chat never offers to trust it; `v4code trust`, run by the user, still can.

`snapshot.py` calls this around every command with the listing its scan made anyway, so
nothing is walked twice.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from v4code.textio import one_line

Repositories = Mapping[str, tuple[int, ...]]
"""`.git` path (workspace-relative) -> its identity, as `FileListing.repositories`."""

PROJECT_DIR = ".v4code"


ROOT_GIT = ".git"


def with_root(root: Path, found: Repositories) -> dict[str, tuple[int, ...]]:
    """`found` (the listing's nested repositories) plus the root's own `.git` when there is
    one: only whether it exists counts (the user's own repository changes its configuration
    as it likes; a sandboxed command cannot write it)."""
    out = dict(found)
    if os.path.lexists(root / ROOT_GIT):
        out[ROOT_GIT] = (1,)
    return out


def new_repositories(before: Repositories, after: Repositories) -> list[str]:
    """The `.git` entries that are new, not the same file as before the command, or hold a
    configuration that changed; the root's own only when it is new."""
    return sorted(
        rel
        for rel, ident in after.items()
        if before.get(rel) != ident and (rel != ROOT_GIT or rel not in before)
    )


def move_aside(root: Path, rels: list[str], aside: Path) -> list[str]:
    """Move each `.git` in `rels` from `root` to the same path below `aside`; the lines that
    say what happened (removed when it cannot be moved: it must not stay)."""
    lines: list[str] = []
    for rel in rels:
        source, dest = root / rel, aside / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(os.fspath(source), os.fspath(dest))
            where = f"moved to {dest}"
        except OSError as exc:
            _remove(source)
            where = f"removed (it could not be moved: {exc.strerror or exc})"
        lines.append(
            f"{one_line(rel)}: a git repository appeared inside the workspace (or its "
            f"configuration changed) during this command; {where}, because git on this machine would run programs its "
            "configuration names (move it back only if you trust it)"
        )
    return lines


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def has_project_dir(root: Path) -> bool:
    return os.path.lexists(root / PROJECT_DIR)


def project_dir_appeared(root: Path, existed: bool) -> str | None:
    """Remember a `.v4code/` the command made where there was none (the chat will not offer
    to trust it); the line that says so, or None."""
    if existed or not has_project_dir(root):
        return None
    from v4code.safety.trust import remember_appeared

    remember_appeared(root)
    return (
        f"{PROJECT_DIR}/ appeared during this command: v4code will not offer to trust it "
        "(the user can read it and run `v4code trust`)"
    )
