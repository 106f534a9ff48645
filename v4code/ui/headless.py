"""The `v4code run` frontend: text, json or jsonl output and exit codes a script can trust.

Text mode prints progress to stderr and only the final answer to stdout, so
`v4code run TASK > answer.md` captures the answer alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from v4code.errors import ExitCode
from v4code.events import (
    ErrorEvent,
    Event,
    ModelSwitched,
    Notice,
    PlanProposed,
    PlanUpdated,
    ReasoningDelta,
    Retrying,
    SubagentFinished,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    UsageReported,
    event_to_dict,
)
from v4code.pricing import format_cost
from v4code.protocols import Approval, ApprovalRequest
from v4code.safety.redact import Redactor, StreamScrubber, redactor
from v4code.textio import counted, one_line, shown_lines
from v4code.toolkit import generic_summary
from v4code.types import Usage

if TYPE_CHECKING:
    from v4code.agent import Agent

STATUS_EXIT = {
    "done": ExitCode.DONE,
    "failed": ExitCode.FAILED,
    "error": ExitCode.BACKEND,
    "limit": ExitCode.LIMIT,
    "denied": ExitCode.DENIED,
    "interrupted": ExitCode.INTERRUPTED,
}


class PolicyApprover:
    """Never waits for input: whatever the permission mode would ask about is denied."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def decide(self, request: ApprovalRequest) -> Approval:
        if request.guard_reason:
            return Approval(
                allowed=False,
                reason=f"Denied: {request.guard_reason}; `v4code run` runs such commands only "
                "with --allow-destructive",
            )
        if request.risk == "read":  # the one read that is asked about: a secret file
            return Approval(
                allowed=False,
                reason=(
                    f"Denied: {request.note or 'a secret file'}; `v4code run` reads secret "
                    "files only with --allow-secrets (or allow_secrets = true in your config)"
                ),
            )
        if request.note:  # a before-apply hook wants a person's yes, which `run` cannot give
            return Approval(allowed=False, reason=f"Denied: {request.note}")
        hint = "auto-edit" if request.risk == "edit" else "full-auto"
        return Approval(
            allowed=False,
            reason=(
                f"`v4code run` does not ask questions and permission mode {self.mode!r} needs "
                f"approval for this; rerun with --permission-mode {hint} to allow it"
            ),
        )


def describe_call(started: ToolStarted, finished: ToolFinished | None = None) -> str:
    """`read src/app.py 1-120`, `grep 'TODO' 14 matches`, `run pytest -q  exit 1`, ...: the
    line the tool declares for itself (`@tool(summary=...)`), with its result once `finished`
    (a generic line when the tool declares none). The chat's tool lines are these too."""
    if finished is not None and finished.summary is not None:
        return finished.summary.label
    if started.summary is not None:
        return started.summary.label
    return generic_summary(started.call.name, started.args or {}).label


def error_line(finished: ToolFinished, width: int) -> str:
    """A failed call's error as its tool line ends (`✗ ...`): the first line of what the tool
    said, cut to `width`, kept on that line whatever the repository's text in it holds."""
    first = (finished.result.text.strip().splitlines() or [""])[0]
    return f"✗ {one_line(first[:width])}"


def subagent_dict(event: SubagentFinished) -> dict[str, Any]:
    """One child agent in `run -o json`'s `subagents` list."""
    return {
        "id": event.child,
        "name": event.name,
        "model": event.model,
        "status": event.status,
        "reason": event.reason,
        "brief": event.brief,
        "steps": event.steps,
        "files_changed": list(event.files_changed),
        "usage": event.usage.to_dict(),
        "cost_usd": round(event.cost, 6) if event.priced else None,
    }


def subagent_line(event: SubagentFinished) -> str:
    """`agent task done: 3 steps, 12,400 in, $0.0021 · Find where...` (a finished child, on
    one line, with the start of its brief)."""
    steps = "1 step" if event.steps == 1 else f"{event.steps} steps"
    cost = format_cost(event.cost if event.priced else None, None if event.priced else event.model)
    line = f"agent {event.name} {event.status}: {steps}, {event.usage.prompt_tokens:,} in, {cost}"
    line += f" — {one_line(event.reason)}" if event.reason else ""
    return line + (f" · {one_line(event.brief)[:60]}" if event.brief else "")


def cost_lines(agent: Agent) -> list[str]:
    """The session's tokens, cache hits and cost, then one line per finished subagent (whose
    figures the first line includes): what the chat's and an editor's `/cost` answer."""
    u = agent.total_usage
    unpriced = agent.unpriced_model
    cost = format_cost(None if unpriced else agent.total_cost, unpriced)
    lines = [
        f"this session: {u.prompt_tokens:,} tokens in ({u.cache_hit_tokens:,} cache hits, "
        f"{u.cache_hit_share:.0%}), {u.completion_tokens:,} out "
        f"({u.reasoning_tokens:,} thinking) · {cost}"
    ]
    return lines + [f"  {subagent_line(child)}" for child in agent.subagents]


