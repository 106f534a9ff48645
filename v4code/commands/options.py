"""The options several commands share, declared once: the session's endpoint and model, its
limits, the folder it works in.

Each is a decorator factory; a command may word the help for what the option means there
(`-m` of `batch plan` names the model of its discovery pass) but the names, the type and the
value's meaning stay the same everywhere. Imports only click and `choices`, so the root group
(`v4code --help`) may use them without loading any command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import click

from v4code.choices import DIALECTS, EFFORTS, PERMISSION_MODES

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """What `click.option` returns: it adds the option to the command it decorates."""

    def __call__(self, f: F, /) -> F: ...


EFFORT = click.Choice(EFFORTS, case_sensitive=False)
"""`--effort`'s type, for every command that takes it (the chat, run, review)."""

PROFILE_HELP = "Use [profiles.NAME] from your config (see `v4code profiles`)."


def model(
    help: str = "Model ID (deepseek-v4-pro, deepseek-flash), or auto: Flash, Pro when it is stuck.",
) -> Decorator:
    """`-m/--model`: the model id the session asks for."""
    return click.option("-m", "--model", help=help)


def thinking() -> Decorator:
    """`--thinking/--no-thinking`: V4's thinking mode on or off (unset: the config's)."""
    return click.option("--thinking/--no-thinking", default=None, help="Switch V4's thinking mode.")


def effort(
    help: str = "Reasoning effort: low, high or max (none turns thinking off).",
) -> Decorator:
    """`--effort`: low, high, max, or none (thinking off: see `commands.session_flags`)."""
    return click.option("--effort", type=EFFORT, help=help)


def base_url() -> Decorator:
    """`--base-url`: the OpenAI-compatible endpoint."""
    return click.option(
        "--base-url", help="OpenAI-compatible endpoint (default https://api.deepseek.com)."
    )


def dialect(
    help: str = "The engine the endpoint is: how it takes thinking and replays reasoning.",
) -> Decorator:
    """`--dialect`: which engine's wire habits the endpoint has."""
    return click.option("--dialect", type=click.Choice(DIALECTS), help=help)


def profile(help: str = PROFILE_HELP, dest: str = "profile", **extra: Any) -> Decorator:
    """`--profile NAME`: a `[profiles.NAME]` table of the user's config."""
    return click.option("--profile", dest, help=help, **extra)


def permission_mode(help: str, modes: Sequence[str] = PERMISSION_MODES, **extra: Any) -> Decorator:
    """`--permission-mode`: what may happen without asking (each command words its default)."""
    return click.option("--permission-mode", type=click.Choice(modes), help=help, **extra)


def max_steps(help: str) -> Decorator:
    """`--max-steps`: a cap on model requests."""
    return click.option("--max-steps", type=click.IntRange(min=1), help=help)


def max_cost(help: str) -> Decorator:
    """`--max-cost`: a cap in USD."""
    return click.option("--max-cost", type=click.FloatRange(min=0), help=help)


def max_time(help: str) -> Decorator:
    """`--max-time`: a cap in seconds."""
    return click.option("--max-time", type=click.FloatRange(min=0), help=help)


def continue_session(help: str) -> Decorator:
    """`-c/--continue`: go on from this workspace's latest session."""
    return click.option("-c", "--continue", "continue_", is_flag=True, help=help)


def plan(help: str) -> Decorator:
    """`--plan`: start in plan mode (reads only until a plan is approved)."""
    return click.option("--plan", "plan", is_flag=True, help=help)


def cwd(
    help: str = "Work in this directory instead of the current one.",
    *aliases: str,
    dest: str = "cwd",
    path_type: type[Any] | None = None,
    **extra: Any,
) -> Decorator:
    """`-C/--cwd DIR`, as git -C: the folder the command works in (a str unless `path_type`
    says otherwise: pathlib is not needed for `--help`)."""
    folder = click.Path(exists=True, file_okay=False, path_type=path_type)
    return click.option("-C", "--cwd", *aliases, dest, type=folder, help=help, **extra)
