"""Compaction: older turns summarised by the model, recent turns kept verbatim.

It is the one deliberate rewrite of history (it starts a new cache prefix), done when the
conversation nears `compact_threshold` of the context window (checked before every model
request, so a long turn is compacted too), when the person asks (/compact), or at a switch of
model when it pays (`compact_on_switch`, see `switch_plan`). The current turn
and the one before it stay verbatim (the task state); the summary prompt is prompts/compact.md.
`summarise` asks for the summary and `rebuild` (or `switch_rebuild`) makes the new history
of it; the agent replaces its history with that and logs a "compaction" record, so a resumed
session rebuilds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator

from v4code.assets import load_prompt
from v4code.config import Settings
from v4code.conversation import estimate_tokens
from v4code.errors import FALLBACK_CAUSES, BackendError, Cancelled
from v4code.events import (
    ErrorEvent,
    Event,
    ModelSwitched,
    Notice,
    Retrying,
    StreamEvent,
    TextDelta,
    UsageChunk,
)
from v4code.pricing import price_for
from v4code.types import ChatRequest, Message

KEEP_TURNS = 2
MAX_TRANSCRIPT_CHARS = 400_000
SUMMARY_HEADER = "Summary of the earlier part of this session (older turns were compacted):"
NOTHING_YET = f"Nothing to compact yet: the last {KEEP_TURNS} turns stay verbatim."
UNCOMPACTABLE = "The context is nearly full, but its recent turns cannot be compacted."


def split_point(history: list[Message], keep_turns: int = KEEP_TURNS) -> int:
    """Index of the first message kept verbatim: the start of the last `keep_turns` user turns."""
    starts = [i for i, m in enumerate(history) if m.role == "user"]
    if len(starts) <= keep_turns:
        return 0
    return starts[-keep_turns]


def transcript(messages: list[Message]) -> str:
    lines = []
    for m in messages:
        if m.role == "assistant":
            if m.content:
                lines.append(f"ASSISTANT: {m.content}")
            for call in m.tool_calls:
                lines.append(f"TOOL CALL {call.name}: {call.arguments[:2000]}")
        elif m.role == "tool":
            lines.append(f"TOOL RESULT: {(m.content or '')[:4000]}")
        else:
            lines.append(f"{m.role.upper()}: {m.content or ''}")
    text = "\n".join(lines)
    return text[-MAX_TRANSCRIPT_CHARS:]


def worth_compacting(history: list[Message], cut: int, share: float = 0.25) -> bool:
    """Automatic compaction only pays when the older part is a real share of the whole (when
    the recent turns alone fill the window, summarising a summary again would not help)."""

    def size(messages: list[Message]) -> int:
        return sum(
            len(m.content or "") + sum(len(c.arguments) for c in m.tool_calls) for m in messages
        )

    return size(history[:cut]) >= share * max(size(history), 1)


def summary_request(model: str, older: list[Message]) -> ChatRequest:
    """The request that summarises `older`: no tools, no thinking, the prompt from prompts/."""
    return ChatRequest(
        model=model,
        messages=(
            Message("system", load_prompt("compact")),
            Message("user", "Summarise this session so far:\n\n" + transcript(older)),
        ),
        thinking=False,
    )


def rebuild(summary: str, recent: list[Message], *kept: str) -> list[Message]:
    """The new history: the summary (with `kept`, what must survive word for word: the todo
    list, plan mode), then the recent messages as they were. Recent turns follow a word from
    the assistant that it goes on from there; a turn's kept steps (a switch's) answer the
    summary themselves."""
    text = "\n\n".join([SUMMARY_HEADER, summary, *(part for part in kept if part)])
    steps = bool(recent) and recent[0].role != "user"
    ack = Message("assistant", "Understood; I will continue from there.", reasoning_content="")
    return [Message("user", text), *([] if steps else [ack]), *recent]


def needs_compaction(last_prompt_tokens: int, settings: Settings) -> bool:
    return last_prompt_tokens >= settings.compact_threshold * settings.context_window


def cut_point(history: list[Message], auto: bool) -> int:
    """Where the summarised part ends; 0 when there is nothing to compact (automatically,
    also when compacting would not pay)."""
    cut = split_point(history)
    return 0 if auto and cut and not worth_compacting(history, cut) else cut


def starting(auto: bool, full: float) -> Notice:
    """What the person sees while the summary is written (`full`: the share of the window)."""
    if auto:
        return Notice(f"Compacting: the context is {full:.0%} full; summarising older turns…")
    return Notice("Compacting: summarising older turns…")


def compacted(cut: int) -> Notice:
    return Notice(
        f"Compacted {cut} older messages into a summary; the last {KEEP_TURNS} turns are "
        "kept verbatim. A new cache prefix starts here."
    )


Stream = Callable[[ChatRequest], Iterator[StreamEvent]]


def summarise(
    request: ChatRequest, stream: Stream
) -> Generator[Event | UsageChunk, None, str | None]:
    """The summary `request` is answered with, or None (said) when it failed, was cancelled
    or came back empty."""
    parts: list[str] = []
    try:
        for ev in stream(request):
            if isinstance(ev, TextDelta):
                parts.append(ev.text)
            elif isinstance(ev, (UsageChunk, Retrying)):
                yield ev
    except Cancelled:
        yield Notice("Compaction cancelled; the conversation is unchanged.")
        return None
    except BackendError as exc:
        yield ErrorEvent(f"compaction failed: {exc.message}", "backend")
        return None
    summary = "".join(parts).strip()
    if not summary:
        yield ErrorEvent("compaction failed: the summary came back empty", "backend")
        return None
    return summary


# --- at a switch of model ------------------------------------------------------------------
#
# Each model keeps its own prefix cache, so the first request to a new model pays the miss
# rate on the whole history. A summary written by the model the session was on re-sends that
# history as its cached prefix (hits), and the new model then reads the summary and the recent
# steps instead of everything: worth it when the miss tokens it saves cost more than the
# summary does. On a fallback the old model has just failed, so the new one would write the
# summary on a cold cache; the same estimate then says it does not pay.

KEEP_STEPS = 3  # model steps kept verbatim with their results: as many as TEST_FAILURES
SUMMARY_TOKENS = 1_500  # what a summary and its reasoning are reckoned to take
SWITCH_PROMPT = (
    "Before you go on: this session moves to another model now. Write a summary of the "
    "session so far for it, as the notes of an engineer handing over: the task, what was "
    "learned about the code (files, functions, facts found), what was tried and how it "
    "failed, what remains to do. The last {steps} steps are kept word for word after your "
    "summary, so summarise what comes before them. No tool calls; the summary only."
)


@dataclasses.dataclass(frozen=True)
class SwitchPlan:
    """A compaction at a switch: the first message kept, who writes the summary, and the
    person's request of this turn (carried word for word when its message is summarised)."""

    cut: int
    writer: str
    to_model: str
    request: str


