"""Child agents for the `task` tool: limits, progress, approvals, path claims, the report.

The `task` tool reaches this through `ToolContext.agents` (a `SubagentStarter`); it never
imports the loop. A child is built by `app.child_agent` (the one builder) from a `ChildPlan`:
a fresh conversation, its own model and tools, limits cut to what the parent's turn has
left. It runs in the tool call's thread; what it does reaches the parent's event stream
through the parent's relay (`SubagentStarted` / `SubagentProgress` / `SubagentFinished`),
and so do its approvals, which the parent's thread asks one at a time. Its reasoning and
messages stay in its own conversation; the parent gets the report alone.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.errors import Cancelled, ToolError
from v4code.events import (
    StepStarted,
    SubagentFinished,
    SubagentProgress,
    SubagentStarted,
    ToolStarted,
    TurnFinished,
    UsageReported,
)
from v4code.named_agents import NamedAgent
from v4code.pricing import price_for
from v4code.protocols import Approval, ApprovalRequest, Approver, Proposal
from v4code.relay import Relay
from v4code.textio import one_line
from v4code.toolkit import Invocation, ToolContext

if TYPE_CHECKING:
    from v4code.agent import Agent

__all__ = ["AgentsSeam", "ChildPlan", "PathClaims", "RelayedApprover", "SubagentRunner"]

DEFAULT_NAME = "task"


@dataclass(frozen=True)
class ChildPlan:
    """What `app.child_agent` builds a child from."""

    child: str  # the id of the `task` call: names the child in events and the log
    name: str  # the named agent, or "task"
    settings: Settings  # the parent's, with the child's model and limits
    prompt: str = ""  # the named agent's prompt
    tools: tuple[str, ...] | None = None  # None: the read-only default
    brief: str = ""  # the brief on one line, cut short: what the person sees of it


class RelayedApprover:
    """The parent's Approver, asked on the parent's thread through its relay: questions from
    parallel children come to the person (or the `run` policy) one at a time."""

    def __init__(self, relay: Relay, approver: Approver) -> None:
        self.relay = relay
        self.approver = approver

    def decide(self, request: ApprovalRequest) -> Approval:
        return self.relay.call(lambda: self.approver.decide(request))


class PathClaims:
    """Which child edits which file: the first child to edit a path holds it until it ends,
    and another child's edit of it is refused (two children never edit one file at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[str, tuple[str, str]] = {}  # path -> (child id, its name)

    def hook(
        self, child: str, name: str
    ) -> Callable[[Invocation, Proposal, ToolContext], str | None]:
        """A before-apply hook for one child: claims the paths its edit touches."""

        def claim(invocation: Invocation, proposal: Proposal, ctx: ToolContext) -> str | None:
            paths = [str(f["path"]) for f in proposal.preview().files if f.get("path")]
            with self._lock:
                for path in paths:
                    holder = self._holders.get(path)
                    if holder is not None and holder[0] != child:
                        raise ToolError(
                            f"{one_line(path)} is being edited by another agent ({holder[1]}); "
                            "leave it to that agent and say so in your report."
                        )
                self._holders.update((path, (child, name)) for path in paths)
            return None

        return claim

    def release(self, child: str) -> None:
        with self._lock:
            self._holders = {p: h for p, h in self._holders.items() if h[0] != child}


Build = Callable[[ChildPlan, PathClaims], "Agent"]
"""`app.child_agent` bound to its parent: a plan and the session's path claims -> a child."""


