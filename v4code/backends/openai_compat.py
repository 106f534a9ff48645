"""The streaming client for DeepSeek's API and OpenAI-compatible engines.

It turns one ChatRequest into StreamEvents, retries what is worth retrying (with the reason
shown to the person), and turns everything else into a BackendError that says what to do.
The wire goes through a transport (transports.py): http.client by default, the openai SDK on
request. Streamed pieces are collected in lists and joined once, so a long tool-call argument
costs linear time.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from v4code.backends.dialects import Dialect, get_dialect
from v4code.backends.leaks import LeakFilter
from v4code.backends.transports import (
    CertificateFailure,
    ConnectionFailure,
    HTTPStatusFailure,
    ProtocolFailure,
    SdkTransport,
    StdlibTransport,
    Transport,
    _check_deadline,
    is_loopback,
    remaining,
    retry_after_seconds,
)
from v4code.cancel import CancelToken
from v4code.errors import BackendError, Cancelled, DeadlineExceeded, ExitCode
from v4code.events import (
    ReasoningDelta,
    Retrying,
    StreamEvent,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    UsageChunk,
)
from v4code.types import ChatRequest, Message, ToolCall, Usage

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
RETRY_FINISH = frozenset({"insufficient_system_resource"})
OVERLOADED = frozenset({429, 503})  # rate limit (concurrency) and overload: a fallback may help
_OVERFLOW = re.compile(
    r"maximum context length is (\d+) tokens.*?requested (\d+) tokens", re.DOTALL
)


# A refused connection on this machine means no engine is running: one quick retry (it may
# be starting up), then say so, instead of backing off for half a minute.
REFUSED_RETRIES = 1
REFUSED_DELAY = 0.25
# A malformed stream is retried once (a proxy or a restart can garble one response); a
# server that keeps sending garbage will not be fixed by waiting.
MALFORMED_RETRIES = 1


class _Retry(Exception):
    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        kind: str = "transient",
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.kind = kind  # "transient", "refused" (loopback) or "malformed"
        self.status = status  # the HTTP status that asked for the retry, if any


def wire_message(message: Message, dialect: Dialect) -> dict[str, Any]:
    """One message in the wire shape. Deterministic, so the request prefix stays byte-stable.

    Every assistant message carries its reasoning (or "") in the dialect's field: DeepSeek
    rejects a thinking-mode request with tools when any is missing, ignores it otherwise, and
    SGLang silently stops thinking when history lacks it (DeepSeek's thinking-mode guide; SGLang's V4 cookbook).
    """
    if message.role == "assistant":
        data: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
        data[dialect.reasoning_field] = message.reasoning_content or ""
        if message.tool_calls:
            data["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in message.tool_calls
            ]
        return data
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content or "",
        }
    return {"role": message.role, "content": message.content or ""}


@dataclass
class _CallParts:
    """One streamed tool call: its pieces, joined once at the end (`+=` would be quadratic)."""

    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Stream:
    """The state of one streamed response."""

    content: LeakFilter = field(default_factory=lambda: LeakFilter(strip_think_close=True))
    reasoning: LeakFilter = field(default_factory=LeakFilter)
    calls: dict[int, _CallParts] = field(default_factory=dict)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None


class OpenAICompatBackend:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        dialect: str = "deepseek",
        timeout: float = 600.0,
        max_retries: int = 5,
        retry_base_delay: float = 1.0,
        retry_max_delay: float = 60.0,
        transport: str = "stdlib",
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.dialect = get_dialect(dialect)
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.transport_kind = transport
        self._transport: Transport | None = None
        self._transport_lock = threading.Lock()
        self._wire_cache: dict[int, tuple[Message, dict[str, Any]]] = {}

    # --- public -----------------------------------------------------------------------

    def stream(
        self,
        request: ChatRequest,
        cancel: CancelToken,
        deadline: float | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream one response, retrying what is worth retrying.

        `deadline` (a time.monotonic() value) bounds every read, retry wait and reconnect:
        when it passes the stream ends with DeadlineExceeded, after everything received so far
        has been yielded.
        """
        attempts = {"transient": 0, "refused": 0, "malformed": 0}
        limits = {
            "transient": self.max_retries,
            "refused": min(REFUSED_RETRIES, self.max_retries),
            "malformed": min(MALFORMED_RETRIES, self.max_retries),
        }
        while True:
            try:
                yield from self._attempt(request, cancel, deadline)
                return
            except _Retry as retry:
                attempts[retry.kind] += 1
                attempt = sum(attempts.values())
                if attempts[retry.kind] > limits[retry.kind] or attempt > self.max_retries:
                    raise self._gave_up(retry, attempt - 1) from None
                delay = self._delay(attempt, retry.retry_after)
                if retry.kind == "refused":
                    delay = min(delay, REFUSED_DELAY)
                left = remaining(deadline)
                if left is not None and left <= delay:
                    cancel.wait(max(left, 0.0))
                    cancel.raise_if_cancelled()
                    raise DeadlineExceeded() from None
                yield Retrying(attempt, delay, retry.reason)
                if cancel.wait(delay):
                    raise Cancelled() from None

    def _gave_up(self, retry: _Retry, retries: int) -> BackendError:
        if retry.kind == "refused":
            return BackendError(
                f"{retry.reason}: nothing listens at that address (connection refused). "
                "Is the engine running? Start it, or point base_url at the right port.",
                retryable=True,
            )
        if retry.kind == "malformed":
            return BackendError(
                f"{retry.reason}. The endpoint at {self.base_url} does not speak the "
                "OpenAI-compatible streaming format correctly; check base_url and the engine.",
            )
        return BackendError(
            f"{retry.reason}; gave up after {retries} retries. "
            "Try again later, or check the endpoint's status.",
            retryable=True,
            status=retry.status,
            cause="overloaded" if retry.status in OVERLOADED else "",
        )

    def list_models(self, timeout: float = 5.0) -> list[str] | None:
        """The model IDs the server lists at /models, or None when it offers no such list
        (many local engines) or cannot be asked right now: then any name is taken on trust."""
        from v4code.backends.model_list import fetch_models

        models, _ = fetch_models(self.base_url, self.api_key, timeout)
        return None if models is None else [str(m["id"]) for m in models]

    def warm_up(self) -> None:
        """Build the transport ahead of the first request (the chat does it while idle)."""
        self.transport()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # --- one attempt ------------------------------------------------------------------

    def _attempt(
        self, request: ChatRequest, cancel: CancelToken, deadline: float | None
    ) -> Iterator[StreamEvent]:
        cancel.raise_if_cancelled()
        _check_deadline(deadline)
        state = _Stream()
        try:
            with self.transport().stream(
                self.body(request), deadline=deadline, cancel=cancel
            ) as chunks:
                for chunk in chunks:
                    if cancel.cancelled:
                        raise Cancelled()
                    if deadline is not None and time.monotonic() >= deadline:
                        raise DeadlineExceeded()
                    events = self._chunk(chunk, state)
                    if events:
                        yield from events
        except HTTPStatusFailure as exc:
            said = self._scrub(exc.message)  # a server may echo the key back in its error
            if exc.status in RETRY_STATUSES:
                raise _Retry(
                    f"HTTP {exc.status} from the server ({said})",
                    retry_after_seconds(exc.retry_after),
                    status=exc.status,
                ) from None
            error = BackendError(
                _advice(exc.status, said, request, self.base_url),
                status=exc.status,
                cause="model_not_served" if _model_missing(exc.status, said) else "",
            )
            if exc.status == 401:  # a wrong key is configuration: exit 2, as the README says
                error.exit_code = ExitCode.USAGE
            raise error from None
        except ProtocolFailure as exc:
            raise _Retry(self._scrub(str(exc)), kind="malformed") from None
        except CertificateFailure as exc:
            raise BackendError(
                f"The TLS certificate of {self.base_url} did not verify ({exc}). If the server "
                "uses a private CA, point SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR at it."
            ) from None
        except ConnectionFailure as exc:
            _check_deadline(deadline)
            if exc.refused and is_loopback(urlsplit(self.base_url).hostname):
                raise _Retry(f"cannot reach {self.base_url}", kind="refused") from None
            raise _Retry(self._connection_reason(str(exc))) from None
        if state.finish_reason is None:
            raise _Retry("the stream ended before the answer was complete")
        if state.finish_reason in RETRY_FINISH:
            raise _Retry(f"the server ran out of resources ({state.finish_reason})")
        yield from self._finish(state)

    def _chunk(self, chunk: dict[str, Any], state: _Stream) -> list[StreamEvent]:
        """The events one chunk makes (a list: most argument chunks make none)."""
        events: list[StreamEvent] = []
        model = chunk.get("model")
        if model:
            state.model = model
        usage = chunk.get("usage")
        if usage:
            state.usage = wire_usage(usage)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning:
                    shown = state.reasoning.feed(reasoning)
                    if shown:
                        events.append(ReasoningDelta(shown))
                content = delta.get("content")
                if content:
                    shown = state.content.feed(content)
                    if shown:
                        events.append(TextDelta(shown))
                parts = delta.get("tool_calls")
                if parts:
                    self._call_parts(parts, state.calls)
            finish = choice.get("finish_reason")
            if finish:
                state.finish_reason = finish
        return events

    @staticmethod
    def _call_parts(parts: list[dict[str, Any]], calls: dict[int, _CallParts]) -> None:
        for part in parts:
            index = part.get("index", 0)
            slot = calls.get(index)
            if slot is None:
                slot = calls[index] = _CallParts()
            if part.get("id"):
                slot.id = part["id"]
            fn = part.get("function")
            if fn:
                name = fn.get("name")
                if name:
                    slot.name.append(name)
                arguments = fn.get("arguments")
                if arguments:
                    slot.arguments.append(arguments)

    def _finish(self, state: _Stream) -> Iterator[StreamEvent]:
        tail = state.reasoning.flush()
        if tail:
            yield ReasoningDelta(tail)
        tail = state.content.flush()
        if tail:
            yield TextDelta(tail)
        for index in sorted(state.calls):
            slot = state.calls[index]
            call_id = slot.id or f"call_{index}_{int(time.time() * 1000)}"
            name, arguments = "".join(slot.name), "".join(slot.arguments)
            yield ToolCallReady(ToolCall(call_id, name, arguments))
        leaked = state.reasoning.calls + state.content.calls
        for call in leaked:
            yield ToolCallReady(call, leaked=True)
        if state.usage is not None:
            yield UsageChunk(state.usage)
        finish = state.finish_reason or "stop"
        if leaked and finish == "stop":
            finish = "tool_calls"
        yield StreamFinish(finish, state.model)

    # --- request ----------------------------------------------------------------------

    def transport(self) -> Transport:
        with self._transport_lock:  # the chat builds it in the background while the person types
            if self._transport is None:
                kind = SdkTransport if self.transport_kind == "sdk" else StdlibTransport
                self._transport = kind(self.base_url, self.api_key, self.timeout)
            return self._transport

    def _scrub(self, text: str) -> str:
        """A server's words without the key (or any other secret v4code knows)."""
        from v4code.safety.redact import redactor

        return redactor(self.api_key)(text)

    def body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body of one request, exactly as it goes on the wire."""
        top, extra = self.dialect.switches(request.thinking, request.effort)
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [self._wire(m) for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            **top,
        }
        if request.tools:
            body["tools"] = list(request.tools)
        if request.max_tokens:
            body["max_tokens"] = request.max_tokens
        body.update(extra)
        return body

    def _wire(self, message: Message) -> dict[str, Any]:
        """Wire form, computed once per message object (history is append-only)."""
        key = id(message)
        cached = self._wire_cache.get(key)
        if cached is not None and cached[0] is message:
            return cached[1]
        data = wire_message(message, self.dialect)
        self._wire_cache[key] = (message, data)
        return data

    # --- errors -----------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_max_delay)
        backoff = self.retry_base_delay * 2.0 ** (attempt - 1)
        return min(backoff, self.retry_max_delay) * random.uniform(0.5, 1.0)

    def _connection_reason(self, detail: str) -> str:
        if detail.startswith(("the stream", "the server")):
            return detail
        if "timed out" in detail.lower():
            return f"the request to {self.base_url} timed out"
        return f"cannot reach {self.base_url}: {detail}"


def wire_usage(raw: dict[str, Any]) -> Usage:
    """A response's `usage` object as the server sent it (DeepSeek's cache fields, or the
    OpenAI-style `prompt_tokens_details.cached_tokens`)."""

    def number(obj: object, name: str) -> int:
        return int((obj or {}).get(name) or 0) if isinstance(obj, dict) or obj is None else 0

    prompt = number(raw, "prompt_tokens")
    hits = number(raw, "prompt_cache_hit_tokens")
    misses = number(raw, "prompt_cache_miss_tokens")
    if hits == 0 and misses == 0:
        hits = number(raw.get("prompt_tokens_details"), "cached_tokens")
        misses = max(prompt - hits, 0) if hits else 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=number(raw, "completion_tokens"),
        cache_hit_tokens=hits,
        cache_miss_tokens=misses,
        reasoning_tokens=number(raw.get("completion_tokens_details"), "reasoning_tokens"),
    )


def _model_missing(status: int, message: str) -> bool:
    """The server does not serve the model asked for (DeepSeek: 400 "Model Not Exist", as
    for a retired ID; other engines: 404 "model ... not found")."""
    said = message.lower()
    return status in (400, 404) and "model" in said and ("exist" in said or "not found" in said)


def _advice(status: int, message: str, request: ChatRequest, base_url: str) -> str:
    if status == 401:
        return (
            f"The API key was rejected (401: {message}). Set DEEPSEEK_API_KEY or api_key in the "
            "config file; `v4code config show` tells which one is in use."
        )
    if status == 402:
        return f"Insufficient balance (402: {message}). Top up at https://platform.deepseek.com/top_up."
    overflow = _OVERFLOW.search(message)
    if status == 400 and overflow:
        limit, asked = overflow.groups()
        return (
            f"The conversation is too long for the model: {int(asked):,} tokens requested, "
            f"{int(limit):,} allowed. Compact it (/compact) or start a new session."
        )
    if _model_missing(status, message):
        return (
            f"The model {request.model!r} is not served at {base_url} ({message}). Set `model` "
            "(--model, V4CODE_MODEL or the config file), e.g. deepseek-v4-pro or deepseek-flash."
        )
    if status == 422:
        return f"The server rejected a parameter (422: {message}). Check effort, model and max_tokens settings."
    if status == 404:
        return f"{base_url} has no chat completions endpoint (404: {message}). Check base_url."
    return f"The server refused the request ({status}: {message})."
