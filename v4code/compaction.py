"""Compaction: older turns summarised by the model, recent turns kept verbatim.

It is the one deliberate rewrite of history (it starts a new cache prefix), done when the
conversation nears `compact_threshold` of the context window (checked before every model
request, so a long turn is compacted too) or when the person asks (/compact). The current turn
and the one before it stay verbatim (the task state); the summary prompt is prompts/compact.md.
The agent logs a "compaction" record with the new history, so a resumed session rebuilds it.
"""

from __future__ import annotations

from v4code.assets import load_prompt
from v4code.config import Settings
from v4code.types import ChatRequest, Message

KEEP_TURNS = 2
MAX_TRANSCRIPT_CHARS = 400_000
SUMMARY_HEADER = "Summary of the earlier part of this session (older turns were compacted):"


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


def summary_request(settings: Settings, older: list[Message]) -> ChatRequest:
    """The request that summarises `older`: no tools, no thinking, the prompt from prompts/."""
    return ChatRequest(
        model=settings.model,
        messages=(
            Message("system", load_prompt("compact")),
            Message("user", "Summarise this session so far:\n\n" + transcript(older)),
        ),
        thinking=False,
    )


def rebuild(summary: str, recent: list[Message]) -> list[Message]:
    return [
        Message("user", f"{SUMMARY_HEADER}\n\n{summary}"),
        Message("assistant", "Understood; I will continue from there.", reasoning_content=""),
        *recent,
    ]
