"""The command line: the `v4code` group (the chat entry) and a table of lazy subcommands.

Each subcommand lives in a module of `v4code.commands` that is imported only when the command
runs or shows its own help; `v4code --help` lists them from the table below, so `--help`,
`--version` and `run --help` import neither the chat, the review, undo nor the openai SDK.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import click

from v4code import __version__
from v4code.commands import fail, options, session_flags
from v4code.errors import V4codeError


class Subcommand(NamedTuple):
    """Where a subcommand is declared, and its help line for `v4code --help`."""

    target: str  # "module:attribute" of the click command
    summary: str  # the first paragraph of the command's help (a test keeps them equal)


SUBCOMMANDS: dict[str, Subcommand] = {
    "acp": Subcommand(
        "v4code.commands.acp:acp_command",
        "Serve an editor (Zed, JetBrains) over the Agent Client Protocol on stdin/stdout.",
    ),
    "batch": Subcommand(
        "v4code.commands.batch:batch_group",
        "Run one task over many units, each in its own worktree, verified and resumable.",
    ),
    "config": Subcommand("v4code.commands.config:config_group", "Show the effective settings."),
    "engine": Subcommand(
        "v4code.commands.engine:engine_group",
        "Plan, serve and probe a local engine (vLLM, SGLang, llama.cpp, Ollama) for V4.",
    ),
    "hook": Subcommand(
        "v4code.commands.review:hook_group", "Install or remove v4code's git pre-commit hook."
    ),
    "locate": Subcommand(
        "v4code.commands.repomap:locate_command",
        "Rank the repository's files for TEXT (a task or an issue; `-` reads it from stdin).",
    ),
    "lsp": Subcommand(
        "v4code.commands.lsp:lsp_group",
        "Show which language servers check edits here (configured, installed, would run).",
    ),
    "map": Subcommand(
        "v4code.commands.repomap:map_command",
        "Print the repo map: the files that matter most with their definitions' signatures.",
    ),
    "mcp": Subcommand(
        "v4code.commands.mcp:mcp_group",
        "List, add, remove MCP servers or allow their tools (they become v4code tools).",
    ),
    "profiles": Subcommand(
        "v4code.commands.engine:profiles_command",
        "List the endpoint profiles in your config ([profiles.NAME]).",
    ),
    "review": Subcommand(
        "v4code.commands.review:review_command",
        "Review the staged diff (default), a branch, a commit or paths with DeepSeek V4.",
    ),
    "run": Subcommand(
        "v4code.commands.run:run_command",
        "Run TASK to completion without asking anything (TASK `-` reads it from stdin).",
    ),
    "sessions": Subcommand(
        "v4code.commands.sessions:sessions_command",
        "List this workspace's saved sessions, newest first.",
    ),
    "trust": Subcommand(
        "v4code.commands.trust:trust_command",
        "Trust a repository's .v4code/ (settings, tools, prompts) as it is now.",
    ),
    "undo": Subcommand(
        "v4code.commands.undo:undo_command",
        "Undo the last edit batch or command v4code ran (in the latest session).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's lazy-loading pattern).

    The listing in `--help` comes from SUBCOMMANDS, so showing it imports no command module.
    A `V4codeError` from any command (or the chat) ends here, in one line with its exit code.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except V4codeError as exc:
            fail(exc)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        delegated = as_run(args, piped=not sys.stdin.isatty())
        return super().parse_args(ctx, delegated if delegated is not None else args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = entry.target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.target} is not a click command")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click suggests a near name only among the commands it has loaded (none, here): an
        unknown name gets the suggestion from the whole table (`rn`: did you mean 'run'?)."""
        name = args[0] if args else ""
        known = not name or name.startswith("-") or ctx.resilient_parsing
        if not known and self.get_command(ctx, name) is None:
            from difflib import get_close_matches

            near = get_close_matches(name, self.list_commands(ctx))
            hint = ""
            if len(near) == 1:
                hint = f" Did you mean {near[0]!r}?"
            elif near:
                hint = f" (Did you mean one of: {', '.join(near)}?)"
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)  # as click.Group does
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str:
        entry = SUBCOMMANDS.get(name)
        if entry is None:
            command = super().get_command(ctx, name)
            return command.get_short_help_str(limit) if command is not None else ""
        return click.Command(name, help=entry.summary).get_short_help_str(limit)


PRINT_FLAGS = ("-p", "--print")
_NOT_A_TASK = frozenset({"-h", "--help", "-V", "--version"})


def as_run(args: list[str], *, piped: bool) -> list[str] | None:
    """`v4code -p TASK [run's options]` (or a task piped in with no subcommand) as the `run`
    command line it stands for, so every `run` option works there; None: not such a line."""
    if any(a in _NOT_A_TASK for a in args):
        return None
    rest: list[str] = []
    task: str | None = None
    picker = ""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if task is None and arg in PRINT_FLAGS and i + 1 < len(args):
            task, i = args[i + 1], i + 2
            continue
        if task is None and arg.startswith("--print="):
            task = arg.split("=", 1)[1]
        elif task is None and arg.startswith("-p") and not arg.startswith("--") and len(arg) > 2:
            task = arg[2:]
        elif task is None and (arg in SUBCOMMANDS or _bare_word(args, i)):
            return None  # a subcommand's own line, or a word that is no option's value
        else:
            if arg in ("-r", "--resume") and not _has_value(args, i):
                picker = arg
            rest.append("--resume" if arg == "-r" else arg)
        i += 1
    if task is None and not piped:
        return None
    if picker:  # there is no picker without a terminal: say what works instead
        raise click.UsageError(
            f"{picker} needs a session ID with a task (`v4code sessions` lists them); "
            "-c continues the latest session"
        )
    return ["run", *rest, "--", task if task is not None else "-"]


def _has_value(args: list[str], i: int) -> bool:
    after = args[i + 1] if i + 1 < len(args) else ""
    return bool(after) and not after.startswith("-")


def _bare_word(args: list[str], i: int) -> bool:
    before = args[i - 1] if i else ""
    return not args[i].startswith("-") and (not before.startswith("-") or "=" in before)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="v4code")
@click.option(
    "-p", "--print", "prompt", metavar="TASK", help="Run TASK without a prompt, like `v4code run`."
)
@options.continue_session("Continue the latest session here.")
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
@options.model()
@options.permission_mode(
    "What runs without asking (chat default: ask; read-only denies all effects for the "
    "session, --plan only until you approve a plan; see README, Permission modes)."
)
@options.effort()
@options.base_url()
@options.dialect()
@options.profile()
@options.plan("Start in plan mode: reads only until you approve the model's plan (see /plan).")
@click.pass_context
def main(
    ctx: click.Context,
    prompt: str | None,
    continue_: bool,
    resume: str | None,
    model: str | None,
    permission_mode: str | None,
    effort: str | None,
    base_url: str | None,
    dialect: str | None,
    profile: str | None,
    plan: bool,
) -> None:
    """v4code: a terminal coding agent for DeepSeek V4.

    Run it with no arguments in a repository for an interactive session, or use
    `v4code run TASK` from scripts and CI, and `v4code review` from a git hook.
    """
    if ctx.invoked_subcommand is not None:
        return
    from v4code.ui.repl import run_repl

    flags = session_flags(
        model=model,
        permission_mode=permission_mode,
        effort=effort,
        base_url=base_url,
        dialect=dialect,
        profile=profile,
    )
    # never with a task: `-p TASK` or one piped in made `as_run` a `run` command line
    sys.exit(run_repl(continue_=continue_, resume=resume, flags=flags, plan=plan))


if __name__ == "__main__":
    main()