def switch_cut(history: list[Message], keep_steps: int = KEEP_STEPS) -> int:
    """The first message kept verbatim: the last `keep_steps` model steps of this turn, each
    with its tool results (so the outputs that made the switch, such as three failing test
    runs, reach the new model as they were), or the whole turn when it has fewer steps."""
    users = [i for i, m in enumerate(history) if m.role == "user"]
    if not users:
        return 0
    turn = users[-1]
    steps = [i for i in range(turn + 1, len(history)) if history[i].role == "assistant"]
    return steps[-keep_steps] if len(steps) >= keep_steps else turn


def switch_pays(
    history: list[Message], cut: int, writer: str, switch: ModelSwitched, settings: Settings
) -> bool:
    """Whether the new model's miss tokens saved on its first prompt cost more than the
    summary: its prompt (the whole history: at the hit rate when the writer's cache holds
    it, else at the miss rate) and its answer. Unpriced models are never compacted."""
    writer_price = price_for(writer, settings.prices)
    to_price = price_for(switch.to_model, settings.prices)
    if writer_price is None or to_price is None:
        return False
    rate = "hit" if writer == switch.from_model else "miss"
    summary = estimate_tokens(history) * writer_price.get(rate, 0.0)
    summary += SUMMARY_TOKENS * writer_price.get("output", 0.0)
    saved = (estimate_tokens(history[:cut]) - SUMMARY_TOKENS) * to_price.get("miss", 0.0)
    return saved > summary


def switch_plan(
    history: list[Message], switch: ModelSwitched, settings: Settings, request: str
) -> SwitchPlan | None:
    """The compaction a switch calls for, or None: `compact_on_switch` off, nothing older
    than the kept steps, or a summary that would cost more than it saves. `request` is the
    person's words that started this turn, carried word for word when its message is
    summarised (without what the app added to it, such as the first message's repo map)."""
    cut = switch_cut(history)
    fallback = switch.signal in FALLBACK_CAUSES
    writer = switch.to_model if fallback else switch.from_model
    if not settings.compact_on_switch or cut == 0:
        return None
    if not switch_pays(history, cut, writer, switch, settings):
        return None
    return SwitchPlan(cut, writer, switch.to_model, request)


def switch_request(request: ChatRequest, plan: SwitchPlan) -> ChatRequest:
    """The summary request: the main loop's own request (tools, history) to the writer, so
    its cache serves the prefix, with the ask for a summary after it."""
    ask = Message("user", SWITCH_PROMPT.format(steps=KEEP_STEPS))
    return dataclasses.replace(request, model=plan.writer, messages=(*request.messages, ask))


def switch_rebuild(
    summary: str, history: list[Message], plan: SwitchPlan, kept: str
) -> list[Message]:
    """The new history: the summary (with this turn's request word for word when its
    message was summarised, and `kept`), then the kept steps as they were."""
    recent = history[plan.cut :]
    summarised = plan.request and recent[0].role != "user"  # the turn's message is not kept
    asked = f"The request being worked on, word for word:\n\n{plan.request}" if summarised else ""
    return rebuild(summary, recent, asked, kept)


def switch_starting(plan: SwitchPlan) -> Notice:
    return Notice(
        f"Compacting before the switch to {plan.to_model}: {plan.writer} summarises older turns…"
    )


def switch_compacted(plan: SwitchPlan) -> Notice:
    return Notice(
        f"Compacted {plan.cut} older messages into a summary before the switch to "
        f"{plan.to_model}; the last {KEEP_STEPS} steps are kept verbatim. A new cache prefix "
        "starts here."
    )
