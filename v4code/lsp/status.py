"""What `v4code lsp status` says: per language, which server is configured, whether it is
found, and whether a session here would run it (and how)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from v4code.lsp.servers import LANGUAGES, configured_commands, server_argv
from v4code.textio import one_line

if TYPE_CHECKING:
    from v4code.config import Settings

__all__ = ["status_lines"]


def status_lines(settings: Settings, root: Path) -> list[str]:
    """One line per language: `python  basedpyright-langserver --stdio (default): found at
    /usr/bin/...; would run in the read-only sandbox`."""
    why_off = _off(settings, root)
    lines = []
    commands = configured_commands(settings)
    for language in LANGUAGES:
        configured = commands[language.name]
        argv = server_argv(language, configured, root)
        named = " ".join(configured or language.default)
        whose = "your config" if configured else "default"
        if argv is None:
            state = "not found" if configured else "not installed"
        else:
            state = f"found at {argv[0]}; " + (why_off or _how(settings))
        lines.append(one_line(f"{language.name:<11}{named} ({whose}): {state}"))
    return lines


def _off(settings: Settings, root: Path) -> str | None:
    """Why no server would run in a session here, or None."""
    if not settings.diagnostics:
        return "off (diagnostics = false)"
    if not settings.sandbox:
        return None
    from v4code.safety.sandbox import sandbox_problem

    problem = sandbox_problem(root)
    return None if problem is None else f"off: the sandbox cannot start here ({problem})"


def _how(settings: Settings) -> str:
    if settings.sandbox:
        return "would run in the read-only sandbox"
    return "would run without the sandbox (sandbox = false)"
