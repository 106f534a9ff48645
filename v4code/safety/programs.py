"""Where the programs v4code starts by itself live: found once, never inside a workspace.

v4code starts git, rg, bwrap, sh and bash on its own, and it used to look each one up on
PATH at every use. PATH usually holds the workspace's activated virtualenv (`.venv/bin`),
which a sandboxed command (or an edit tool: `move_file` keeps a file's mode) can write: a
planted `.venv/bin/git` would then run on the host for v4code's own snapshot, a planted
`.venv/bin/bwrap` would *be* the sandbox. So every such program is resolved here to an
absolute path, skipping

- PATH entries that are relative or empty (they name the current folder, which is usually
  the workspace),
- PATH entries inside a workspace v4code has been given in this process (lexically or once
  links are resolved), and candidates that are links into one,

and the answer is kept for the rest of the process (per PATH, for tests that change it). When
the only candidate is inside a workspace it is not used, and one notice says so
(`git found only at .venv/bin/git: not used`); the core never prints, so frontends take the
notices with `take_notices()`.

This rule is for what v4code starts on its own. A command the user approved, a hook or an MCP
server the user configured runs as the user wrote it.

A leaf: imports nothing from v4code, so every layer may use it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = [
    "WORKSPACES_ENV",
    "find_program",
    "inside_workspace",
    "outside_path",
    "take_notices",
    "workspaces_env",
]

WORKSPACES_ENV = "V4CODE_WORKSPACES"
"""The workspaces of the v4code process that started this one (a batch driver's repository,
for a unit's agent working in a worktree elsewhere): PATH folders there are skipped too."""

_lock = threading.Lock()
_workspaces: list[Path] = []
_found: dict[tuple[str, str, tuple[Path, ...]], str | None] = {}
_notices: list[str] = []
_said: set[str] = set()
_inherited: list[bool] = []  # [True] once WORKSPACES_ENV was read


def _forms(path: Path) -> set[Path]:
    """The path as written (made absolute, normalised), with its links resolved, and each
    of its parents resolved with the rest kept as written: a workspace reached through a
    link (`~/proj` -> `/data/proj`) holds `~/proj/.venv/bin` even when a command made that
    folder a link to somewhere else."""
    lexical = Path(os.path.normpath(os.path.abspath(path)))
    forms = {lexical}
    for parent in lexical.parents:
        try:
            forms.add(Path(os.path.realpath(parent)) / lexical.relative_to(parent))
        except (OSError, ValueError):
            continue
    try:
        forms.add(Path(os.path.realpath(lexical)))
    except OSError:
        pass
    return forms


def _remember(workspace: Path | None) -> tuple[Path, ...]:
    given = [] if workspace is None else [workspace]
    if not _inherited:
        _inherited.append(True)
        raw = os.environ.get(WORKSPACES_ENV, "")
        given += [Path(p) for p in raw.split(os.pathsep) if os.path.isabs(p)]
    for folder in given:
        for form in sorted(_forms(folder)):
            if form != Path("/") and form not in _workspaces:
                _workspaces.append(form)
    return tuple(_workspaces)


def workspaces_env(workspace: Path | None = None) -> dict[str, str]:
    """`{WORKSPACES_ENV: ...}` for a v4code child: this process's workspaces (and
    `workspace`), whose PATH folders it must skip as well."""
    with _lock:
        bases = _remember(workspace)
    return {WORKSPACES_ENV: os.pathsep.join(str(base) for base in bases)}


def _within(path: Path, bases: tuple[Path, ...]) -> Path | None:
    """The workspace among `bases` that holds `path` (in either form), or None."""
    for form in _forms(path):
        for base in bases:
            if form == base or base in form.parents:
                return base
    return None


def inside_workspace(path: str | Path, workspace: Path | None = None) -> bool:
    """Whether `path` lies in `workspace` or in any workspace this process was given."""
    with _lock:
        bases = _remember(workspace)
    return _within(Path(path), bases) is not None


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _search(name: str, search_path: str, bases: tuple[Path, ...]) -> tuple[str | None, str | None]:
    """(the first usable candidate, the first one skipped for being in a workspace)."""
    skipped: str | None = None
    for entry in search_path.split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue
        candidate = os.path.join(os.path.normpath(entry), name)
        if not _executable(candidate):
            continue
        holder = _within(Path(entry), bases) or _within(Path(candidate), bases)
        if holder is None:
            return candidate, skipped
        if skipped is None:
            shown = Path(os.path.normpath(candidate))
            with_base = shown.relative_to(holder) if holder in shown.parents else shown
            skipped = with_base.as_posix()
    return None, skipped


def find_program(name: str, workspace: Path | None) -> str | None:
    """The absolute path of program `name` for v4code to start, or None when there is none
    outside the workspaces (a notice then says where the skipped one was).

    `name` may also be an absolute path (`/bin/sh`): it is kept when it is an executable file
    that does not lie in a workspace.
    """
    search_path = os.environ.get("PATH", os.defpath)
    with _lock:
        bases = _remember(workspace)
        key = (name, search_path, bases)
        if key in _found:
            return _found[key]
    if os.path.isabs(name):
        inside = _within(Path(name), bases) is not None
        found, skipped = (None, name) if inside else (name if _executable(name) else None, None)
    else:
        found, skipped = _search(name, search_path, bases)
    with _lock:
        _found[key] = found
        if found is None and skipped is not None and name not in _said:
            _said.add(name)
            _notices.append(f"{Path(name).name} found only at {skipped}: not used")
    return found


def outside_path(workspace: Path | None) -> str:
    """PATH without its relative or empty entries and the folders inside a workspace, for a
    program v4code starts that looks up others itself (a language server's `#!/usr/bin/env
    node`, gopls's `go`): a `node` the repository ships in an activated `.venv/bin` would be
    it, unasked."""
    with _lock:
        bases = _remember(workspace)
    kept = [
        entry
        for entry in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if entry and os.path.isabs(entry) and _within(Path(entry), bases) is None
    ]
    return os.pathsep.join(kept)


def take_notices() -> list[str]:
    """The notices not taken yet (each is given once), for a frontend to show."""
    with _lock:
        out = list(_notices)
        _notices.clear()
    return out
