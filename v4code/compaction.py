"""Compaction: older turns summarised by the model, recent turns kept verbatim.

It is the one deliberate rewrite of history (it starts a new cache prefix), done when the
conversation nears `compact_threshold` of the context window (checked before every model
request, so a long turn is compacted too) or when the person asks (/compact). The current turn
and the one before it stay verbatim (the task state); the summary prompt is prompts/compact.md.
`compact` asks for the summary and returns the new history; the agent replaces its history
with it and logs a "compaction" record, so a resumed session rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

from v4code.assets import load_prompt
from v4code.config import Settings
from v4code.errors import BackendError, Cancelled
from v4code.events import ErrorEvent, Event, Notice, Retrying, StreamEvent, TextDelta, UsageChunk
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


def rebuild(summary: str, recent: list[Message], kept: str = "") -> list[Message]:
    """The new history: the summary (with `kept`, what must survive word for word: the todo
    list, plan mode), then the recent turns as they were."""
    text = f"{SUMMARY_HEADER}\n\n{summary}" + (f"\n\n{kept}" if kept else "")
    return [
        Message("user", text),
        Message("assistant", "Understood; I will continue from there.", reasoning_content=""),
        *recent,
    ]


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


def compact(
    history: list[Message],
    cut: int,
    stream: Callable[[ChatRequest], Iterator[StreamEvent]],
    *,
    model: str,
    kept: str = "",
) -> Generator[Event | UsageChunk, None, list[Message] | None]:
    """Summarise `history[:cut]` with one request through `stream`; returns the new history
    (the summary with `kept`, then the recent turns as they were), or None when the request
    failed or was cancelled. Retries, usage and failures are yielded for the caller to record
    (and price): the history is the caller's to replace and log."""
    parts: list[str] = []
    try:
        for ev in stream(summary_request(model, history[:cut])):
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
    return rebuild(summary, history[cut:], kept)
