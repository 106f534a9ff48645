"""Where the programs v4code starts are found: on PATH, never in the workspace.

A repository can ship an executable named like a tool (`vllm`, `git`), and a PATH with `.`
or a relative entry, or one that points into the repository, would let it run in that
tool's place. `find_program` looks only at absolute PATH entries outside the workspace.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["find_program"]


def _inside(path: Path, workspace: Path) -> bool:
    return path == workspace or workspace in path.parents


def find_program(name: str, workspace: Path | None) -> str | None:
    """The absolute path of `name` on PATH, skipping relative entries and entries inside
    `workspace`; None when there is none. A name with a slash is not looked up."""
    if not name or os.sep in name:
        return None
    root = Path(os.path.realpath(workspace)) if workspace is not None else None
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue
        if root is not None and _inside(Path(os.path.realpath(entry)), root):
            continue
        found = shutil.which(name, path=entry)
        if found is None:
            continue
        if root is not None and _inside(Path(os.path.realpath(found)), root):
            continue  # a link on PATH that leads into the workspace
        return os.path.abspath(found)
    return None
