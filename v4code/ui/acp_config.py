"""What an editor may choose for a `v4code acp` session: the mode, the model, the thinking.

ACP has two ways to offer this: session modes (`session/set_mode`, kept for editors that only
know them) and session config options (`session/set_config_option`, which the protocol
prefers): a `mode` select (v4code's permission modes, and `plan`: reads only until the person
approves a plan), a `model` select (the models with a price, `auto`, and the one in use) and a
`thought_level` select (thinking off, low, high, max: the chat's `/think`). A choice changes
the agent through its controls, as the chat's `/mode`, `/plan`, `/model` and `/think` do, so
it is logged and a resumed session goes on with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acp import schema

from v4code.choices import PERMISSION_MODES

if TYPE_CHECKING:
    from v4code.agent import Agent

PLAN = "plan"
MODES: dict[str, str] = {
    "read-only": "Reads only; every edit and command is refused.",
    "ask": "Asks before each edit and command.",
    "auto-edit": "Edits without asking; asks before commands.",
    "full-auto": "Edits and runs commands (sandboxed) without asking.",
    PLAN: "Plans first: reads only until you approve the plan, then the mode it was in.",
}
"""v4code's permission modes and plan mode as the session's ACP modes (the chat's /mode, /plan)."""

THOUGHT_LEVELS: dict[str, str] = {
    "none": "Thinking off: answers at once.",
    "low": "Thinks briefly.",
    "high": "Thinks (the default).",
    "max": "Thinks the longest.",
}
MODE, MODEL, THOUGHT = "mode", "model", "thought_level"


def current_mode(agent: Agent) -> str:
    return PLAN if agent.plan.planning else agent.mode


def current_thought(agent: Agent) -> str:
    settings = agent.settings
    return (settings.effort or "high") if settings.thinking else "none"


def models(agent: Agent) -> list[str]:
    """The models the person may pick: those with a price (as the chat's `/model` completes),
    `auto`, and the one in use."""
    from v4code.config import AUTO

    return sorted({*agent.settings.prices, AUTO, agent.settings.model})


def modes(agent: Agent) -> schema.SessionModeState:
    available = [schema.SessionMode(id=m, name=m, description=d) for m, d in MODES.items()]
    return schema.SessionModeState(current_mode_id=current_mode(agent), available_modes=available)


def _select(key: str, name: str, current: str, values: dict[str, str], category: Any) -> Any:
    options = [
        schema.SessionConfigSelectOption(value=v, name=v, description=d or None)
        for v, d in values.items()
    ]
    return schema.SessionConfigOptionSelect(
        id=key, name=name, current_value=current, options=options, category=category, type="select"
    )


def config_options(agent: Agent, pending: dict[str, str] | None = None) -> list[Any]:
    """Every option with its value now (or the one `pending` holds, chosen while a prompt
    runs and applied when it ends)."""
    chosen = pending or {}
    return [
        _select(MODE, "Mode", chosen.get(MODE, current_mode(agent)), MODES, "mode"),
        _select(
            MODEL,
            "Model",
            chosen.get(MODEL, agent.settings.model),
            dict.fromkeys(models(agent), ""),
            "model",
        ),
        _select(
            THOUGHT,
            "Thinking",
            chosen.get(THOUGHT, current_thought(agent)),
            THOUGHT_LEVELS,
            "thought_level",
        ),
    ]


def check(agent: Agent, key: str, value: object) -> str | None:
    """Why `value` is not a choice for option `key` (None: it is)."""
    allowed = {MODE: list(MODES), MODEL: models(agent), THOUGHT: list(THOUGHT_LEVELS)}.get(key)
    if allowed is None:
        return f"no option {key} ({', '.join((MODE, MODEL, THOUGHT))})"
    if not isinstance(value, str) or value not in allowed:
        return f"{key} cannot be {value!r} ({', '.join(allowed)})"
    return None


def apply(agent: Agent, key: str, value: str) -> None:
    """The choice made: through the agent's controls (logged, kept on resume)."""
    if key == MODE:
        if value == PLAN:
            agent.start_planning()
            return
        agent.stop_planning()
        if value in PERMISSION_MODES and value != agent.mode:
            agent.set_mode(value)
    elif key == MODEL:
        agent.set_model(value)
    elif key == THOUGHT:
        agent.set_thinking(value != "none", None if value == "none" else value)
