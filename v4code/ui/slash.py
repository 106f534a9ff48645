"""Slash commands: the table, dispatch, and one small function per command.

A handler gets the chat (what `v4code.ui.chat_face.ChatFace` names of it) and the rest of
the line. Unknown commands get a suggestion and never reach the model. A line whose first word is a path (`/usr/bin/env is
missing`) is a message, not a command.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.choices import PERMISSION_MODES
from v4code.errors import V4codeError
from v4code.textio import one_line
from v4code.ui.plan_chat import PLAN_HELP, cmd_plan, cmd_todo

if TYPE_CHECKING:
    from v4code.custom_commands import CustomCommand
    from v4code.project_layer import ProjectLayer
    from v4code.ui.chat_face import ChatFace as Chat

THINK_CHOICES = ("on", "off", "low", "high", "max")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[Chat, str], None]
    choices: Callable[[Chat], list[str]] | None = None


def is_command(line: str) -> bool:
    word = line.split(maxsplit=1)[0] if line.strip() else ""
    return word.startswith("/") and "/" not in word[1:]


def suggestion(name: str) -> str:
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
    if not close:
        close = [c for c in COMMANDS if c.startswith(name[:3])][:1]
    return f"Did you mean {close[0]}?" if close else "/help lists the commands."


def dispatch(chat: Chat, line: str) -> None:
    name, _, arg = line.strip().partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        project = chat.layers.project.rechecked()
        custom = custom_commands(chat.root, project).get(name.lower()[1:])
        if custom is not None:
            run_custom(chat, custom, arg)
            return
        from v4code.custom_commands import untrusted_notice

        notice = untrusted_notice(chat.root, name[1:], project)
        shown = notice or f"Unknown command {name}. {suggestion(name)}"
        chat.say(one_line(shown), "yellow")
        return
    command.run(chat, arg.strip())


def custom_commands(root: Path, project: ProjectLayer | None = None) -> dict[str, CustomCommand]:
    """The custom commands; `project`: the session's project layer (`rechecked` for a read
    during the session), else `root`'s read now."""
    from v4code.custom_commands import load_custom_commands

    return load_custom_commands(root, frozenset(c[1:] for c in COMMANDS), project)


def command_help(root: Path, project: ProjectLayer | None = None) -> dict[str, str]:
    """Every command's help line for completion: the built-in ones, then the custom ones."""
    helps = {name: c.help for name, c in COMMANDS.items()}
    helps.update({f"/{name}": c.help for name, c in custom_commands(root, project).items()})
    return helps


def run_custom(chat: Chat, command: CustomCommand, arg: str) -> None:
    """A custom command's prompt as one turn, with its model and thinking for that turn only."""
    agent = chat.agent
    settings, route = agent.settings, agent.routing.state()
    if command.model:
        agent.set_model(command.model)
    choice = command.thinking_choice()
    if choice is not None:
        agent.set_thinking(*choice)
    try:
        chat.turn(command.expand(arg), shown=f"/{command.name}")
    finally:
        agent.set_model(settings.model)
        agent.routing.restore(route)  # an escalation before the command holds after it
        agent.set_thinking(settings.thinking, settings.effort)


def choices_for(chat: Chat, name: str) -> list[str]:
    command = COMMANDS.get(name)
    return command.choices(chat) if command is not None and command.choices else []


# --- the commands -------------------------------------------------------------------------


def cmd_help(chat: Chat, arg: str) -> None:
    for command in COMMANDS.values():
        if command.name != "/quit":
            chat.say(f"{command.name:<11} {command.help}")
    for name, custom in custom_commands(chat.root, chat.layers.project.rechecked()).items():
        chat.say(f"/{name:<10} {one_line(custom.help)}")  # a trusted repository's text
    chat.say(
        "Enter sends · Alt+Enter or a trailing \\ adds a line · @path attaches a file · "
        "Tab completes · Ctrl-C cancels a turn · Ctrl-D leaves",
        "dim",
    )


def cmd_exit(chat: Chat, arg: str) -> None:
    chat.running = False


