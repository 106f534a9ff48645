"""Plan mode and the todo list in the chat: `/plan`, `/todo`, and the yes-or-no to a plan.

After a turn that ended with a proposed plan the person answers with one key (v4code.ui.keys):
`y` carries it out under the permission mode in force (`/mode` chooses it; the todo list
carries on), `n` asks why and hands the reason back to the model, which revises the plan. A
plan left unanswered (Ctrl-C or Esc, which spend no request on a revision, or a session resumed
while one waited) is answered later with `/plan yes` or `/plan no WHY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from v4code.ui.render import plan_renderable, todo_renderable

if TYPE_CHECKING:
    from v4code.ui.chat_face import ChatFace as Chat

PLAN_HELP = "[TASK|yes|no WHY|off] plan first: reads only until you approve"
QUESTION = "Carry out this plan? [y]es / [n]o: "
WHY_NOT = "Why not? (the model revises the plan; Enter to skip): "
WAITING = "The plan waits for your answer: /plan yes carries it out, /plan no WHY revises it."


def answer_plan(chat: Chat) -> None:
    """While a proposed plan waits: ask y or n (one key; a reason line after n) and run the
    turn it leads to."""
    while chat.agent.plan.proposal is not None:
        try:
            answer = chat.ask_key(QUESTION)
            reason = chat.ask(WHY_NOT).strip() if answer == "n" else ""
        except (KeyboardInterrupt, EOFError):
            chat.say(WAITING, "dim")
            return
        if answer == "y":
            chat.turn(chat.agent.approve_plan(), answer_plans=False)
        else:
            chat.turn(chat.agent.reject_plan(reason), answer_plans=False)


def cmd_plan(chat: Chat, arg: str) -> None:
    agent = chat.agent
    word, _, rest = arg.partition(" ")
    if word.lower() in ("yes", "y", "no", "n"):
        if agent.plan.proposal is None:
            chat.say("No plan waits for an answer.", "yellow")
        elif word.lower().startswith("y"):
            chat.turn(agent.approve_plan())
        else:
            chat.turn(agent.reject_plan(rest.strip()))
        return
    if word.lower() == "off":
        agent.stop_planning()
        chat.say(f"Plan mode off; permission mode: {agent.mode}.")
        return
    agent.start_planning()
    if not arg:
        chat.say(
            f"Plan mode: the next message is planned (reads only); on your yes it runs under "
            f"{agent.mode} mode. /plan off leaves it.",
        )
        return
    chat.turn(arg)


def cmd_todo(chat: Chat, arg: str) -> None:
    items = chat.agent.plan.items
    if not items:
        chat.say("No todo list yet (the model keeps one with update_plan).", "dim")
        return
    chat.console.print(todo_renderable(items))


def after_resume(chat: Chat) -> None:
    """A resumed session says where its plan stands: the list, plan mode, a plan waiting."""
    plan = chat.agent.plan
    if plan.items:
        chat.say("Todo list:", "dim")
        chat.console.print(todo_renderable(plan.items))
    if plan.proposal is not None:
        chat.console.print(plan_renderable(plan.proposal))
        chat.say(WAITING, "dim")
    elif plan.planning:
        chat.say("Plan mode is on (reads only until you approve a plan; /plan off leaves it).")
