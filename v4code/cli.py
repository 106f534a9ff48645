"""The command line: click commands that build objects and hand them to a frontend.

Heavy modules (the openai SDK, rich, prompt-toolkit, tree-sitter) are imported inside the
commands that need them, so `v4code --help` and `v4code --version` stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from v4code import __version__
from v4code.errors import ExitCode, V4codeError

EXIT_CODES_HELP = """\b
Exit codes:
  0    done
  1    the task failed or the model gave up
  2    usage or configuration error
  3    API or backend error (after retries)
  4    a limit was reached (steps, cost, time)
  5    an action was denied by the permission mode
  130  interrupted (Ctrl-C)
"""


def _fail(exc: V4codeError) -> None:
    click.echo(f"v4code: {exc.message}", err=True)
    sys.exit(exc.exit_code)


def _settings(root: Path, flags: dict[str, Any]) -> Any:
    from v4code.config import load_settings

    return load_settings(root, flags).settings


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="v4code")
@click.option(
    "-p", "--print", "prompt", metavar="TASK", help="Run TASK without a prompt, like `v4code run`."
)
@click.option(
    "-c", "--continue", "continue_", is_flag=True, help="Continue the latest session here."
)
@click.option(
    "-r",
    "--resume",
    "resume",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ID]",
    help="Resume a session (a picker when no ID is given).",
)
@click.option("-m", "--model", help="Model ID, e.g. deepseek-v4-pro or deepseek-flash.")
@click.option(
    "--permission-mode", type=click.Choice(["read-only", "ask", "auto-edit", "full-auto"])
)
@click.pass_context
def main(
    ctx: click.Context,
    prompt: str | None,
    continue_: bool,
    resume: str | None,
    model: str | None,
    permission_mode: str | None,
) -> None:
    """v4code: a terminal coding agent for DeepSeek V4.

    Run it with no arguments in a repository for an interactive session, or use
    `v4code run TASK` from scripts and CI, and `v4code review` from a git hook.
    """
    if ctx.invoked_subcommand is not None:
        return
    flags = {"model": model, "permission_mode": permission_mode}
    try:
        from v4code.ui.entry import start_chat

        code = start_chat(prompt=prompt, continue_=continue_, resume=resume, flags=flags)
    except V4codeError as exc:
        _fail(exc)
    sys.exit(code)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("task")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="text: progress on stderr, answer on stdout; json: one result object; jsonl: every event.",
)
@click.option(
    "--permission-mode",
    type=click.Choice(["read-only", "ask", "auto-edit", "full-auto"]),
    default="full-auto",
    show_default=True,
    help="What may happen without a person: anything `ask` would ask about is denied.",
)
@click.option("-m", "--model", help="Model ID.")
@click.option("--thinking/--no-thinking", default=None, help="Switch V4's thinking mode.")
@click.option("--effort", help="Reasoning effort: low, high or max (none turns thinking off).")
@click.option(
    "--max-steps", type=click.IntRange(min=1), help="Stop after this many model requests."
)
@click.option("--max-cost", type=click.FloatRange(min=0), help="Stop once this many USD are spent.")
@click.option("--max-time", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--base-url", help="OpenAI-compatible endpoint (default https://api.deepseek.com).")
@click.option("--dialect", type=click.Choice(["deepseek", "vllm", "sglang", "llamacpp", "ollama"]))
@click.option("--resume", "resume", metavar="ID", help="Continue session ID with this task.")
@click.option(
    "-C",
    "--cwd",
    "cwd",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Work in this directory instead of the current one.",
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    default=None,
    help="Run commands such as `git reset --hard` or `rm -rf ./*` without asking.",
)
@click.option(
    "--no-sandbox",
    "sandbox",
    flag_value=False,
    default=None,
    help="Run commands unconfined (when bubblewrap is missing or cannot start).",
)
def run(
    task: str,
    output: str,
    permission_mode: str,
    model: str | None,
    thinking: bool | None,
    effort: str | None,
    max_steps: int | None,
    max_cost: float | None,
    max_time: float | None,
    base_url: str | None,
    dialect: str | None,
    resume: str | None,
    cwd: Path | None,
    allow_destructive: bool | None,
    sandbox: bool | None,
) -> None:
    """Run TASK to completion without asking anything (TASK `-` reads it from stdin)."""
    from v4code.ui.run_command import run_task

    if task == "-":
        task = sys.stdin.read()
    if not task.strip():
        click.echo("v4code: the task is empty", err=True)
        sys.exit(ExitCode.USAGE)
    if effort is not None and effort.lower() == "none":
        thinking, effort = False, None
    flags = {
        "model": model,
        "thinking": thinking,
        "effort": effort,
        "max_steps": max_steps,
        "max_cost": max_cost,
        "max_time": max_time,
        "base_url": base_url,
        "dialect": dialect,
        "permission_mode": permission_mode,
        "allow_destructive": allow_destructive,
        "sandbox": sandbox,
    }
    try:
        code = run_task(task, output=output, flags=flags, resume=resume, cwd=cwd)
    except V4codeError as exc:
        _fail(exc)
    sys.exit(code)


@main.group()
def config() -> None:
    """Show the effective settings."""


@config.command("show")
def config_show() -> None:
    """Print every setting, its value and where it came from (the API key redacted)."""
    from v4code.config import describe, load_settings, project_config_path, user_config_path
    from v4code.workspace import workspace_root

    root = workspace_root()
    try:
        loaded = load_settings(root)
    except V4codeError as exc:
        _fail(exc)
    click.echo(f"user file:    {user_config_path()}")
    click.echo(f"project file: {project_config_path(root)}")
    for notice in loaded.notices:
        click.echo(f"notice:       {notice}")
    width = max(len(name) for name, _, _ in describe(loaded))
    for name, value, source in describe(loaded):
        click.echo(f"{name:<{width}}  {value}  [{source}]")


@main.command()
@click.option("-n", "--limit", default=20, show_default=True, help="How many to list.")
def sessions(limit: int) -> None:
    """List this workspace's saved sessions, newest first."""
    from v4code.ui.session_list import session_rows
    from v4code.workspace import workspace_root

    for row in session_rows(workspace_root(), limit):
        click.echo(row)