def cmd_model(chat: Chat, arg: str) -> None:
    """Switch models; a name the server does not list is refused (a typo would fail later)."""
    from v4code.config import AUTO, session_models
    from v4code.pricing import price_for

    if arg:
        known = chat.agent.backend.list_models()
        if known is not None and arg != AUTO and arg not in known:
            listed = ", ".join(sorted(known)[:12]) or "none"
            chat.say(f"The server has no model {arg!r} (it lists: {listed}).", "yellow")
            return
        chat.agent.set_model(arg)
        if known is None:
            chat.say(f"The server lists no models; {arg} is used as given.", "dim")
        for model in session_models(chat.agent.settings):  # `auto`: both of its models
            if price_for(model, chat.agent.settings.prices) is None:
                chat.say(
                    f"No price is configured for {model}: its cost shows as unknown.", "yellow"
                )
    chat.say(f"model: {chat.agent.settings.model}")


def cmd_think(chat: Chat, arg: str) -> None:
    from v4code.ui.toolbar import thinking_label

    arg = arg.lower()
    if arg == "off":
        chat.agent.set_thinking(False)
    elif arg == "on":
        chat.agent.set_thinking(True)
    elif arg in ("low", "high", "max"):
        chat.agent.set_thinking(True, arg)
    elif arg:
        chat.say("usage: /think on|off|low|high|max", "yellow")
        return
    chat.say(thinking_label(chat.agent.settings).replace("think", "thinking", 1))


def cmd_thinking(chat: Chat, arg: str) -> None:
    if arg in ("on", "off"):
        chat.show_thinking = arg == "on"
        chat.say(f"thinking is {'shown in full' if chat.show_thinking else 'folded'} as it streams")
        return
    text = chat.view.full_reasoning if chat.view is not None else ""
    if not text:
        chat.say("No thinking in the last turn.", "dim")
        return
    from v4code.ui.render import thinking_text

    chat.console.print(thinking_text(text))


def cmd_details(chat: Chat, arg: str) -> None:
    from v4code.ui.render import details_renderables

    which = int(arg) if arg.isdigit() else None
    for item in details_renderables(chat.view.tools if chat.view else [], which):
        chat.console.print(item)


def cmd_mode(chat: Chat, arg: str) -> None:
    if arg:
        if arg not in PERMISSION_MODES:
            chat.say(f"usage: /mode {'|'.join(PERMISSION_MODES)}", "yellow")
            return
        chat.agent.set_mode(arg)
    chat.say(f"permission mode: {chat.agent.mode}")


def cmd_undo(chat: Chat, arg: str) -> None:
    from v4code.edits.undo import undo_last
    from v4code.notes import tell_undo

    report = undo_last(chat.checkpoints, chat.root, chat.agent.session_id)
    chat.say(report.render())
    tell_undo(chat.agent, report)
    chat.files.invalidate()


def cmd_diff(chat: Chat, arg: str) -> None:
    from v4code.edits.session_diff import session_diff
    from v4code.ui.render import diff_renderable

    diff = session_diff(chat.checkpoints, chat.root, chat.agent.session_id)
    if not diff:
        chat.say(
            "Nothing changed since this session's first edit or command (files ignored by "
            "git are not tracked).",
        )
        return
    chat.console.print(diff_renderable(diff))


def cmd_cost(chat: Chat, arg: str) -> None:
    from v4code.ui.headless import cost_lines

    for line in cost_lines(chat.agent):
        chat.say(line)


def cmd_compact(chat: Chat, arg: str) -> None:
    chat.run_events(chat.agent.compact(), summary=False)


def cmd_clear(chat: Chat, arg: str) -> None:
    previous = chat.agent.session_id
    chat.open(None)
    chat.say(f"New session {chat.agent.session_id} (v4code --resume {previous} goes back).")


def cmd_sessions(chat: Chat, arg: str) -> None:
    from v4code.ui.session_list import session_rows

    for row in session_rows(chat.root):
        mark = "*" if row.startswith(chat.agent.session_id) else " "
        chat.say(f"{mark} {row}")


def cmd_resume(chat: Chat, arg: str) -> None:
    target = arg or chat.pick_session()
    if target is None:
        return
    try:
        chat.open(target)
    except V4codeError as exc:
        chat.say(exc.message, "yellow")


def cmd_init(chat: Chat, arg: str) -> None:
    from v4code.assets import load_prompt

    exists = (chat.root / "AGENTS.md").is_file()
    task = load_prompt(
        "init",
        chat.layers.project.rechecked(),
        action="Update the existing AGENTS.md" if exists else "Write an AGENTS.md",
    )
    chat.turn(task.strip(), shown="/init")