ESTIMATED_NOTE = (
    "estimated in part: a response cut short reported no usage, so its tokens were counted "
    "from what streamed"
)


@dataclass
class RunResult:
    status: str = "error"
    final_message: str = ""
    reason: str = ""
    steps: int = 0
    files_changed: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    model: str | None = None
    session_id: str = ""
    denied: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # settings left out (config.load_settings)
    planted: list[str] = field(default_factory=list)  # a nested .git moved aside, a new .v4code/
    unpriced_model: str | None = None  # a response came from a model no price is known for
    estimated: bool = False  # a response cut short reported no usage: counted from its text
    error_category: str | None = None  # "config" (a rejected key, ...) or "backend"
    todo: list[dict[str, str]] = field(default_factory=list)  # the model's list as it ended
    plan: dict[str, Any] | None = None  # plan mode's proposal (`run --plan`)
    switches: list[dict[str, Any]] = field(default_factory=list)  # escalations, fallbacks
    subagents: list[dict[str, Any]] = field(default_factory=list)  # each child agent, in order

    @property
    def exit_code(self) -> int:
        if self.status == "error" and self.error_category == "config":
            return ExitCode.USAGE
        return STATUS_EXIT.get(self.status, ExitCode.FAILED)

    @property
    def cost_usd(self) -> float | None:
        """Rounded to 1e-6 USD; None when part of the work was done by a model with no price."""
        return None if self.unpriced_model else round(self.cost, 6)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "final_message": self.final_message,
            "reason": self.reason,
            "files_changed": self.files_changed,
            "usage": self.usage.to_dict(),
            "cache_hit_share": round(self.usage.cache_hit_share, 4),
            "cost_usd": self.cost_usd,
            "steps": self.steps,
            "model": self.model,
            "session_id": self.session_id,
            "denied": self.denied,
            "notices": self.notices,
            "planted": self.planted,
            "todo": self.todo,
            "plan": self.plan,
            "switches": self.switches,
            "subagents": self.subagents,
            **({"cost_note": self.cost_note} if self.cost_note else {}),
        }

    @property
    def cost_note(self) -> str:
        """Why `cost_usd` is not the API's own figure: unknown, or partly estimated."""
        if self.unpriced_model:
            return f"no price for {self.unpriced_model}"
        return ESTIMATED_NOTE if self.estimated else ""


def collect(event: Event, result: RunResult) -> None:
    """Fold one event into the result a caller gets (`v4code run`'s and the Python API's)."""
    if isinstance(event, UsageReported):
        result.usage = event.total_usage
        result.cost = event.total_cost
        result.estimated = result.estimated or event.estimated
        result.model = event.model or result.model
        if not event.priced:
            result.unpriced_model = event.model or result.model or "this model"
    elif isinstance(event, SubagentFinished):
        result.subagents.append(subagent_dict(event))
        result.usage = event.total_usage or result.usage
        result.cost = result.cost if event.total_cost is None else event.total_cost
        if not event.priced:
            result.unpriced_model = event.model
    elif isinstance(event, ToolFinished) and event.denied:
        result.denied.append(event.call.name)
    elif isinstance(event, ToolFinished) and isinstance(event.result.data, dict):
        result.planted += [str(line) for line in event.result.data.get("planted", ())]
    elif isinstance(event, Notice):
        result.notices.append(event.text)
    elif isinstance(event, ErrorEvent):
        result.error_category = event.category
    elif isinstance(event, ModelSwitched):
        result.switches.append(
            {"from": event.from_model, "to": event.to_model, "signal": event.signal}
            | {"reason": event.reason, "step": event.step}
        )
    elif isinstance(event, PlanUpdated):
        result.todo = [dict(item) for item in event.items]
    elif isinstance(event, PlanProposed):
        from v4code.planning import plan_dict

        result.plan = plan_dict(event)
    elif isinstance(event, TurnFinished):  # `run --plan --execute` has two turns
        result.status = event.status
        result.final_message = event.final_text
        result.reason = event.reason
        result.steps += event.steps
        result.files_changed += [f for f in event.files_changed if f not in result.files_changed]


class ScrubbedDeltas:
    """The answer's and the thinking's deltas scrubbed across their boundaries (a key the
    model streams in two pieces is caught): each delta comes out with what is safe so far
    (none when nothing is), the held-back rest before the next event of another kind."""

    def __init__(self, scrub: Redactor) -> None:
        self.text = StreamScrubber(scrub)
        self.thinking = StreamScrubber(scrub)

    def events(self, event: Event) -> list[Event]:
        if isinstance(event, TextDelta):
            return self._rest_of_thinking() + _delta(TextDelta, self.text.feed(event.text))
        if isinstance(event, ReasoningDelta):
            return self._rest_of_text() + _delta(ReasoningDelta, self.thinking.feed(event.text))
        return [*self._rest_of_thinking(), *self._rest_of_text(), event]

    def _rest_of_text(self) -> list[Event]:
        return _delta(TextDelta, self.text.flush())

    def _rest_of_thinking(self) -> list[Event]:
        return _delta(ReasoningDelta, self.thinking.flush())


