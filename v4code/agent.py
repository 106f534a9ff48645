"""The turn loop: model request, tool calls, results, repeat; events out, an Approver in.

The agent never prints and never prompts. Frontends iterate `Agent.submit()` and render the
events; a person or a fixed policy answers approvals through the injected Approver. What a tool
call goes through (policy, approval, before-apply hooks, apply) is `v4code.pipeline`; the
registry prepares each call; compaction and project instructions have modules of their own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from v4code import compaction
from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.controls import AgentControls
from v4code.conversation import Conversation
from v4code.errors import BackendError, Cancelled, DeadlineExceeded, ExitCode
from v4code.events import (
    ErrorEvent,
    Event,
    ModelSwitched,
    Notice,
    ReasoningDelta,
    Retrying,
    StepStarted,
    StreamEvent,
    SubagentFinished,
    TextDelta,
    ToolCallReady,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
    UsageChunk,
    UsageReported,
    event_to_dict,
)
from v4code.instructions import NestedInstructions
from v4code.pipeline import AfterApply, BeforeApply, Outcome, ToolPipeline
from v4code.planning import PlanBook
from v4code.pricing import next_prompt_cost, price_for, price_usage, prompt_cost_estimate
from v4code.protocols import Approver, Backend
from v4code.relay import Relay
from v4code.routing import Router
from v4code.safety.permissions import PermissionPolicy
from v4code.safety.programs import take_notices
from v4code.sessions import SessionLog
from v4code.textio import one_line
from v4code.tool_context import DiagnosticsSource, EditorFiles, SubagentStarter
from v4code.toolkit import Invocation, ToolContext, ToolRegistry
from v4code.turn import LOGGED_EVENT_KINDS, Reply, StopTurn, TurnState, Watcher
from v4code.types import ChatRequest, Message, ToolCall, ToolResult, Usage

if TYPE_CHECKING:
    from v4code.hooks import Hooks
    from v4code.toolkit import Checkpoints

E = TypeVar("E", bound=Event | StreamEvent)
FirstMessage = Callable[[str, CancelToken], tuple[str, list[str]]]
"""The task -> the session's first user message and notices (app.py adds the repo map)."""