def cmd_lsp(chat: Chat, arg: str) -> None:
    """Which language servers run in this session, and why one does not."""
    servers = chat.servers
    if servers is None:
        chat.say("Language servers are off in this session (diagnostics = false).", "dim")
        return
    lines = servers.status()
    if not lines:
        chat.say(
            "No language server has started in this session yet: one starts when a file of "
            "its language is read or edited (`v4code lsp status` shows which are installed).",
            "dim",
        )
    for line in lines:
        chat.say(line)


def cmd_mcp(chat: Chat, arg: str) -> None:
    from v4code.mcp import session as mcp_session

    if arg == "reload":
        from v4code.config import user_home
        from v4code.mcp.client import ProjectConfinement

        settings = chat.agent.settings
        confine = ProjectConfinement(chat.root, settings.sandbox, settings.sandbox_allow_read)
        mcp = mcp_session.McpSession(
            chat.root, chat.agent.policy, user_home() / "logs", None, confine
        )
        hooks = chat.agent.pipeline.before_apply
        if not any(isinstance(getattr(h, "__self__", None), mcp_session.McpSession) for h in hooks):
            hooks.append(mcp.before_apply)  # the session opened without servers
        chat.say("Reloading MCP servers; the next request cannot use the prompt cache.", "dim")
        wait = chat.agent.settings.mcp_startup_wait
        for notice in chat.agent.fix_tools(functools.partial(mcp.install, wait=wait)):
            chat.say(notice, "yellow")
    elif arg:
        chat.say("usage: /mcp [reload]", "yellow")
        return
    hub = mcp_session.current_hub()
    if hub is None or not hub.servers:
        chat.say("No MCP servers configured (v4code mcp add NAME -- COMMAND ARGS).", "dim")
        return
    in_session = set(chat.agent.registry.names())
    for state in sorted(hub.servers.values(), key=lambda st: st.name):
        names = [t.full_name for t in state.tools]
        here = sum(1 for n in names if n in in_session)
        error = f" ({state.error})" if state.error and state.status != "ready" else ""
        chat.say(
            f"{state.name:<16} {state.status}{error} · {here}/{len(names)} tools in this session",
        )
        late = [n for n in names if n not in in_session]
        if late and state.status == "ready":
            chat.say(f"  not in this session: {', '.join(late[:8])} (/mcp reload adds them)", "dim")


def _modes(chat: Chat) -> list[str]:
    return list(PERMISSION_MODES)


def _models(chat: Chat) -> list[str]:
    return sorted(chat.agent.settings.prices)


def _sessions(chat: Chat) -> list[str]:
    from v4code.sessions import list_sessions

    return [p.stem for p in list_sessions(chat.root, limit=30)]


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("/help", "this list", cmd_help),
        Command("/model", "[NAME] show or switch the model", cmd_model, _models),
        Command(
            "/think",
            "on|off|low|high|max  thinking and its effort",
            cmd_think,
            lambda chat: list(THINK_CHOICES),
        ),  # fmt: skip
        Command(
            "/thinking",
            "[on|off] the last turn's thinking in full; on: always",
            cmd_thinking,
            lambda chat: ["on", "off"],
        ),  # fmt: skip
        Command("/details", "[N] the last turn's tool calls with their full output", cmd_details),
        Command(
            "/mode",
            "read-only|ask|auto-edit|full-auto  permission mode (plan mode is /plan)",
            cmd_mode,
            _modes,
        ),  # fmt: skip
        Command("/plan", PLAN_HELP, cmd_plan, lambda chat: ["yes", "no", "off"]),
        Command("/todo", "the model's todo list for this task", cmd_todo),
        Command("/diff", "what this session's edits and commands changed", cmd_diff),
        Command("/undo", "undo this session's last edit batch or command", cmd_undo),
        Command("/cost", "tokens, cache hits and cost of this session", cmd_cost),
        Command("/compact", "summarise older turns to free context", cmd_compact),
        Command("/clear", "start a new session", cmd_clear),
        Command("/sessions", "this repository's sessions", cmd_sessions),
        Command(
            "/resume", "[ID] continue another session (a picker without ID)", cmd_resume, _sessions
        ),  # fmt: skip
        Command("/init", "write an AGENTS.md for this repository", cmd_init),
        Command("/mcp", "[reload] MCP servers and their tools", cmd_mcp, lambda chat: ["reload"]),
        Command("/lsp", "the language servers running in this session", cmd_lsp),
        Command("/exit", "leave (Ctrl-D)", cmd_exit),
        Command("/quit", "leave", cmd_exit),
    )
}
