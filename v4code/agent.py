"""The turn loop: model request, tool calls, results, repeat; events out, an Approver in.

The agent never prints and never prompts. Frontends iterate `Agent.submit()` and render the
events; a person or a fixed policy answers approvals through the injected Approver.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.conversation import Conversation
from v4code.edits.changeset import ChangeSet
from v4code.errors import BackendError, Cancelled, ToolError, V4codeError
from v4code.events import (
    ErrorEvent,
    Event,
    Notice,
    ReasoningDelta,
    Retrying,
    StepStarted,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
    UsageReport,
    UsageReported,
    event_to_dict,
)
from v4code.pricing import cost_of
from v4code.protocols import ApprovalRequest, Approver, Backend
from v4code.safety.permissions import PermissionPolicy, Verdict
from v4code.sessions import SessionLog
from v4code.toolkit import Tool, ToolContext, ToolOutput, ToolRegistry, cap_output
from v4code.types import ChatRequest, Message, ToolCall, ToolResult, Usage

LOGGED_EVENT_KINDS = frozenset(
    {
        "turn_started",
        "tool_started",
        "tool_finished",
        "usage_reported",
        "notice",
        "retrying",
        "error",
        "turn_finished",
    }
)


@dataclass
class _Reply:
    """One streamed assistant reply being assembled."""

    reasoning: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None

    def message(self) -> Message:
        return Message(
            role="assistant",
            content="".join(self.text),
            reasoning_content="".join(self.reasoning),
            tool_calls=tuple(self.calls),
        )

    @property
    def empty(self) -> bool:
        return not (self.reasoning or self.text or self.calls)


class _StopTurn(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class TurnState:
    steps: int = 0
    denied: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    last_call_key: tuple[str, str] | None = None
    repeats: int = 0
    ended_by_tool: bool = False
    compaction_skipped: bool = False


class Agent:
    """Runs turns of one session. Not thread-safe; one turn at a time."""

    def __init__(
        self,
        *,
        settings: Settings,
        backend: Backend,
        registry: ToolRegistry,
        root: Path,
        conversation: Conversation,
        session: SessionLog,
        approver: Approver,
        policy: PermissionPolicy | None = None,
        checkpoints: Any = None,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.registry = registry
        self.root = root
        self.conversation = conversation
        self.session = session
        self.approver = approver
        self.policy = policy or PermissionPolicy(settings.permission_mode)
        self.checkpoints = checkpoints
        self.cancel = cancel or CancelToken()
        self.clock = clock
        self.total_usage = Usage()
        self.total_cost = 0.0
        self.last_prompt_tokens = 0
        self._tool_schemas = tuple(registry.schemas())
        self._turn = TurnState()
        self._instructions_seen: set[str] | None = None  # nested AGENTS.md already given

    @property
    def session_id(self) -> str:
        return self.session.session_id

    # --- the turn ---------------------------------------------------------------------

    def submit(self, text: str) -> Iterator[Event]:
        """Run one user turn to its end, yielding events; the last one is TurnFinished."""
        self.cancel.reset()
        state = self._turn = TurnState()
        started = self.clock()
        cost_at_start = self.total_cost
        if self.needs_compaction():
            yield from self.compact(auto=True)
        yield self._log(TurnStarted(self.session_id, text))
        self._append(Message(role="user", content=text))
        final_text = ""
        try:
            while True:
                self._check_limits(state, started, cost_at_start)
                if state.steps and self.needs_compaction():  # a long turn fills the window too
                    yield from self.compact(auto=True)
                state.steps += 1
                yield StepStarted(state.steps)
                reply = yield from self._stream_reply()
                self._append(reply.message())
                final_text = "".join(reply.text)
                if not reply.calls:
                    if reply.finish_reason == "length":
                        yield self._log(Notice("The answer was cut off at the output token limit."))
                    break
                for call in reply.calls:
                    yield from self._handle_call(call, state)
                if state.ended_by_tool:
                    break
        except _StopTurn as stop:
            self.close_pending(f"Not run: {stop.reason}")
            yield self._finish(stop.status, final_text, stop.reason, state)
            return
        except Cancelled:
            self.close_pending("Interrupted by the user before this call finished.")
            yield self._finish("interrupted", final_text, "interrupted by the user", state)
            return
        except BackendError as exc:
            self.close_pending(f"Not run: {exc.message}")
            yield self._log(ErrorEvent(exc.message, "backend"))
            yield self._finish("error", final_text, exc.message, state)
            return
        if state.denied:
            reason = "denied: " + "; ".join(state.denied)
            yield self._finish("denied", final_text, reason, state)
        else:
            yield self._finish("done", final_text, "", state)

    def _finish(self, status: str, final_text: str, reason: str, state: TurnState) -> TurnFinished:
        return self._log(
            TurnFinished(
                status=status,
                final_text=final_text,
                reason=reason,
                steps=state.steps,
                files_changed=tuple(dict.fromkeys(state.files_changed)),
            )
        )

    def _check_limits(self, state: TurnState, started: float, cost_at_start: float) -> None:
        s = self.settings
        if state.steps >= s.max_steps:
            raise _StopTurn("limit", f"step limit reached ({s.max_steps} steps)")
        spent = self.total_cost - cost_at_start
        if s.max_cost is not None and spent >= s.max_cost:
            raise _StopTurn("limit", f"cost limit reached (${spent:.4f} of ${s.max_cost:.4f})")
        elapsed = self.clock() - started
        if s.max_time is not None and elapsed >= s.max_time:
            raise _StopTurn("limit", f"time limit reached ({elapsed:.0f} s of {s.max_time:.0f} s)")

    # --- compaction -------------------------------------------------------------------

    def needs_compaction(self) -> bool:
        s = self.settings
        return self.last_prompt_tokens >= s.compact_threshold * s.context_window

    def compact(self, auto: bool = False) -> Iterator[Event]:
        """Summarise older turns; recent ones stay verbatim. Logged so resume rebuilds it."""
        from v4code.compaction import (
            KEEP_TURNS,
            rebuild,
            split_point,
            summary_request,
            worth_compacting,
        )

        history = self.conversation.history
        cut = split_point(history)
        if cut == 0 or (auto and not worth_compacting(history, cut)):
            if not auto:
                yield Notice(f"Nothing to compact yet: the last {KEEP_TURNS} turns stay verbatim.")
            elif not self._turn.compaction_skipped:
                self._turn.compaction_skipped = True
                yield self._log(
                    Notice("The context is nearly full, but its recent turns cannot be compacted.")
                )
            return
        full = self.last_prompt_tokens / max(self.settings.context_window, 1)
        yield Notice(
            f"Compacting: the context is {full:.0%} full; summarising older turns…"
            if auto
            else "Compacting: summarising older turns…"
        )
        parts: list[str] = []
        try:
            for ev in self.backend.stream(
                summary_request(self.settings, history[:cut]), self.cancel
            ):
                if isinstance(ev, TextDelta):
                    parts.append(ev.text)
                elif isinstance(ev, UsageReport):
                    yield self._account(ev.usage, None)
                elif isinstance(ev, Retrying):
                    yield self._log(ev)
        except Cancelled:
            yield self._log(Notice("Compaction cancelled; the conversation is unchanged."))
            return
        except BackendError as exc:
            yield self._log(ErrorEvent(f"compaction failed: {exc.message}", "backend"))
            return
        summary = "".join(parts).strip()
        if not summary:
            yield self._log(ErrorEvent("compaction failed: the summary came back empty", "backend"))
            return
        self.conversation.history = rebuild(summary, history[cut:])
        self.session.write(
            {"type": "compaction", "messages": [m.to_dict() for m in self.conversation.history]}
        )
        self._instructions_seen = None
        self.last_prompt_tokens = self.conversation.estimate_tokens()
        yield self._log(
            Notice(
                f"Compacted {cut} older messages into a summary; the last {KEEP_TURNS} turns are "
                "kept verbatim. A new cache prefix starts here."
            )
        )

    # --- one model request --------------------------------------------------------------

    def request(self) -> ChatRequest:
        s = self.settings
        return ChatRequest(
            model=s.model,
            messages=self.conversation.messages(),
            tools=self._tool_schemas,
            thinking=s.thinking,
            effort=s.effort if s.thinking else None,
            max_tokens=s.max_tokens,
        )

    def _stream_reply(self) -> Iterator[Event]:
        reply = _Reply()
        try:
            for ev in self.backend.stream(self.request(), self.cancel):
                if isinstance(ev, ReasoningDelta):
                    reply.reasoning.append(ev.text)
                    yield ev
                elif isinstance(ev, TextDelta):
                    reply.text.append(ev.text)
                    yield ev
                elif isinstance(ev, ToolCallReady):
                    reply.calls.append(ev.call)
                    if ev.leaked:
                        yield self._log(
                            Notice(
                                f"Recovered a tool call ({ev.call.name}) the model wrote as text."
                            )
                        )
                elif isinstance(ev, UsageReport):
                    yield self._account(ev.usage, reply.model)
                elif isinstance(ev, StreamFinish):
                    reply.finish_reason = ev.finish_reason
                    reply.model = ev.model
                elif isinstance(ev, Retrying):
                    reply = _Reply()  # the partial reply is discarded; the request starts over
                    yield self._log(ev)
        except Cancelled:
            if not reply.empty:
                partial = reply.message()
                self._append(
                    Message(
                        role="assistant",
                        content=partial.content,
                        reasoning_content=partial.reasoning_content,
                    )
                )
            raise
        return reply

    def _account(self, usage: Usage, model: str | None) -> UsageReported:
        s = self.settings
        cost = cost_of(usage, model or s.model, s.prices, peak_multiplier=s.peak_multiplier)
        if cost == 0.0 and model and model != s.model:
            cost = cost_of(usage, s.model, s.prices, peak_multiplier=s.peak_multiplier)
        self.total_usage = self.total_usage + usage
        self.total_cost += cost
        self.last_prompt_tokens = usage.prompt_tokens + usage.completion_tokens
        return self._log(UsageReported(usage, cost, self.total_usage, self.total_cost, model))

    # --- one tool call ----------------------------------------------------------------

    def _handle_call(self, call: ToolCall, state: TurnState) -> Iterator[Event]:
        self.cancel.raise_if_cancelled()
        key = (call.name, _canonical(call.arguments))
        state.repeats = state.repeats + 1 if key == state.last_call_key else 1
        state.last_call_key = key
        if state.repeats >= self.settings.repeat_limit:
            self._append_result(
                ToolResult(call.id, "Not run: the same call was repeated.", is_error=True)
            )
            raise _StopTurn(
                "failed",
                f"the model called {call.name} with the same arguments {state.repeats} times in a row",
            )
        args, parse_error = self._parse(call)
        yield self._log(ToolStarted(call, args))
        if parse_error is not None:
            result = ToolResult(call.id, parse_error, is_error=True)
            denied = False
        else:
            result, denied = self._run(call, args or {}, state)
        loaded: list[str] = []
        if not denied and not result.is_error and args:
            result, loaded = self._with_instructions(args, result)
        self._append_result(result)
        yield self._log(ToolFinished(call, result, denied))
        if loaded:
            yield self._log(Notice(f"Read {', '.join(loaded)} (instructions for files there)."))

    def _with_instructions(
        self, args: dict[str, Any], result: ToolResult
    ) -> tuple[ToolResult, list[str]]:
        """Append the AGENTS.md of subfolders this call touched, the first time only."""
        from dataclasses import replace

        from v4code.conversation import nested_instruction_files, nested_instructions_text
        from v4code.workspace import relative_to_root, resolve_in_workspace

        rels = []
        for path in _arg_paths(args):
            try:
                rels.append(relative_to_root(self.root, resolve_in_workspace(self.root, path)))
            except (V4codeError, OSError):
                continue
        if not rels:
            return result, []
        if self._instructions_seen is None:
            self._instructions_seen = self.conversation.instructions_seen()
        new = [
            f for f in nested_instruction_files(self.root, rels) if f not in self._instructions_seen
        ]
        if not new:
            return result, []
        self._instructions_seen.update(new)
        return replace(result, text=result.text + nested_instructions_text(self.root, new)), new

    def _parse(self, call: ToolCall) -> tuple[dict[str, Any] | None, str | None]:
        try:
            tool = self.registry.lookup(call)
        except ToolError as exc:
            return None, str(exc)
        try:
            return tool.parse_arguments(call.arguments), None
        except ToolError as exc:
            repaired = _repair(call.arguments)
            if repaired is not None:
                try:
                    return tool.parse_arguments(repaired), None
                except ToolError:
                    pass
            return None, str(exc)

    def _run(
        self, call: ToolCall, args: dict[str, Any], state: TurnState
    ) -> tuple[ToolResult, bool]:
        tool = self.registry.lookup(call)
        command = args.get("command") if tool.risk == "command" else None
        verdict = self.policy.check(tool.name, tool.risk, command)
        if verdict is Verdict.DENY:
            what = f"{tool.name} is not allowed in {self.policy.mode} mode"
            state.denied.append(what)
            return ToolResult(call.id, f"Denied: {what}.", is_error=True), True
        ctx = self._context()
        try:
            if tool.risk == "edit":
                return self._run_edit(tool, call, args, ctx, verdict, state)
            if verdict is Verdict.ASK:
                refused = self._ask(
                    tool,
                    call,
                    args,
                    state,
                    command=command,
                    cwd=str(self.root),
                    sandboxed=ctx.sandbox,
                    guard_reason=self.policy.guard_reason(command),
                )
                if refused is not None:
                    return ToolResult(call.id, refused, is_error=True), True
            return self._result(call, tool.run(ctx, args), ctx), False
        except ToolError as exc:
            return ToolResult(call.id, str(exc), is_error=True), False
        except Cancelled:
            raise
        except Exception as exc:  # a tool bug must not end the session
            return ToolResult(
                call.id, f"{tool.name} failed: {type(exc).__name__}: {exc}", is_error=True
            ), False

    def _run_edit(
        self,
        tool: Tool,
        call: ToolCall,
        args: dict[str, Any],
        ctx: ToolContext,
        verdict: Verdict,
        state: TurnState,
    ) -> tuple[ToolResult, bool]:
        from v4code.edits.apply import apply_changeset

        proposal = tool.run(ctx, args)
        if not isinstance(proposal, ChangeSet):
            return self._result(call, proposal, ctx), False
        if verdict is Verdict.ASK:
            refused = self._ask(
                tool,
                call,
                args,
                state,
                diff=proposal.unified_diff(),
                files=tuple(proposal.as_data()),
            )
            if refused is not None:
                return ToolResult(call.id, refused, is_error=True), True
        batch = apply_changeset(self.root, proposal, self.checkpoints, self.session_id)
        state.files_changed.extend(proposal.paths)
        data = {"files": proposal.as_data(), "batch": batch}
        return ToolResult(call.id, proposal.summary, data=data), False

    def _ask(
        self, tool: Tool, call: ToolCall, args: dict[str, Any], state: TurnState, **shown: Any
    ) -> str | None:
        """Ask the Approver; None when allowed, else the refusal text for the model."""
        command = shown.get("command")
        request = ApprovalRequest(tool=tool.name, call=call, args=args, risk=tool.risk, **shown)
        approval = self.approver.decide(request)
        if approval.allowed:
            self.policy.remember(tool.name, approval.remember, command)
            return None
        what = tool.name + (f" `{command}`" if command else "")
        state.denied.append(what + (f" ({approval.reason})" if approval.reason else ""))
        text = f"The user denied this {tool.name} call; nothing was changed."
        if approval.reason:
            text += f" Their reason: {approval.reason}"
        return text

    def _result(self, call: ToolCall, output: Any, ctx: ToolContext) -> ToolResult:
        if isinstance(output, ToolOutput):
            if output.ends_turn and not output.is_error:
                self._turn.ended_by_tool = True
            return ToolResult(
                call.id, cap_output(output.text, ctx.output_cap), output.data, output.is_error
            )
        return ToolResult(call.id, cap_output(str(output), ctx.output_cap))

    def _context(self) -> ToolContext:
        return ToolContext(
            root=self.root,
            cancel=self.cancel,
            settings=self.settings,
            checkpoints=self.checkpoints,
            sandbox=self.policy.sandbox_commands and self.settings.sandbox,
            session_id=self.session_id,
            output_cap=self.settings.output_cap,
        )

    # --- history and log --------------------------------------------------------------

    def _append(self, message: Message) -> None:
        self.conversation.append(message)
        self.session.message(message)

    def _append_result(self, result: ToolResult) -> None:
        self._append(Message(role="tool", content=result.text, tool_call_id=result.call_id))

    def close_pending(self, text: str) -> None:
        """Answer every unanswered tool call so the history stays valid for the next request."""
        for call in self.conversation.pending_calls():
            self._append_result(ToolResult(call.id, text, is_error=True))

    def _log(self, event: Any) -> Any:
        if event.kind in LOGGED_EVENT_KINDS:
            self.session.event(event_to_dict(event))
        return event


def _arg_paths(args: dict[str, Any]) -> list[str]:
    """The workspace paths a tool call's arguments name."""
    paths = [args[k] for k in ("path", "src", "dst") if isinstance(args.get(k), str)]
    edits = args.get("edits")
    if isinstance(edits, list):
        for edit in edits:
            path = edit.get("path") if isinstance(edit, dict) else getattr(edit, "path", None)
            if isinstance(path, str):
                paths.append(path)
    return paths


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        return arguments


def _repair(arguments: str) -> str | None:
    try:
        from v4code.backends.repair import repair_json_arguments
    except ImportError:  # pragma: no cover - the module ships with v4code
        return None
    return repair_json_arguments(arguments)
