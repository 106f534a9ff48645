"""The chat's slash commands an editor can use in `v4code acp` (advertised to it with an
`available_commands_update`): those that make sense outside the terminal.

`/todo`, `/diff`, `/undo` and `/cost` are answered by v4code without asking the model (their
answer is the turn's text); `/plan TASK` plans the task (reads only until the person approves
the plan), `/plan` alone turns plan mode on, `/plan off` turns it off. The rest of the chat's
commands are the editor's own business (sessions, models and modes are its pickers) or need the
terminal. Each does what its chat command does, through the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from acp import schema

if TYPE_CHECKING:
    from v4code.agent import Agent
    from v4code.edits.checkpoints import CheckpointStore

COMMANDS: dict[str, tuple[str, str | None]] = {
    "plan": ("plan first: reads only until you approve the plan", "TASK, or off"),
    "todo": ("the model's todo list for this task", None),
    "diff": ("what this session's edits and commands changed", None),
    "undo": ("undo this session's last edit batch or command", None),
    "cost": ("tokens, cache hits and cost of this session", None),
}
"""name -> (what it does, the hint for its input, None when it takes none)."""


@dataclass(frozen=True)
class Answer:
    """What a command came to: text for the editor, and a task for the model (or none)."""

    text: str = ""
    task: str | None = None


def advertised() -> list[schema.AvailableCommand]:
    return [
        schema.AvailableCommand(
            name=name,
            description=help_text,
            input=schema.AvailableCommandInput(root=schema.UnstructuredCommandInput(hint=hint))
            if hint
            else None,
        )
        for name, (help_text, hint) in COMMANDS.items()
    ]


def parse(task: str) -> tuple[str, str] | None:
    """(command, its argument) when the prompt is one of these commands, else None."""
    text = task.strip()
    if not text.startswith("/"):
        return None
    name, _, arg = text[1:].partition(" ")
    return (name, arg.strip()) if name in COMMANDS else None


def run(agent: Agent, name: str, arg: str) -> Answer:
    """The command's answer (called with no turn running: the agent is the caller's)."""
    if name == "plan":
        return _plan(agent, arg)
    if name == "todo":
        return Answer(_todo(agent))
    if name == "diff":
        return Answer(_diff(agent))
    if name == "undo":
        return Answer(_undo(agent))
    return Answer(_cost(agent))


def _plan(agent: Agent, arg: str) -> Answer:
    if arg.lower() == "off":
        agent.stop_planning()
        return Answer(f"Plan mode off; permission mode: {agent.mode}.")
    agent.start_planning()
    if not arg:
        return Answer(
            f"Plan mode: the next message is planned (reads only); on your yes it runs under "
            f"{agent.mode} mode. /plan off leaves it."
        )
    return Answer(task=arg)


def _todo(agent: Agent) -> str:
    from v4code.planning import todo_lines

    items = agent.plan.items
    if not items:
        return "No todo list yet (the model keeps one with update_plan)."
    return "\n".join(todo_lines(items))


def _store(agent: Agent) -> CheckpointStore | None:
    from v4code.edits.checkpoints import CheckpointStore

    store = agent.checkpoints
    return store if isinstance(store, CheckpointStore) else None


def _diff(agent: Agent) -> str:
    from v4code.edits.session_diff import session_diff

    store = _store(agent)
    diff = session_diff(store, agent.root, agent.session_id) if store is not None else ""
    if not diff:
        return (
            "Nothing changed since this session's first edit or command (files ignored by git "
            "are not tracked)."
        )
    return f"```diff\n{diff.rstrip()}\n```"


def _undo(agent: Agent) -> str:
    from v4code.edits.undo import undo_last
    from v4code.notes import tell_undo

    store = _store(agent)
    if store is None:
        return "This session keeps no undo points."
    report = undo_last(store, agent.root, agent.session_id)
    tell_undo(agent, report)
    return report.render()


def _cost(agent: Agent) -> str:
    from v4code.ui.headless import cost_lines

    return "\n".join(cost_lines(agent))
