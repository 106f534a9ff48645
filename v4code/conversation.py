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


def instruction_files(root: Path) -> list[Path]:
    """AGENTS.md at the root first, then nested ones (tracked or not ignored), shallow first."""
    from v4code.repo.files import list_files

    try:
        listed = list_files(root).files
    except Exception:  # no git and an unreadable tree: the root file alone
        listed = []
    nested = sorted(
        (p for p in listed if p.rsplit("/", 1)[-1] in INSTRUCTION_FILES and "/" in p),
        key=lambda p: (p.count("/"), p),
    )
    return [root / n for n in INSTRUCTION_FILES if (root / n).is_file()] + [
        root / p for p in nested
    ]


def project_instructions(root: Path) -> str:
    """AGENTS.md files as prompt sections; a nested one applies to files below its folder.

    They are read once, when the session starts, into the static system prompt: reading them
    later (when a file there is touched) would change the prompt prefix and lose the cache.
    """
    parts = []
    budget = MAX_INSTRUCTIONS_CHARS
    for path in instruction_files(root):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:budget].strip()
        except OSError:
            continue
        rel = path.relative_to(root).as_posix()
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        scope = f" — for files under {folder}/" if folder else ""
        parts.append(f"\n# Project instructions ({rel}){scope}\n\n{text}\n")
        budget -= len(text)
        if budget <= 0:
            break
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