class Agent(AgentControls):
    """Runs turns of one session. Not thread-safe; one turn at a time.

    Frontends change it only through its methods (`set_model`, `set_thinking`, `set_mode`,
    `start_planning`, `approve_plan`, ...: v4code.controls);
    `before_apply` hooks (see v4code.pipeline) run before every approved effect.
    """

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
        checkpoints: Checkpoints | None = None,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
        before_apply: Sequence[BeforeApply] = (),
        after_apply: Sequence[AfterApply] = (),
        tool_setup: Callable[[ToolRegistry], list[str]] | None = None,
        hooks: Hooks | None = None,
        first_message: FirstMessage | None = None,
    ) -> None:
        self._settings = settings
        # What every tool call gets (no settings, no key); `give_agents` adds a seam.
        self._tools_context = ToolContext.for_session(root, settings)
        self._backend = backend
        self.registry = registry
        self.root = root
        self.conversation = conversation
        self.session = session
        self.policy = policy or PermissionPolicy(settings.permission_mode)
        self.pipeline = ToolPipeline(self.policy, approver, list(before_apply), list(after_apply))
        self.checkpoints = checkpoints
        self.cancel = cancel or CancelToken()
        self.clock = clock
        self.total_usage = Usage()
        self.total_cost = 0.0
        self.unpriced_model: str | None = None  # a response was served by a model with no price
        self.last_prompt_tokens = 0
        self._tool_setup = tool_setup
        self._tool_schemas: tuple[dict[str, Any], ...] | None = None  # fixed at the first turn
        self.hooks = hooks  # v4code.hooks.Hooks: after_tool and turn_end return notices
        self.cached = 0  # the previous prompt: what the next one likely re-uses
        self.notes: list[str] = []  # system notes the next request carries (v4code.notes)
        self._turn = TurnState()
        self._instructions = NestedInstructions(root, conversation)
        self._first_message = first_message  # adds the repo map to the session's first message
        self.plan = PlanBook(self.policy, session)  # the todo list and plan mode (controls)
        self.routing = Router(self._risk_of)  # `auto`'s escalation, the fallback (controls)
        self.watchers: list[Watcher] = [self.plan.watch, self._route]  # see each finished call
        self.child_watchers: list[Watcher] = []  # the wiring's, given to each child agent too
        self.relay = Relay()  # child agents' progress and questions, taken on the turn's thread
        self.subagents: list[SubagentFinished] = []  # this session's child agents (`/cost`)
        self._agents_owner: object = None  # what the `agents` seam stands for (give_agents)
        self._handover: ModelSwitched | None = None  # a switch whose compaction is still due

    def give_agents(self, agents: SubagentStarter, owner: object = None) -> None:
        """The seam the `task` tool starts child agents through (the wiring builds it);
        `owner`, what the seam stands for, is kept alive here, out of the tools' reach."""
        self._tools_context = dataclasses.replace(self._tools_context, agents=agents)
        self._agents_owner = owner

    def give_diagnostics(self, source: DiagnosticsSource | None) -> None:
        """The seam the `diagnostics` tool asks a language server through (the wiring's)."""
        self._tools_context = dataclasses.replace(self._tools_context, diagnostics=source)

    @property
    def diagnostics_source(self) -> DiagnosticsSource | None:
        return self._tools_context.diagnostics

    def give_files(self, files: EditorFiles) -> None:
        """An editor's view of the workspace's files (`v4code acp`): read tools and edits
        see its text, approved edits are written through it (tool_context.EditorFiles)."""
        self._tools_context = dataclasses.replace(self._tools_context, files=files)

    def turn_budget(self) -> tuple[float | None, float | None]:
        """What the running turn has left: USD under `--max-cost` and the deadline
        (time.monotonic()) of `--max-time`, None where there is no limit."""
        limit = self._settings.max_cost
        left = None if limit is None else limit - (self.total_cost - self._turn.spent_before)
        return left, self._turn.deadline

    def fix_tools(self, setup: Callable[[ToolRegistry], list[str]] | None = None) -> list[str]:
        """Fix the tool list (cache prefix) after `setup` added tools: at the first turn, or on
        `/mcp reload` (a cache miss); notices from setup are returned."""
        setup = setup or self._tool_setup
        notices = setup(self.registry) if setup is not None else []
        self._tool_schemas = tuple(self.registry.schemas())
        return notices

    # --- the turn ---------------------------------------------------------------------

    def submit(self, text: str) -> Iterator[Event]:
        """Run one user turn to its end, yielding events; the last one is TurnFinished."""
        try:
            for event in self._submit(text):
                if isinstance(event, TurnFinished) and self.hooks is not None:
                    yield from (self.record(Notice(n)) for n in self.hooks.turn_end(self, event))
                yield event
        finally:
            self.cancel.deadline = None  # the turn's time limit ends with it

    def _begin(self, text: str) -> Generator[Event, None, TurnState]:
        """Start a turn: its state and time limit, the tool list fixed, the context compacted
        if full, pending system notes, then the user's message (the first with its map)."""
        self.cancel.reset()
        state = self._turn = TurnState.begin(self._settings, self.clock(), self.total_cost)
        self.cancel.deadline = state.deadline  # what runs under the turn stops with it too
        state.request = text
        if self._tool_schemas is None:
            yield from (self.record(Notice(note)) for note in self.fix_tools())
        if self.needs_compaction():
            yield from self.compact(auto=True)
        yield self.record(TurnStarted(self.session_id, text))
        for note in self.notes:  # appended after the history, so the cached prefix stays
            self._append(Message(role="system", content=note))
        self.notes.clear()
        content = text
        if self._first_message is not None and not any(
            m.role == "user" for m in self.conversation.history
        ):
            content, notices = self._first_message(text, self.cancel)
            yield from (self.record(Notice(n)) for n in [*notices, *take_notices()])
        self._append(Message(role="user", content=content))
        return state

    def _submit(self, text: str) -> Iterator[Event]:
        state = yield from self._begin(text)
        final_text = ""
        try:
            while True:
                state.check_limits(
                    self._settings, self.clock(), self.total_cost, self._next_prompt_cost()
                )
                yield from self._compact_for_switch()  # before the budget sees the history
                if state.steps and self.needs_compaction():  # a long turn fills the window too
                    yield from self.compact(auto=True)
                state.steps += 1
                yield StepStarted(state.steps)
                reply = yield from self._stream_reply()
                self._append(reply.message())
                final_text = "".join(reply.text)
                # usage comes at a response's end: the budget is checked before its calls run
                state.check_cost(self._settings, self.total_cost)
                if not reply.calls:
                    if reply.finish_reason == "length":
                        yield self.record(
                            Notice("The answer was cut off at the output token limit.")
                        )
                    break
                for group in self._call_groups(reply.calls):
                    state.check_time(self._settings)  # no call starts once time is up
                    yield from self._handle_calls(group, state)
                if state.ended_by_tool:
                    break
        except StopTurn as stop:
            final_text = final_text or state.partial_text
            yield self._stop(stop.status, final_text, stop.reason, f"Not run: {stop.reason}")
            return
        except Cancelled:
            note = "Interrupted by the user before this call finished."
            yield self._stop("interrupted", final_text, "interrupted by the user", note)
            return
        except BackendError as exc:
            category = "config" if exc.exit_code == ExitCode.USAGE else "backend"
            yield self.record(ErrorEvent(exc.message, category))
            yield self._stop("error", final_text, exc.message, f"Not run: {exc.message}")
            return
        if state.denied:
            yield self._finish("denied", final_text, "; ".join(state.denied))
        else:
            yield self._finish("done", final_text, "")

    def _next_prompt_cost(self) -> float | None:
        """The next request's prompt cost, estimated: from the last prompt's size once the
        server reported one; before that (a session's first request) from the request itself,
        system prompt, tool schemas and repo map included, all of it at the cache-miss rate."""
        s = self._settings
        price = price_for(self.model, s.prices)  # the routed model's: `auto` has none itself
        if self.last_prompt_tokens or s.max_cost is None:
            return next_prompt_cost(price, self.last_prompt_tokens, self.cached)
        return prompt_cost_estimate(0, self._request_tokens(), price)

    def _request_tokens(self) -> int:
        """The next request's prompt, estimated at about 4 characters a token: the
        conversation (system prompt and repo map included) and the tool schemas."""
        import json

        tools = self._tool_schemas or tuple(self.registry.schemas())
        return self.conversation.estimate_tokens() + len(json.dumps(tools)) // 4

    def _stop(self, status: str, final_text: str, reason: str, pending: str) -> TurnFinished:
        self.close_pending(pending)
        return self._finish(status, final_text, reason)

    def _finish(self, status: str, final_text: str, reason: str) -> TurnFinished:
        state = self._turn
        changed = tuple(dict.fromkeys(state.files_changed))
        return self.record(TurnFinished(status, final_text, reason, state.steps, changed))

    # --- compaction (v4code.compaction does the work) --------------------------------------

    def needs_compaction(self) -> bool:
        return compaction.needs_compaction(self.last_prompt_tokens, self._settings)

    def compact(self, auto: bool = False) -> Iterator[Event]:
        """Summarise older turns; recent ones stay verbatim. The progress notices are shown,
        not logged; a full context that cannot be compacted is said once a turn."""
        history = self.conversation.history
        cut = compaction.cut_point(history, auto)
        if not cut:
            if not auto:
                yield Notice(compaction.NOTHING_YET)
            elif not self._turn.compaction_skipped:
                self._turn.compaction_skipped = True
                yield self.record(Notice(compaction.UNCOMPACTABLE))
            return
        full = self.last_prompt_tokens / max(self._settings.context_window, 1)
        yield compaction.starting(auto, full)
        model = self._settings.compact_model or self.model  # a role of its own, priced so
        request = compaction.summary_request(model, history[:cut])
        recent, kept = history[cut:], self.plan.for_model()
        done = yield from self._summarised(request, lambda s: compaction.rebuild(s, recent, kept))
        if done:
            yield self.record(compaction.compacted(cut))

    def _summarised(
        self, request: ChatRequest, rebuild: Callable[[str], list[Message]]
    ) -> Generator[Event, None, bool]:
        """Both compactions' one request: the summary asked with `request` (its retries and
        failures recorded, its usage priced as `request.model`'s), and the history replaced
        with what `rebuild` makes of it. False when no summary came."""
        answer = compaction.summarise(request, self.model_stream)
        while True:
            try:
                event = next(answer)
            except StopIteration as done:
                summary: str | None = done.value
                break
            if isinstance(event, UsageChunk):
                yield self.account(event.usage, request.model)
            else:
                yield self.record(event)
        if summary is not None:
            self.replace_history(rebuild(summary))
        return summary is not None

    def replace_history(self, messages: list[Message]) -> None:
        """The one rewrite of history (compaction); logged so a resumed session rebuilds it."""
        self.conversation.history = messages
        self.session.compaction(messages)
        self._instructions.forget()
        self.last_prompt_tokens = self.conversation.estimate_tokens()

    # --- which model (v4code.routing decides) -----------------------------------------------

    @property
    def model(self) -> str:
        """The model the next request goes to: `model`, or where `auto` or a fallback led."""
        return self.routing.model(self._settings)

    def _risk_of(self, name: str) -> str | None:
        found = self.registry.get(name)
        return None if found is None else found.risk

    def _route(self, finished: ToolFinished) -> list[Event]:
        """A watcher: `auto`'s escalation signals, counted on each finished call."""
        switch = self.routing.watch(finished, self._settings, self._turn.steps)
        return [] if switch is None else [self._switched(switch)]

    def _switched(self, switch: ModelSwitched) -> ModelSwitched:
        """The new model's prefix cache is cold: the next prompt is priced as a miss, and
        the history may be compacted before it (`_compact_for_switch`); the new model's
        repeated calls are counted afresh."""
        self.cached = 0
        self._turn.new_model()
        self._handover = switch
        return switch

    def _compact_for_switch(self) -> Iterator[Event]:
        """After a switch, before the new model's first request: the older history
        summarised by the model the session was on, when that pays (v4code.compaction's
        `switch_plan`); the new model's cache stays cold either way."""
        switch, self._handover = self._handover, None
        history = self.conversation.history
        if switch is None or switch.to_model != self.model:  # the person chose another since
            return
        plan = compaction.switch_plan(history, switch, self._settings, self._turn.request)
        if plan is None:
            return
        yield compaction.switch_starting(plan)
        request = compaction.switch_request(self.request(), plan)  # to plan.writer
        kept = self.plan.for_model()
        done = yield from self._summarised(
            request, lambda s: compaction.switch_rebuild(s, history, plan, kept)
        )
        self.cached = 0  # the summary's usage was the writer's cache, not the new model's
        if done:
            yield self.record(compaction.switch_compacted(plan))

    # --- one model request --------------------------------------------------------------

    def request(self) -> ChatRequest:
        s = self._settings
        return ChatRequest(
            model=self.model,
            messages=self.conversation.messages(),
            tools=self._tool_schemas or tuple(self.registry.schemas()),
            thinking=s.thinking,
            effort=s.effort if s.thinking else None,
            max_tokens=s.max_tokens,
        )

    def model_stream(self, request: ChatRequest) -> Iterator[StreamEvent]:
        """One response; the turn's time limit bounds it, retries and reconnects included. The
        deadline is read from the cancel token, which holds it only while a turn runs: a
        `/compact` between turns is not bound by the last turn's spent limit."""
        return self._backend.stream(request, self.cancel, deadline=self.cancel.deadline)

    def _stream_reply(self) -> Generator[Event, None, Reply]:
        """One reply; when the model is overloaded or no longer served, the same request
        again on `fallback_model`, said first (v4code.routing)."""
        while True:
            try:
                return (yield from self._stream_once())
            except BackendError as exc:
                switch = self.routing.fall_back(exc, self._settings, self._turn.steps)
                if switch is None:
                    raise
                yield self.record(self._switched(switch))
                yield from self._compact_for_switch()

    def _stream_once(self) -> Generator[Event, None, Reply]:
        reply = Reply()
        try:
            for ev in self.model_stream(self.request()):
                if isinstance(ev, Retrying):
                    reply = Reply()  # the partial reply is discarded; the request starts over
                    yield self.record(ev)
                    continue
                reply.add(ev)  # usage is priced once the finish names the model that served it
                if isinstance(ev, (ReasoningDelta, TextDelta)):
                    yield ev
                elif isinstance(ev, ToolCallReady) and ev.leaked:
                    said = f"Recovered a tool call ({ev.call.name}) the model wrote as text."
                    yield self.record(Notice(said))
        except (Cancelled, DeadlineExceeded) as exc:
            if reply.usage is not None:
                yield self.account(reply.usage, reply.model)
            elif not reply.empty:  # streamed tokens are billed though no usage came
                yield self.account(self._estimated_usage(reply), reply.model, estimated=True)
            if not reply.empty:  # what was said so far stays in the session
                self._append(reply.message(with_calls=False))
            if isinstance(exc, DeadlineExceeded):
                self._turn.partial_text = "".join(reply.text)
                limit = self._settings.max_time or 0.0
                raise StopTurn("limit", f"time limit reached ({limit:.0f} s)") from None
            raise
        if reply.usage is not None:
            yield self.account(reply.usage, reply.model)
        return reply

    def _estimated_usage(self, reply: Reply) -> Usage:
        """What a response cut short (Ctrl-C, the time limit) probably used: the API reports
        usage only at a stream's end, yet the prompt and what streamed are billed, so a turn
        said to cost $0 would be wrong. The prompt is this request's size (the part the last
        one sent counted as cached), the output what streamed, at about 4 characters a token."""
        prompt = self._request_tokens()
        cached = min(self.cached, prompt)
        calls = sum(len(c.name) + len(c.arguments) for c in reply.calls)
        reasoning = sum(map(len, reply.reasoning)) // 4
        completion = reasoning + (sum(map(len, reply.text)) + calls) // 4
        return Usage(prompt, max(completion, 1), cached, prompt - cached, reasoning)

    def account(self, usage: Usage, model: str | None, estimated: bool = False) -> UsageReported:
        """Price one response's usage (by the model that served it, else the configured one)
        and add it to the session totals, kept to 1e-6 USD (no float noise); `estimated` for
        an interrupted response's, counted from what streamed (`_estimated_usage`)."""
        s = self._settings
        cost, priced = price_usage(usage, (model, self.model), s.prices, s.peak_multiplier)
        if not priced:
            self.unpriced_model = model or self.model
        self.total_usage = self.total_usage + usage
        self.total_cost = round(self.total_cost + cost, 6)
        self.last_prompt_tokens = usage.prompt_tokens + usage.completion_tokens
        self.cached = usage.prompt_tokens
        return self.record(
            UsageReported(usage, cost, self.total_usage, self.total_cost, model, priced, estimated)
        )

    # --- one tool call ----------------------------------------------------------------

    def _handle_calls(self, calls: list[ToolCall], state: TurnState) -> Iterator[Event]:
        """One call, or calls of a parallel tool in a row (child agents): started in order;
        a parallel tool's run at once in worker threads (at most `max_parallel_agents`),
        their progress yielded as it comes; the results recorded in call order."""
        pending = []
        for call in calls:
            pending.append((yield from self._start_call(call, state)))
        if any(isinstance(p, Invocation) and p.tool.parallel for p in pending):
            outcomes = yield from self._run_parallel(pending)
        else:
            outcomes = [self._run_call(p) for p in pending]
        for call, prepared, outcome in zip(calls, pending, outcomes, strict=True):
            yield from self._end_call(call, prepared, outcome, state)

    def _call_groups(self, calls: Sequence[ToolCall]) -> list[list[ToolCall]]:
        """The step's calls in order, consecutive calls of a parallel tool in one group."""
        groups: list[list[ToolCall]] = []
        for call in calls:
            tool = self.registry.get(call.name)
            parallel = tool is not None and tool.parallel
            if parallel and groups and groups[-1][0].name == call.name:
                groups[-1].append(call)
            else:
                groups.append([call])
        return groups

    def _start_call(
        self, call: ToolCall, state: TurnState
    ) -> Generator[Event, None, Invocation | ToolResult]:
        self.cancel.raise_if_cancelled()
        if state.repeated(call, self._settings.repeat_limit):
            self._append_result(
                ToolResult(call.id, "Not run: the same call was repeated.", is_error=True)
            )
            raise StopTurn("failed", state.repeat_reason(call))
        prepared = self.registry.prepare(call)
        if isinstance(prepared, ToolResult):  # unknown tool, bad arguments: the model is told
            yield self.record(ToolStarted(call, None, self.describe(call)))
        else:
            yield self.record(ToolStarted(call, prepared.args, prepared.summarise()))
        return prepared

    def _run_call(self, prepared: Invocation | ToolResult) -> Outcome:
        if isinstance(prepared, ToolResult):
            return Outcome(prepared)
        return self.pipeline.run(prepared, self._context(prepared.call.id))

    def _run_parallel(
        self, pending: list[Invocation | ToolResult]
    ) -> Generator[Event, None, list[Outcome]]:
        """Run calls in worker threads while the relay's events (and approvals) are taken
        here; a child's spending is added to the totals as it finishes."""
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(self._settings.max_parallel_agents, len(pending)))
        with ThreadPoolExecutor(workers, thread_name_prefix="v4code-call") as pool:
            self.relay.hold()
            futures = [pool.submit(self._run_call, one) for one in pending]
            try:
                for event in self.relay.drain(lambda: all(f.done() for f in futures)):
                    if isinstance(event, SubagentFinished):
                        event = self._absorb(event)
                    yield self.record(event)
            finally:
                if any(not f.done() for f in futures):  # the turn was closed under them
                    self.cancel.cancel()
        return [f.result() for f in futures]  # Cancelled from any of them ends the turn

    def _absorb(self, event: SubagentFinished) -> SubagentFinished:
        """A child's tokens and cost, added to the session's (and so the turn's) totals."""
        self.total_usage = self.total_usage + event.usage
        self.total_cost = round(self.total_cost + event.cost, 6)
        if not event.priced:
            self.unpriced_model = event.model
        self.subagents.append(event)
        self._turn.files_changed.extend(event.files_changed)  # the turn's, as its own edits
        return dataclasses.replace(event, total_usage=self.total_usage, total_cost=self.total_cost)

    def _end_call(
        self, call: ToolCall, prepared: Invocation | ToolResult, outcome: Outcome, state: TurnState
    ) -> Iterator[Event]:
        args, summary = None, self.describe(call)
        if isinstance(prepared, Invocation):
            args, summary = prepared.args, prepared.summarise(outcome.result.data)
        if outcome.secret:
            self.session.withhold(call.id)
        if outcome.denied:
            state.denied.append(outcome.denied)
        state.files_changed.extend(outcome.changed)
        state.ended_by_tool = state.ended_by_tool or outcome.ends_turn
        result, loaded = outcome.result, list[str]()
        if args and outcome.denied is None and not result.is_error:
            result, loaded = self._instructions.attach(summary.paths, result)
        self._append_result(result)
        finished = self.record(ToolFinished(call, result, outcome.denied is not None, summary))
        yield finished
        for watch in self.watchers:
            yield from (self.record(event) for event in watch(finished))
        notes = self.hooks.after_tool(self, call, args, result) if self.hooks else []
        # e.g. "git found only at .venv/bin/git: not used" (a program the workspace planted)
        yield from (self.record(Notice(n)) for n in [*notes, *take_notices()])
        if loaded:
            read = ", ".join(map(one_line, loaded))  # folder names the repository chose
            yield self.record(Notice(f"Read {read} (instructions for files there)."))

    def _context(self, call_id: str = "") -> ToolContext:
        """The session's tool context (built once) with this call's cancel token and sandbox."""
        return dataclasses.replace(
            self._tools_context,
            call_id=call_id,
            root=self.root,
            cancel=self.cancel,
            checkpoints=self.checkpoints,
            sandbox=self.policy.sandbox_commands and self._settings.sandbox,
            session_id=self.session_id,
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

    def record(self, event: E) -> E:
        """Write an event worth keeping to the session log; return it for yielding."""
        if event.kind in LOGGED_EVENT_KINDS:
            self.session.event(event_to_dict(event))
        return event
