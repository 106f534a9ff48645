"""Pure data shared by every layer: messages, tool calls, results, usage.

These are the values that travel between the backend, the agent, the session log and the
frontends; they import nothing from the rest of v4code so every layer can depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the model asked for; `arguments` stays the raw JSON text.

    Parsing happens in the registry so a malformed call becomes an error result for the
    model instead of an exception here.
    """

    id: str
    name: str
    arguments: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(id=str(data["id"]), name=str(data["name"]), arguments=str(data["arguments"]))


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message as v4code stores it (never a raw wire dict).

    `reasoning_content` is kept on every assistant message because DeepSeek requires it to be
    replayed when tools are present (see conversation.py).
    """

    role: Role
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role}
        if self.content is not None:
            data["content"] = self.content
        if self.reasoning_content is not None:
            data["reasoning_content"] = self.reasoning_content
        if self.tool_calls:
            data["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=data["role"],
            content=data.get("content"),
            reasoning_content=data.get("reasoning_content"),
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            tool_call_id=data.get("tool_call_id"),
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one or more requests, as DeepSeek reports them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    cache_miss_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cache_hit_tokens=self.cache_hit_tokens + other.cache_hit_tokens,
            cache_miss_tokens=self.cache_miss_tokens + other.cache_miss_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    @property
    def cache_hit_share(self) -> float:
        """Share of prompt tokens served from DeepSeek's prefix cache (0..1)."""
        total = self.cache_hit_tokens + self.cache_miss_tokens
        return self.cache_hit_tokens / total if total else 0.0

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cache_hit_tokens": self.cache_hit_tokens,
            "cache_miss_tokens": self.cache_miss_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(**{k: int(data.get(k) or 0) for k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool call produced: `text` goes to the model, `data` only to frontends."""

    call_id: str
    text: str
    data: Any = None
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """Everything a backend needs for one model call, independent of the wire dialect."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[dict[str, Any], ...] = ()
    thinking: bool = True
    effort: str | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ToolSummary:
    """A tool call in one line, as the tool itself declares it (see `@tool(summary=...)`).

    `label` is what the chat and `v4code run` show (`read src/app.py 1-120`, `grep 'TODO' 14
    matches`); `paths` the workspace paths the call names or touched (nested AGENTS.md files
    are found from them); `counts` the numbers behind the label (matches, lines added, ...).
    """

    label: str
    paths: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolOutput:
    """A tool's answer: `text` for the model, `data` for frontends (a diff, a test summary).

    `changed` names the files the call changed (a turn reports them); `ends_turn` says the
    answer is in and no further model call is needed (e.g. report_findings).
    """

    text: str
    data: Any = None
    is_error: bool = False
    ends_turn: bool = False
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """What an approval shows of a proposal: a diff and its files, or a command and where it
    runs. A proposal with neither is shown by its tool name and arguments."""

    diff: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    command: str | None = None
    cwd: str | None = None
    sandboxed: bool = False
    texts: tuple[tuple[str, str | None, str | None], ...] = ()
    """(path, text before, text after) of each text file an edit changes (None: no such
    file): for frontends that show a change as whole files (an editor's diff view)."""
