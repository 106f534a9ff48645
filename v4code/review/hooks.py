"""Install and remove the git pre-commit hook, chaining any hook that was there before."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from v4code.errors import ConfigError
from v4code.review.diff import git

MARKER = "# v4code pre-commit hook"
CHAINED = "pre-commit.v4code-chained"


def hooks_dir(root: Path) -> Path:
    """Where git looks for hooks: core.hooksPath if set, else the repository's hooks dir."""
    try:
        configured = git(root, "config", "--get", "core.hooksPath").strip()
    except ConfigError:
        configured = ""
    if configured:
        path = Path(os.path.expanduser(configured))
        top = Path(git(root, "rev-parse", "--show-toplevel").strip())
        return path if path.is_absolute() else top / path
    return Path(git(root, "rev-parse", "--absolute-git-dir").strip()) / "hooks"


def hook_script(args: list[str]) -> str:
    command = " ".join(
        shlex.quote(a) for a in [sys.executable, "-m", "v4code", "review", "--hook", *args]
    )
    return f"""#!/bin/sh
{MARKER} (`v4code hook uninstall` removes it and restores any hook it chained)
here=$(dirname "$0")
if [ -x "$here/{CHAINED}" ]; then
  "$here/{CHAINED}" "$@" || exit $?
fi
if [ "$V4CODE_SKIP_REVIEW" = "1" ]; then
  exit 0
fi
exec {command}
"""


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(root: Path, *, force: bool = False, args: list[str] | None = None) -> str:
    directory = hooks_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "pre-commit"
    chained = directory / CHAINED
    note = ""
    if hook.exists() and not is_ours(hook):
        if chained.exists() and not force:
            raise ConfigError(f"{chained} already exists; move it away or use --force")
        if force:
            backup = directory / "pre-commit.v4code-backup"
            os.replace(hook, backup)
            note = f"; the previous hook was replaced (kept as {backup.name})"
        else:
            os.replace(hook, chained)
            note = f"; the existing hook still runs first (kept as {chained.name})"
    hook.write_text(hook_script(args or []), encoding="utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"installed {hook}{note}"


def uninstall(root: Path) -> str:
    directory = hooks_dir(root)
    hook = directory / "pre-commit"
    chained = directory / CHAINED
    if not hook.exists() or not is_ours(hook):
        raise ConfigError(f"{hook} is not v4code's hook; nothing to uninstall")
    hook.unlink()
    if chained.exists():
        os.replace(chained, hook)
        return f"removed v4code's hook; restored the previous {hook.name}"
    return f"removed {hook}"
