"""What `v4code lsp status` says: per language, which server is configured, whether it is
found, and whether a session here would run it (and how)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from v4code.lsp.servers import LANGUAGES, configured_commands, sandbox_obstacle, server_argv
from v4code.textio import one_line

if TYPE_CHECKING:
    from v4code.config import Settings
    from v4code.lsp.servers import Language

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
            state = f"found at {argv[0]}; " + _would_run(settings, why_off, language, argv[0])
        lines.append(one_line(f"{language.name:<11}{named} ({whose}): {state}"))
    return lines


def _would_run(settings: Settings, why_off: str | None, language: Language, program: str) -> str:
    """Whether (and how) a session would run the server found at `program`."""
    if why_off is not None and not settings.diagnostics:
        return why_off
    obstacle = sandbox_obstacle(language, program) if settings.sandbox else None
    if obstacle is not None:
        return f"off: {obstacle}"
    return why_off or _how(settings)


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