class SubagentRunner:
    """The parent session's `SubagentStarter`: builds each child, bounds it by what the
    parent's turn has left, relays its progress, and gives back its report."""

    def __init__(self, parent: Agent, build: Build, named: Mapping[str, NamedAgent]) -> None:
        self.parent = parent
        self.build = build
        self.named = dict(named)
        self.claims = PathClaims()
        self._lock = threading.Lock()
        self._running: dict[str, Agent] = {}  # their costs are not yet in the parent's
        self._over: set[str] = set()  # children stopped because the turn's budget ran out

    def start(
        self, brief: str, cancel: CancelToken, *, agent: str | None = None, child: str = ""
    ) -> str:
        cancel.raise_if_cancelled()
        if not brief.strip():
            raise ToolError("The brief is empty: say what the sub-agent should do and report.")
        spec = self._named(agent)
        child = child or f"child-{time.monotonic_ns()}"
        plan = ChildPlan(
            child,
            spec.name if spec else DEFAULT_NAME,
            self._limits(spec),
            spec.prompt if spec else "",
            spec.tools if spec else None,
            one_line(brief)[:200],
        )
        kid = self.build(plan, self.claims)
        relay = self.parent.relay
        relay.post(SubagentStarted(child, plan.name, plan.brief, plan.settings.model))
        with self._lock:
            self._running[child] = kid
        stop = threading.Event()
        threading.Thread(target=_follow, args=(cancel, kid.cancel, stop), daemon=True).start()
        try:
            finished = self._run(kid, plan, brief)
        finally:
            stop.set()
            self.claims.release(child)
            with self._lock:
                self._running.pop(child, None)
                over = child in self._over
                self._over.discard(child)
            kid.backend.close()
        if over and not cancel.cancelled:  # stopped by the shared budget, not by the person
            finished = dataclasses.replace(
                finished, status="limit", reason="this turn's cost limit (--max-cost) is spent"
            )
        relay.post(_finished(plan, kid, finished))
        if cancel.cancelled:
            raise Cancelled()
        return _report(finished)

    def _named(self, agent: str | None) -> NamedAgent | None:
        if agent is None or not agent.strip() or agent.strip().lower() == DEFAULT_NAME:
            return None
        spec = self.named.get(agent.strip().lower())
        if spec is None:
            known = ", ".join(self.named) or "none"
            from v4code.home import user_home

            raise ToolError(
                f"There is no agent named {agent!r} (named agents: {known}). Named agents are "
                f"the NAME.md files in {user_home() / 'agents'} and a trusted repository's "
                ".v4code/agents/, read when the session starts."
            )
        return spec

    def _limits(self, spec: NamedAgent | None) -> Settings:
        """The parent's settings with the child's model, and limits inside the turn's."""
        s = self.parent.settings
        left, deadline = self.parent.turn_budget()
        if left is not None:
            with self._lock:
                left -= self._running_cost()
            if left <= 0:
                raise ToolError("Not started: this turn's cost limit (--max-cost) is spent.")
        model = spec.model if spec and spec.model else s.subagent_model
        if s.max_cost is not None and price_for(model, s.prices) is None:
            raise ToolError(  # its spending could not be counted against the limit
                f"Not started: {model} has no price, so --max-cost could not bound it."
            )
        seconds = None if deadline is None else deadline - time.monotonic()
        if seconds is not None and seconds <= 1:
            raise ToolError("Not started: this turn's time limit (--max-time) is reached.")
        return s.replace(
            model=model,
            max_steps=s.subagent_max_steps,
            max_cost=_least(s.subagent_max_cost, left),
            max_time=_least(s.subagent_max_time, seconds),
        )

    def _run(self, kid: Agent, plan: ChildPlan, brief: str) -> TurnFinished:
        """The child's turn; its steps, calls and spending become its live line (the last
        call it made, or "thinking…" before its first)."""
        finished = TurnFinished("failed", reason="the sub-agent ended without a result")
        doing, step = "thinking…", 1
        for event in kid.submit(brief):
            if isinstance(event, TurnFinished):
                finished = event
                continue
            if isinstance(event, ToolStarted):
                doing = event.summary.label if event.summary is not None else event.call.name
            elif isinstance(event, UsageReported):
                self._spend()
            elif isinstance(event, StepStarted):
                step = event.step
            else:
                continue
            where = f"step {step} · " if step > 1 else ""
            self.parent.relay.post(
                SubagentProgress(plan.child, plan.name, where + doing, kid.total_cost)
            )
        return finished

    def _spend(self) -> None:
        """Children running at once share what the turn has left: once they spent it, every
        one of them stops (the turn ends at its limit next anyway)."""
        left, _ = self.parent.turn_budget()
        with self._lock:
            if left is None or self._running_cost() <= left:
                return
            stopping = list(self._running.values())
            self._over.update(self._running)
        for kid in stopping:
            kid.cancel.cancel()

    def _running_cost(self) -> float:
        """What the running children have spent so far (the caller holds the lock)."""
        return sum(kid.total_cost for kid in self._running.values())


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _follow(parent: CancelToken, child: CancelToken, stop: threading.Event) -> None:
    """Ctrl-C (the parent's cancel) stops the child too, until the child is done."""
    while not stop.is_set():
        if parent.wait(0.1):
            child.cancel()
            stop.wait(0.05)


def _finished(plan: ChildPlan, kid: Agent, finished: TurnFinished) -> SubagentFinished:
    return SubagentFinished(
        plan.child,
        plan.name,
        plan.settings.model,
        finished.status,
        steps=finished.steps,
        usage=kid.total_usage,
        cost=kid.total_cost,
        priced=kid.unpriced_model is None,
        reason=finished.reason,
        files_changed=finished.files_changed,
        brief=plan.brief,
    )


def _report(finished: TurnFinished) -> str:
    """What the parent's model gets: the child's final answer, and why it stopped early."""
    text = finished.final_text.strip()
    if finished.status == "done":
        return text or "(The sub-agent finished without a report.)"
    why = f"The sub-agent stopped before it finished ({finished.status}: {finished.reason})."
    return f"{why}\n{text}" if text else why


_RUNNERS: weakref.WeakValueDictionary[int, SubagentRunner] = weakref.WeakValueDictionary()
_TICKETS = itertools.count(1)


class AgentsSeam:
    """What a tool context holds of the runner: a ticket, nothing more. The runner holds the
    parent agent, and so its settings and the API key; every tool, a trusted repository's
    own included, gets the context, and nothing reachable from it may carry the key. The
    runner lives as long as its parent agent keeps it (`Agent.give_agents`)."""

    __slots__ = ("_ticket",)

    def __init__(self, runner: SubagentRunner) -> None:
        self._ticket = next(_TICKETS)
        _RUNNERS[self._ticket] = runner

    def start(
        self, brief: str, cancel: CancelToken, *, agent: str | None = None, child: str = ""
    ) -> str:
        runner = _RUNNERS.get(self._ticket)
        if runner is None:
            raise ToolError("Sub-agents are not available here: do this part yourself.")
        return runner.start(brief, cancel, agent=agent, child=child)
