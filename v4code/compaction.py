"""Compaction: older turns summarised by the model, recent turns kept verbatim.

It is the one deliberate rewrite of history (it starts a new cache prefix), done when the
conversation nears the context window or when the person asks (/compact).
"""

from __future__ import annotations

from v4code.assets import load_prompt
from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.events import TextDelta
from v4code.protocols import Backend
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


def summarise(
    backend: Backend, settings: Settings, older: list[Message], cancel: CancelToken
) -> str:
    request = ChatRequest(
        model=settings.model,
        messages=(
            Message("system", load_prompt("compact")),
            Message("user", "Summarise this session so far:\n\n" + transcript(older)),
        ),
        thinking=False,
    )
    return "".join(
        e.text for e in backend.stream(request, cancel) if isinstance(e, TextDelta)
    ).strip()


def rebuild(summary: str, recent: list[Message]) -> list[Message]:
    return [
        Message("user", f"{SUMMARY_HEADER}\n\n{summary}"),
        Message("assistant", "Understood; I will continue from there.", reasoning_content=""),
        *recent,
    ]
