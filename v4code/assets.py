"""The one locator for the bundled `tools/` and `prompts/` directories, and prompt loading.

In a wheel they live in `v4code/_bundled/`; in a checkout (or an editable install) they are
beside the package, recognised by the `pyproject.toml` next to them so a stray
`site-packages/tools` is never mistaken for ours.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import TYPE_CHECKING

import v4code
from v4code.errors import V4codeError

if TYPE_CHECKING:
    from v4code.project_layer import ProjectLayer


def _bundled_dir(kind: str) -> Path:
    package_dir = Path(v4code.__file__).resolve().parent
    bundled = package_dir / "_bundled" / kind
    checkout = package_dir.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / kind).is_dir():
        return checkout / kind
    if bundled.is_dir():
        return bundled
    raise V4codeError(f"v4code's {kind}/ directory is missing; reinstall v4code.")


@functools.cache
def tools_dir() -> Path:
    return _bundled_dir("tools")


@functools.cache
def prompts_dir() -> Path:
    return _bundled_dir("prompts")


def prompt_path(name: str, project: ProjectLayer | None = None) -> Path:
    """Project `.v4code/prompts/` overrides the user's, which override the bundled one.

    The project's prompt counts only in a repository the user trusts (safety/trust.py): an
    untrusted one could otherwise rewrite the review's instructions to pass anything.
    `project`: the session's project layer, which says whether it was trusted.
    """
    from v4code.home import user_home

    candidates = []
    if project is not None and (found := project.prompt(name)) is not None:
        candidates.append(found)
    candidates.append(user_home() / "prompts" / f"{name}.md")
    candidates.append(prompts_dir() / f"{name}.md")
    for c in candidates:
        if c.is_file():
            return c
    raise V4codeError(f"prompt {name!r} not found (looked in {', '.join(map(str, candidates))})")


def load_prompt(name: str, project: ProjectLayer | None = None, **variables: str) -> str:
    """Render a Markdown prompt; a missing `$variable` is an error, not a silent blank."""
    text = prompt_path(name, project).read_text(encoding="utf-8")
    return string.Template(text).substitute(variables)