def _delta(kind: type[TextDelta] | type[ReasoningDelta], text: str) -> list[Event]:
    return [kind(text)] if text else []


class _Scrubbed:
    """A stream that never writes a known secret: the last guard before a script's logs."""

    def __init__(self, stream: IO[str], scrub: Callable[[str], str]) -> None:
        self.stream = stream
        self.scrub = scrub

    def write(self, text: str) -> int:
        return self.stream.write(self.scrub(text))

    def flush(self) -> None:
        self.stream.flush()


class HeadlessRenderer:
    def __init__(
        self,
        output: str,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        scrub: Redactor | None = None,
        plan_only: bool = False,
    ) -> None:
        self.output = output
        self.plan_only = plan_only  # `run --plan`: the plan is the answer on stdout
        scrub = scrub or redactor()
        self.out = _Scrubbed(out or sys.stdout, scrub)
        self.deltas = ScrubbedDeltas(scrub)
        self.err = _Scrubbed(err or sys.stderr, scrub)
        self._running: dict[str, ToolStarted] = {}
        self._errors: set[str] = set()  # printed already: the summary does not repeat them
        self._proposal: PlanProposed | None = None  # the plan `run --plan` prints

    def render(self, event: Event) -> None:
        """One event as it happens: a jsonl line, or text mode's progress on stderr."""
        if isinstance(event, PlanProposed):
            self._proposal = event
        if self.output == "jsonl":
            for shown in self.deltas.events(event):
                self.out.write(json.dumps(event_to_dict(shown)) + "\n")  # jsonable already
            self.out.flush()
        elif self.output == "text":
            self._text(event)

    def finish(self, result: RunResult) -> None:
        """Write the result in the chosen form (also for a run that could not start)."""
        if self.output == "json":
            self.out.write(json.dumps(result.to_dict(), indent=2) + "\n")
        elif self.output == "jsonl":
            self.out.write(json.dumps({"type": "result", **result.to_dict()}) + "\n")
        elif self.output == "text":
            if self.plan_only and self._proposal is not None:
                from v4code.planning import plan_lines

                self.out.write(shown_lines("\n".join(plan_lines(self._proposal))) + "\n")
            if result.final_message:  # what it quotes of a file cannot drive the terminal
                self.out.write(shown_lines(result.final_message.rstrip()) + "\n")
            self._summary(result)
        self.out.flush()

    def _text(self, event: Event) -> None:
        """Progress as the chat shows it: a call's line once it finished, with its result
        (`• grep 'TODO' 14 matches`, `• run pytest -q  exit 1`)."""
        if isinstance(event, ToolStarted):
            self._running[event.call.id] = event
        elif isinstance(event, ToolFinished):
            started = self._running.pop(event.call.id, None) or ToolStarted(event.call)
            line = f"• {describe_call(started, event)}"
            if event.denied:
                line += "  denied"
            elif event.result.is_error:
                line += f"  {error_line(event, 200)}"
            self._err(line)
        elif isinstance(event, TurnFinished):
            for started in self._running.values():  # cut short: the line is not lost
                self._err(f"• {describe_call(started)}  interrupted")
            self._running.clear()
        elif isinstance(event, PlanUpdated):
            from v4code.planning import todo_lines

            self._err("  todo:")
            for line in todo_lines(event.items):
                self._err(f"    {line}")
        elif isinstance(event, PlanProposed):
            steps, files = counted(len(event.items), "step"), counted(len(event.files), "file")
            self._err(f"  plan proposed: {steps}, {files}")
        elif isinstance(event, SubagentFinished):
            self._err(f"  {subagent_line(event)}")
        elif isinstance(event, Retrying):
            self._err(f"  retrying in {event.delay:.1f} s ({one_line(event.reason)})")
        elif isinstance(event, Notice):  # a hook's output, a path: the repository's text
            self._err(f"  {shown_lines(event.text)}")
        elif isinstance(event, ErrorEvent):
            self._errors.add(event.message)
            self._err(f"error: {shown_lines(event.message)}")
        elif isinstance(event, ModelSwitched):
            from v4code.routing import switch_line

            self._err(f"  ⇄ {switch_line(event)}")

    def _summary(self, result: RunResult) -> None:
        u = result.usage
        steps = "1 step" if result.steps == 1 else f"{result.steps} steps"
        cost = format_cost(result.cost_usd, result.unpriced_model)
        cost = f"≈{cost}" if result.estimated and not result.unpriced_model else cost
        line = (
            f"{result.status}: {steps}, {u.prompt_tokens:,} in "
            f"({u.cache_hit_share:.0%} cached), {u.completion_tokens:,} out, {cost}"
        )
        if result.reason and result.reason not in self._errors:
            line += f" — {one_line(result.reason)}"
        self._err(line)

    def _err(self, text: str) -> None:
        """Every progress line goes out here, through the display sanitiser: a model id or
        a reason a server chose cannot drive the terminal (OSC 52, CSI 2J) or reorder it."""
        self.err.write(shown_lines(text) + "\n")
        self.err.flush()
