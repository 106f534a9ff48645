"""The conversation: a static system message plus append-only history, and its wire form.

Nothing earlier in the request may change between steps: DeepSeek bills cached prefix tokens
at a small fraction of the price, so the system prompt is rendered once per session (no
timestamps, no live state; see instructions.py) and history is only ever appended to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from v4code.types import Message, ToolCall


@dataclass
class Conversation:
    system: Message
    history: list[Message] = field(default_factory=list)

    def messages(self) -> tuple[Message, ...]:
        return (self.system, *self.history)

    def append(self, message: Message) -> None:
        self.history.append(message)

    def pending_calls(self) -> list[ToolCall]:
        """Tool calls of the last assistant message that have no result yet."""
        answered: set[str] = set()
        for message in reversed(self.history):
            if message.role == "tool" and message.tool_call_id:
                answered.add(message.tool_call_id)
            elif message.role == "assistant":
                return [c for c in message.tool_calls if c.id not in answered]
            else:
                return []
        return []

    def estimate_tokens(self) -> int:
        """A rough size (4 characters a token) for when the server has not told us yet."""
        return estimate_tokens(self.messages())


def estimate_tokens(messages: Iterable[Message]) -> int:
    """The rough size of `messages`: 4 characters a token, reasoning and tool calls included."""
    chars = 0
    for m in messages:
        chars += len(m.content or "") + len(m.reasoning_content or "")
        chars += sum(len(c.arguments) + len(c.name) for c in m.tool_calls)
    return chars // 4
