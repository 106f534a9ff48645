"""Asks a server as v4code's chat would, and keeps what it answered: the events v4code's own
backend made of the stream (the dialect's switches, the streaming parser, the recovery of
leaked tool calls) and the raw chunks behind them, so a verdict can quote its evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from v4code.cancel import CancelToken
from v4code.errors import V4codeError
from v4code.events import ReasoningDelta, StreamFinish, TextDelta, ToolCallReady
from v4code.types import ChatRequest, ToolCall


@dataclass
class Answer:
    """One probe request: the events the backend made and the raw chunks behind them."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    leaked: bool = False
    usage_raw: dict[str, Any] | None = None
    model: str | None = None
    finish: str | None = None
    error: str | None = None

    def reasoning_fields(self) -> list[str]:
        found = []
        for chunk in self.chunks:
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                for key in ("reasoning_content", "reasoning"):
                    if delta.get(key) and key not in found:
                        found.append(key)
        return found


class _Recording:
    """A transport wrapper that keeps every chunk it passes on."""

    def __init__(self, inner: Any, sink: list[dict[str, Any]]) -> None:
        self.inner = inner
        self.sink = sink

    @contextmanager
    def stream(self, body: dict[str, Any], **kwargs: Any) -> Iterator[Iterator[dict[str, Any]]]:
        with self.inner.stream(body, **kwargs) as chunks:
            yield self._tee(chunks)

    def _tee(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for chunk in chunks:
            self.sink.append(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class Prober:
    """One server, asked with one backend per dialect (made when first used)."""

    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        from v4code.backends.openai_compat import OpenAICompatBackend

        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.backends: dict[str, OpenAICompatBackend] = {}

    def backend(self, dialect: str) -> Any:
        from v4code.backends.openai_compat import OpenAICompatBackend

        if dialect not in self.backends:
            self.backends[dialect] = OpenAICompatBackend(
                base_url=self.base_url,
                api_key=self.api_key,
                dialect=dialect,
                timeout=self.timeout,
                max_retries=0,
            )
        return self.backends[dialect]

    def ask(self, dialect: str, request: ChatRequest) -> Answer:
        answer = Answer()
        backend = self.backend(dialect)
        recording = _Recording(backend.transport(), answer.chunks)
        backend._transport = recording  # record this request's chunks
        try:
            for event in backend.stream(request, CancelToken()):
                if isinstance(event, ReasoningDelta):
                    answer.reasoning += event.text
                elif isinstance(event, TextDelta):
                    answer.text += event.text
                elif isinstance(event, ToolCallReady):
                    answer.calls.append(event.call)
                    answer.leaked = answer.leaked or event.leaked
                elif isinstance(event, StreamFinish):
                    answer.finish, answer.model = event.finish_reason, event.model
        except V4codeError as exc:
            answer.error = exc.message
        finally:
            backend._transport = recording.inner
        for chunk in answer.chunks:
            if chunk.get("usage"):
                answer.usage_raw = chunk["usage"]
        return answer

    def models(self) -> tuple[list[dict[str, Any]] | None, str]:
        from v4code.backends.model_list import fetch_models

        return fetch_models(self.base_url, self.api_key, self.timeout)

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()
