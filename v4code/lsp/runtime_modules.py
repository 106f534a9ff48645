"""Imports a checker cannot resolve because the module is made while the program runs.

`six.moves` is the common case: `six.py` is one module file, and importing it puts `moves`
(and `moves.urllib.parse`, ...) into `sys.modules` as it runs. A checker finds such a module
only through stubs written for the installed package, never in a vendored copy under another
name (`from ..packages.six.moves import urllib`), so the edit that adds such an import reads
as one that broke it. A name whose leading part is a module file in the workspace, not a
package folder, can only be resolved this way (a file has no submodules on disk): its import
is not counted as the edit's error. A misspelt leading part (`..packages.sixx.moves`) still is.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["made_at_run_time"]

UNRESOLVED = re.compile(r'^Import "(?P<name>\.*[A-Za-z_][\w.]*)" could not be resolved')
"""basedpyright's and pyright's message for an import they found nowhere."""


def made_at_run_time(root: Path, path: str, message: str) -> bool:
    """Whether `message` (an error in the workspace file `path`) is an unresolved import
    whose leading part is a module file inside the workspace: see the module's docstring."""
    match = UNRESOLVED.match(message)
    if match is None:
        return False
    name = match["name"]
    dots = len(name) - len(name.lstrip("."))
    parts = name[dots:].split(".")
    if dots:
        start = (root / path).parent
        for _ in range(dots - 1):
            start = start.parent
        starts = [start]
    else:
        starts = [root, root / "src"]
    inside = root.resolve()
    return any(_file_module_leads(inside, start, parts) for start in starts)


def _file_module_leads(inside: Path, start: Path, parts: list[str]) -> bool:
    """Whether, from `start`, the packages named by `parts` lead to a module file that
    is followed by more names, all inside the resolved workspace root `inside` (links
    resolved)."""
    folder = start
    for part in parts[:-1]:
        if not folder.resolve().is_relative_to(inside):
            return False
        module = folder / f"{part}.py"
        if module.is_file() and module.resolve().is_relative_to(inside):
            return True
        folder = folder / part
        if not folder.is_dir():
            return False
    return False
