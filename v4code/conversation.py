"""The conversation: a static system message plus append-only history.

Nothing earlier in the request may change between steps: DeepSeek bills cached prefix tokens
at a small fraction of the price, so the system prompt is rendered once per session (no
timestamps, no live state) and history is only ever appended to.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from v4code.assets import load_prompt
from v4code.types import Message, ToolCall

INSTRUCTION_FILES = ("AGENTS.md",)
MAX_INSTRUCTIONS_CHARS = 40_000


def project_instructions(root: Path) -> str:
    """The repository's AGENTS.md, if any, as a prompt section."""
    parts = []
    for name in INSTRUCTION_FILES:
        path = root / name
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")[:MAX_INSTRUCTIONS_CHARS]
            except OSError:
                continue
            parts.append(f"\n# Project instructions ({name})\n\n{text.strip()}\n")
    return "".join(parts)


def build_system_prompt(root: Path) -> str:
    is_git = (root / ".git").exists()
    return (
        load_prompt(
            "system",
            project_root=root,
            workspace=str(root),
            platform=f"{platform.system()} {platform.release()}",
            git="yes" if is_git else "no",
            instructions=project_instructions(root),
        ).rstrip()
        + "\n"
    )


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
        chars = 0
        for m in self.messages():
            chars += len(m.content or "") + len(m.reasoning_content or "")
            chars += sum(len(c.arguments) + len(c.name) for c in m.tool_calls)
        return chars // 4
