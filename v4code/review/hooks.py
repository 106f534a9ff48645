"""Install and remove the git pre-commit hook, chaining any hook that was there before.

The hook is a small shell script. It runs the hook that was there before (if any) first, then
`v4code review --hook` with the Python environment v4code was installed in, so it works from a
virtualenv whether or not that is active when `git commit` runs; when that environment has
moved or gone, it finds v4code elsewhere, and never refuses a commit only because v4code is
missing (unless installed with --fail-closed).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from v4code.edits.atomic import atomic_write
from v4code.errors import ConfigError
from v4code.repo import git

MARKER = "# v4code pre-commit hook"
CHAINED = "pre-commit.v4code-chained"  # the hook that was there before, still run first
BACKUP = "pre-commit.v4code-backup"  # the hook `install --force` replaced


def hooks_dir(root: Path) -> Path:
    """Where git runs hooks from: core.hooksPath if set, else the (common) git dir's hooks."""
    # The runner points core.hooksPath at nothing; here the repository's own value is wanted.
    out = git.run_text(root, "rev-parse", "--git-path", "hooks", keep_config=("core.hooksPath",))
    path = Path(out.strip())
    return path if path.is_absolute() else root / path


def _console_script(python: str) -> str:
    """The `v4code` console script installed beside `python`, or "" when there is none."""
    script = Path(python).parent / "v4code"
    return str(script) if script.is_file() and os.access(script, os.X_OK) else ""


def hook_script(args: list[str], *, fail_closed: bool = False, python: str | None = None) -> str:
    """The hook: finds v4code at commit time, not only where it was when installed.

    The recorded interpreter (the one installing the hook) is used while it still exists and
    can import v4code; a venv that moved or was deleted falls back to `v4code` on PATH, then
    to `python3 -m v4code`. When none works, the commit goes ahead with a warning (fail-open),
    or is refused if the hook was installed with --fail-closed.
    """
    python = python or sys.executable
    script = _console_script(python)
    # `python -m` puts the repository first on sys.path, where a module of the user's could
    # shadow one v4code imports; -P (3.11+) leaves it out. The import checks run from `/`.
    safe = "-P " if sys.version_info >= (3, 11) else ""
    rest = " ".join(shlex.quote(a) for a in ["review", "--hook", *args])
    outcome = (
        "the commit is refused (installed with --fail-closed)"
        if fail_closed
        else "the commit goes ahead unreviewed"
    )
    return f"""#!/bin/sh
{MARKER} (`v4code hook uninstall` removes it and restores any hook it chained)
here=$(dirname "$0")
if [ -x "$here/{CHAINED}" ]; then
  "$here/{CHAINED}" "$@" || exit $?
fi
if [ "${{V4CODE_SKIP_REVIEW:-}}" = "1" ]; then
  echo "v4code review: skipped (V4CODE_SKIP_REVIEW=1)" >&2
  exit 0
fi
python={shlex.quote(python)}
script={shlex.quote(script)}
if [ -x "$python" ] && (cd / && "$python" -c "import v4code") >/dev/null 2>&1; then
  if [ -n "$script" ] && [ -x "$script" ]; then
    exec "$script" {rest}
  fi
  exec "$python" {safe}-m v4code {rest}
fi
if command -v v4code >/dev/null 2>&1 && (cd / && v4code --version) >/dev/null 2>&1; then
  exec v4code {rest}
fi
if (cd / && python3 -c "import v4code") >/dev/null 2>&1; then
  if python3 -P -c "" >/dev/null 2>&1; then
    exec python3 -P -m v4code {rest}
  fi
  exec python3 -m v4code {rest}
fi
echo "v4code review: warning: v4code cannot be found ($python is gone or has no v4code," >&2
echo "  and neither v4code on PATH nor python3 -m v4code works); {outcome}." >&2
echo "  Run 'v4code hook install' again from where v4code is installed." >&2
exit {1 if fail_closed else 0}
"""


def is_ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return MARKER in fh.read(4096)
    except OSError:
        return False


def install(
    root: Path, *, force: bool = False, args: list[str] | None = None, fail_closed: bool = False
) -> str:
    """Write the hook; an existing foreign hook is chained (or, with `force`, set aside)."""
    directory = hooks_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "pre-commit"
    chained = directory / CHAINED
    note = ""
    if (hook.exists() or hook.is_symlink()) and not is_ours(hook):
        if force:
            os.replace(hook, directory / BACKUP)
            note = f"; the previous hook was replaced (saved as {BACKUP})"
        elif chained.exists():
            raise ConfigError(
                f"{hook} is not v4code's and {chained.name} already exists beside it; "
                "move one of them away, or use --force to replace the hook"
            )
        else:
            os.replace(hook, chained)
            note = f"; the existing hook still runs first (kept as {CHAINED})"
    extra = ["--fail-closed"] if fail_closed else []
    script = hook_script([*(args or []), *extra], fail_closed=fail_closed)
    atomic_write(hook, script.encode("utf-8"), mode=0o755)
    return f"installed {hook}{note}"


def uninstall(root: Path) -> str:
    """Remove v4code's hook and put back the one it chained or replaced."""
    directory = hooks_dir(root)
    hook = directory / "pre-commit"
    if not hook.exists() or not is_ours(hook):
        raise ConfigError(f"{hook} is not v4code's hook; nothing to uninstall")
    hook.unlink()
    for saved in (directory / CHAINED, directory / BACKUP):
        if saved.exists() or saved.is_symlink():
            os.replace(saved, hook)
            return f"removed v4code's hook from {directory}; restored the previous pre-commit hook"
    return f"removed {hook}"