@main.command("trust")
@click.argument(
    "path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--revoke", is_flag=True, help="Stop trusting the repository.")
@click.option("--status", is_flag=True, help="Only show the state (exit 1 when not trusted).")
def trust(path: Path | None, revoke: bool, status: bool) -> None:
    """Trust a repository's .v4code/ (settings, tools, prompts) as it is now.

    Until then v4code ignores it; any later change to .v4code/ needs trusting again. The
    endpoint, API key, sandbox, wider permission modes and review skips never come from a
    repository, trusted or not.
    """
    from v4code.safety import trust as workspace_trust
    from v4code.workspace import workspace_root

    root = workspace_root(path)
    try:
        if revoke:
            known = workspace_trust.revoke(root)
            click.echo(f"{root}: {'no longer trusted' if known else 'was not trusted'}")
            return
        state = workspace_trust.trust_state(root)
        if status or state.status in ("trusted", "nothing"):
            click.echo("\n".join(workspace_trust.describe(state)))
            sys.exit(0 if state.status in ("trusted", "nothing") else 1)
        click.echo("\n".join(workspace_trust.describe(state)))
        workspace_trust.grant(root)
        click.echo(f"trusted {state.root / '.v4code'} as it is now")
    except V4codeError as exc:
        _fail(exc)


def _register_optional() -> None:
    from v4code.edits.undo_cli import undo_command
    from v4code.review.cli import hook_group, review_command

    main.add_command(undo_command, "undo")
    main.add_command(review_command, "review")
    main.add_command(hook_group, "hook")


_register_optional()

if __name__ == "__main__":
    main()
