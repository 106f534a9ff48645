"""The bottom toolbar: model, thinking and effort, permission mode, context used, session cost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from v4code.pricing import format_cost
from v4code.textio import one_line

if TYPE_CHECKING:
    from v4code.agent import Agent
    from v4code.config import Settings


def short_tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 1_000:
        return f"{n / 1_000:.1f}k".replace(".0k", "k")
    return str(n)


def thinking_label(settings: Settings) -> str:
    if not settings.thinking:
        return "think off"
    return f"think {settings.effort}" if settings.effort else "think on"


def toolbar_text(agent: Agent | None) -> str:
    """` deepseek-v4-pro · think high · ask · ctx 12.3k/1M 1% · $0.0123` for one agent
    (` local: deepseek-v4-flash · ...` when a profile chose the endpoint)."""
    if agent is None:
        return ""
    s = agent.settings
    window = max(int(s.context_window), 1)
    used = int(agent.last_prompt_tokens)
    planning = getattr(getattr(agent, "plan", None), "planning", False)  # v4code.planning
    mode = f"plan, then {agent.mode}" if planning else agent.mode
    return one_line(  # a model id picked from a server's list, a profile's name
        f" {_profile(s)}{model_label(agent)} · {thinking_label(s)} · {mode} · "
        f"ctx {short_tokens(used)}/{short_tokens(window)} {used / window:.0%} · "
        f"{_cost(agent)}"
    )


def model_label(agent: Agent) -> str:
    """The model the next request goes to; `auto: deepseek-flash` while `auto` routes."""
    from v4code.config import AUTO

    return f"{AUTO}: {agent.model}" if agent.settings.model == AUTO else agent.model


def _profile(settings: Settings) -> str:
    name = getattr(settings, "profile", None)
    return f"{name}: " if name else ""


def _cost(agent: Agent) -> str:
    return "cost ?" if agent.unpriced_model else format_cost(agent.total_cost)
