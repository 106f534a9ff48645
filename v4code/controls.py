"""What frontends read and change on a running agent: model, thinking, permission mode, plan mode.

The chat and the headless frontends never assign the agent's attributes; they call these
methods, which also log each change so a resumed session goes on with what was chosen in it.
Kept apart from the turn loop (`v4code.agent.Agent` derives from it) so the loop only loops.
"""

from __future__ import annotations

from v4code.config import Settings
from v4code.planning import PLAN_MODE_NOTE, PlanBook
from v4code.protocols import Backend
from v4code.routing import Router
from v4code.safety.permissions import PermissionPolicy
from v4code.sessions import SessionLog, settings_event
from v4code.toolkit import ToolRegistry
from v4code.types import ToolCall, ToolSummary, Usage


class AgentControls:
    """The session's settings, policy, model connection and log, behind methods."""

    _settings: Settings
    _backend: Backend
    policy: PermissionPolicy
    session: SessionLog
    registry: ToolRegistry
    plan: PlanBook
    routing: Router
    notes: list[str]
    total_usage: Usage
    total_cost: float
    unpriced_model: str | None  # a response was served by a model with no price
    last_prompt_tokens: int
    cached: int  # the previous prompt's tokens: what the next one likely re-uses

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def backend(self) -> Backend:
        """The model connection, to hand on to the next session of the same chat."""
        return self._backend

    @property
    def mode(self) -> str:
        return self.policy.mode

    def set_model(self, model: str) -> None:
        """The person's choice of model; it holds over an earlier escalation or fallback."""
        self._settings = self._settings.replace(model=model)
        self.routing.chosen()
        self._log_settings()

    def set_thinking(self, thinking: bool, effort: str | None = None) -> None:
        """Thinking on or off; `effort` (low, high, max) when on, else the current one or high."""
        effort = (effort or self._settings.effort or "high") if thinking else self._settings.effort
        self._settings = self._settings.replace(thinking=thinking, effort=effort)
        self._log_settings()

    def set_mode(self, mode: str) -> None:
        """A permission mode for the rest of the session (what was allowed with 'always' stays)."""
        PermissionPolicy(mode)  # raises ValueError on an unknown mode
        self.policy.mode = mode
        self._log_settings()

    def start_planning(self) -> None:
        """Plan mode: from the next message on only reads run until the person says yes. The
        model is told in a note of the history (the system prompt and tools stay as they are)."""
        if not self.plan.planning:
            self.notes.append(self.plan.start())

    def stop_planning(self) -> None:
        """Plan mode off without carrying a plan out (a note the model has not had yet saying
        it was on is taken back instead of followed by another)."""
        if self.plan.planning:
            note = self.plan.stop()
            if PLAN_MODE_NOTE in self.notes:
                self.notes.remove(PLAN_MODE_NOTE)
            else:
                self.notes.append(note)

    def approve_plan(self, mode: str | None = None) -> str:
        """The person's yes: `mode` (else the current one) from now on; returns the message
        that starts carrying the plan out (the todo list carries on)."""
        if mode is not None and mode != self.policy.mode:
            self.set_mode(mode)
        return self.plan.approve(self.policy.mode)

    def reject_plan(self, reason: str) -> str:
        """The person's no: still planning; returns the message asking for a revised plan."""
        return self.plan.reject(reason)

    def _log_settings(self) -> None:
        """Logged so a resumed session goes on with what was chosen in it."""
        self.session.event(settings_event(self._settings, self.policy.mode))

    def warm_up(self) -> None:
        """Build the model client ahead of the first request (a frontend calls it while idle)."""
        self._backend.warm_up()

    def describe(self, call: ToolCall) -> ToolSummary:
        """A call from the history in one line, as its tool declares it."""
        return self.registry.describe(call)
