"""The project's Python environment as a Python language server is told about it.

A user's third-party packages live in the workspace's virtualenv (`.venv`, `venv`) or in the
virtualenv they activated (`VIRTUAL_ENV`). A server that does not see them reports every
import of one as unresolved (`Import "urllib3" could not be resolved`): a false alarm on
each edit that adds such an import. The sandboxed server is given a PATH without the
workspace's folders and shows nothing of /home, so it finds neither by itself.

What it is told, in its `workspace/configuration` answer (the sections basedpyright and
pyright ask for):

- `python.pythonPath`: the interpreter it asks for its search paths and Python version (it
  runs one whatever it is told). The user's activated virtualenv's when that lies outside
  the workspace (the user's choice, not the repository's; its `.pth` files and search order
  come with it), else the first `python3`/`python` on PATH outside the workspace, which is
  what the server would run by itself. Naming one also keeps basedpyright from running a
  workspace's `.venv/bin/python`, which it does when no interpreter is named: a program the
  repository controls.
- `analysis.extraPaths`: the workspace virtualenv's `lib/python3*/site-packages`, read as
  files and never run. One whose real path leaves the workspace (a link to another
  project's, or to a folder of the machine) is refused: a repository must not steer the
  server's reads outside itself. Limits: a `.pth` file there (an editable install) is not
  followed, and a package in it could shadow a standard module of the same name, since
  extra paths come before the standard library's stubs.
- `analysis.autoSearchPaths`: on, as the server has it when a client sends no settings
  (sending any turns it off): a `src/` layout's package resolves from its tests.

Windows layouts (`Lib/site-packages`, `Scripts/python.exe`) are not looked for.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PythonEnvironment", "configuration", "python_environment"]

WORKSPACE_VENVS = (".venv", "venv")
"""The workspace folders taken for the project's virtualenv (uv, poetry, pdm, `python -m
venv` name them so), in this order."""

STANDARD = {"typeCheckingMode": "standard"}
"""pyright's standard rule set (basedpyright's own default, "recommended", makes many
warnings errors, such as redefining an upper-case name)."""


@dataclass(frozen=True)
class PythonEnvironment:
    """What the server is told about the project's Python, and what the sandbox shows it."""

    interpreter: str | None = None  # `python.pythonPath`
    site_packages: tuple[Path, ...] = ()  # `analysis.extraPaths`: the workspace venv's
    readable: tuple[Path, ...] = ()  # outside the workspace: the user's activated venv


def python_environment(
    root: Path, path: str | None = None, environ: Mapping[str, str] | None = None
) -> PythonEnvironment:
    """The project's environment for a server checking `root` (`path`: the PATH the server
    gets, its workspace folders left out; `environ`: the user's environment)."""
    environ = os.environ if environ is None else environ
    real_root = Path(os.path.realpath(root))
    venvs = [root / name for name in WORKSPACE_VENVS]
    active = environ.get("VIRTUAL_ENV", "")
    user = _user_venv(active, root, real_root)
    if user is None and active and os.path.isabs(active):
        venvs.append(Path(active))  # activated, but the workspace's: read as its own
    found = [p for venv in venvs for p in _site_packages(venv, real_root)]
    interpreter = str(user / "bin" / "python") if user else _outside_interpreter(path)
    readable = () if user is None else (user,)
    return PythonEnvironment(interpreter, tuple(dict.fromkeys(found)), readable)


def _site_packages(venv: Path, real_root: Path) -> list[Path]:
    """`venv`'s site-packages folders, as real paths inside the workspace; one that leaves
    it (through a link anywhere on the way) is left out."""
    out = []
    for found in sorted(venv.glob("lib/python3*/site-packages")):
        real = Path(os.path.realpath(found))
        if real.is_dir() and real.is_relative_to(real_root):
            out.append(real)
    return out


def _inside(path: Path, root: Path, real_root: Path) -> bool:
    """Whether `path` is the workspace's, as written or once its links are resolved."""
    lexical = Path(os.path.normpath(path))
    real = Path(os.path.realpath(path))
    return lexical.is_relative_to(root) or real.is_relative_to(real_root)


def _user_venv(value: str, root: Path, real_root: Path) -> Path | None:
    """The virtualenv the user activated, when it is one (a `pyvenv.cfg` and a
    `bin/python`) and lies outside the workspace; one inside it is the repository's to
    shape, and is read as the workspace's own venvs are."""
    if not value or not os.path.isabs(value):
        return None
    venv = Path(os.path.normpath(value))
    if _inside(venv, root, real_root):
        return None
    if not (venv / "pyvenv.cfg").is_file() or not (venv / "bin" / "python").exists():
        return None
    return venv


def _outside_interpreter(path: str | None) -> str | None:
    """The `python3` (or `python`) the server would run by itself on `path`, else the one
    running v4code."""
    for name in ("python3", "python"):
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    return sys.executable or None


def configuration(env: PythonEnvironment) -> dict[str, Any]:
    """The settings answered per section basedpyright and pyright ask for (newer
    basedpyright asks for `python` and `basedpyright` and reads its `analysis`, older ones
    ask for `basedpyright.analysis`, pyright for `python.analysis`)."""
    analysis: dict[str, Any] = {**STANDARD, "autoSearchPaths": True}
    if env.site_packages:
        analysis["extraPaths"] = [str(p) for p in env.site_packages]
    python: dict[str, Any] = {"analysis": dict(analysis)}
    if env.interpreter is not None:
        python["pythonPath"] = env.interpreter
    return {
        "python": python,
        "basedpyright": {"analysis": dict(analysis)},
        "pyright": {"analysis": dict(analysis)},
    }
