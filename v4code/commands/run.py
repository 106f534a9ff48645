"""`v4code run TASK`: one task for scripts and CI, no questions asked."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from v4code.commands import options, say, session_flags
from v4code.errors import ExitCode

if TYPE_CHECKING:
    from v4code.project_layer import SessionLayers

EXIT_CODES_HELP = """\b
Exit codes:
  0    done
  1    the task failed or the model gave up
  2    usage or configuration error
  3    API or backend error (after retries)
  4    a limit was reached (steps, cost, time)
  5    an action was denied (the permission mode, the guard, a secret file)
  130  interrupted (Ctrl-C)
"""


@click.command("run", epilog=EXIT_CODES_HELP)
@click.argument("task", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="text: progress on stderr, answer on stdout; json: one result object; jsonl: every event.",
)
@options.permission_mode(
    "What may happen without a person: anything `ask` would ask about is denied "
    "(read-only denies every effect; --plan is plan mode, --execute then uses this mode). "
    "Default: your config's permission_mode, else full-auto.",
)
@options.model()
@options.thinking()
@options.effort()
@options.max_steps("Stop after this many model requests.")
@options.max_cost("Stop once this many USD are spent.")
@options.max_time("Stop after this many seconds.")
@options.base_url()
@options.dialect()
@options.profile()
@click.option("--resume", "resume", metavar="ID", help="Continue session ID with this task.")
@options.continue_session("Continue the latest session here with this task.")
@options.cwd()
@click.option(
    "--allow-destructive",
    is_flag=True,
    default=None,
    help="Run commands such as `git reset --hard` or `rm -rf ./*` without asking.",
)
@click.option(
    "--allow-secrets",
    is_flag=True,
    default=None,
    help="Let the model read secret files (.env, private keys, credentials).",
)
@click.option(
    "--no-sandbox",
    "sandbox",
    flag_value=False,
    default=None,
    help="Run commands unconfined (when bubblewrap is missing or cannot start).",
)
@options.plan(
    "Plan mode: explore read-only and print a plan (steps, files, checks); change nothing."
)
@click.option(
    "--execute",
    is_flag=True,
    help="With --plan: carry the plan out at once under --permission-mode, no question asked.",
)
def run_command(
    task: tuple[str, ...],
    output: str,
    resume: str | None,
    continue_: bool,
    cwd: str | None,
    plan: bool,
    execute: bool,
    **flags: Any,
) -> None:
    """Run TASK to completion without asking anything (TASK `-` reads it from stdin).

    `/NAME ARGS` runs a custom command (a prompt file in .v4code/commands/ or your own).
    """
    from v4code.ui.headless_run import run_task

    if execute and not plan:
        say("v4code: --execute carries out a plan: give --plan too", err=True)
        sys.exit(ExitCode.USAGE)
    if continue_ and resume is not None:
        say("v4code: --continue and --resume name two sessions; give one", err=True)
        sys.exit(ExitCode.USAGE)
    text = " ".join(task)
    if text == "-":
        text = sys.stdin.read()
    layers = _layers(cwd)  # the config files and the project layer, read once for the start
    if text.startswith("/") and "/" not in text.split(maxsplit=1)[0][1:]:  # not a path
        text = _custom(text, layers, flags)
    if not text.strip():
        say("v4code: no task given (the task is empty)", err=True)
        sys.exit(ExitCode.USAGE)
    code = run_task(
        text,
        output=output,
        flags=session_flags(**flags),
        resume="" if continue_ else resume,  # "": the latest conversation
        plan=plan,
        execute=execute,
        layers=layers,
    )
    sys.exit(code)


def _layers(cwd: str | None) -> SessionLayers:
    """The user's config file and the workspace's project layer, read once."""
    from pathlib import Path

    from v4code.project_layer import read_layers
    from v4code.workspace import workspace_root

    return read_layers(workspace_root(Path(cwd) if cwd else None))


def _custom(text: str, layers: SessionLayers, flags: dict[str, Any]) -> str:
    """`/NAME ARGS` as its prompt; its front matter's model and thinking go into `flags`
    unless the command line set them."""
    from v4code.custom_commands import load_custom_commands, untrusted_notice

    name, _, arguments = text[1:].partition(" ")
    project = layers.project
    commands = load_custom_commands(project.root, project=project)
    command = commands.get(name.lower())
    if command is None and (notice := untrusted_notice(project.root, name, project)):
        say(f"v4code: {notice}", err=True)
        sys.exit(ExitCode.USAGE)
    if command is None:
        known = ", ".join(f"/{n}" for n in commands) or "none"
        say(f"v4code: no custom command /{name} (custom commands: {known})", err=True)
        sys.exit(ExitCode.USAGE)
    choice = command.thinking_choice()
    if choice is not None and flags["thinking"] is None and flags["effort"] is None:
        flags["thinking"], flags["effort"] = choice
    flags["model"] = flags["model"] or command.model
    return command.expand(arguments)
