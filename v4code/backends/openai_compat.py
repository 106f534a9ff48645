"""The streaming client for DeepSeek's API and OpenAI-compatible engines, over the openai SDK.

It turns one ChatRequest into StreamEvents, retries what is worth retrying (with the reason
shown to the person), and turns everything else into a BackendError that says what to do.
The SDK is imported on first use: it costs most of a second, and many commands never need it.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from v4code.backends.dialects import Dialect, get_dialect
from v4code.backends.leaks import LeakFilter
from v4code.cancel import CancelToken
from v4code.errors import BackendError, Cancelled
from v4code.events import (
    ReasoningDelta,
    Retrying,
    StreamEvent,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    UsageReport,
)
from v4code.types import ChatRequest, Message, ToolCall, Usage

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
RETRY_FINISH = frozenset({"insufficient_system_resource"})
_OVERFLOW = re.compile(
    r"maximum context length is (\d+) tokens.*?requested (\d+) tokens", re.DOTALL
)


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def wire_message(message: Message, dialect: Dialect) -> dict[str, Any]:
    """One message in the wire shape. Deterministic, so the request prefix stays byte-stable.

    Every assistant message carries its reasoning (or "") in the dialect's field: DeepSeek
    rejects a thinking-mode request with tools when any is missing, ignores it otherwise, and
    SGLang silently stops thinking when history lacks it (DEEPSEEK_API.md §1.5, §2.2).
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
class _Stream:
    """The state of one streamed response."""

    content: LeakFilter = field(default_factory=lambda: LeakFilter(strip_think_close=True))
    reasoning: LeakFilter = field(default_factory=LeakFilter)
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    yielded: bool = False


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
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.dialect = get_dialect(dialect)
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._client: Any = None
        self._wire_cache: dict[int, tuple[Message, dict[str, Any]]] = {}

    # --- public -----------------------------------------------------------------------

    def stream(self, request: ChatRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        attempt = 0
        while True:
            try:
                yield from self._attempt(request, cancel)
                return
            except _Retry as retry:
                attempt += 1
                if attempt > self.max_retries:
                    raise BackendError(
                        f"{retry.reason}; gave up after {self.max_retries} retries. "
                        "Try again later, or check the endpoint's status.",
                        retryable=True,
                    ) from None
                delay = self._delay(attempt, retry.retry_after)
                yield Retrying(attempt, delay, retry.reason)
                if cancel.wait(delay):
                    raise Cancelled() from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- one attempt ------------------------------------------------------------------

    def _attempt(self, request: ChatRequest, cancel: CancelToken) -> Iterator[StreamEvent]:
        import openai

        cancel.raise_if_cancelled()
        try:
            response = self._post(request)
        except openai.APIStatusError as exc:
            raise self._status_error(exc, request) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise _Retry(self._connection_reason(exc)) from None
        state = _Stream()
        with response:
            try:
                for chunk in response:
                    if cancel.cancelled:
                        raise Cancelled()
                    yield from self._chunk(chunk, state)
            except openai.APIStatusError as exc:
                raise self._status_error(exc, request) from None
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                raise _Retry(f"the stream broke off ({self._connection_reason(exc)})") from None
            except openai.APIError as exc:  # an error event inside the stream
                raise _Retry(f"the server reported an error mid-stream: {exc.message}") from None
        if state.finish_reason is None:
            raise _Retry("the stream ended before the answer was complete")
        if state.finish_reason in RETRY_FINISH:
            raise _Retry(f"the server ran out of resources ({state.finish_reason})")
        yield from self._finish(state)

    def _chunk(self, chunk: Any, state: _Stream) -> Iterator[StreamEvent]:
        state.model = getattr(chunk, "model", None) or state.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            state.usage = _usage(usage)
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None:
                reasoning = getattr(delta, "reasoning_content", None) or getattr(
                    delta, "reasoning", None
                )
                if reasoning:
                    shown = state.reasoning.feed(reasoning)
                    if shown:
                        yield ReasoningDelta(shown)
                if delta.content:
                    shown = state.content.feed(delta.content)
                    if shown:
                        yield TextDelta(shown)
                for part in delta.tool_calls or ():
                    slot = state.calls.setdefault(
                        part.index, {"id": "", "name": "", "arguments": ""}
                    )
                    if part.id:
                        slot["id"] = part.id
                    fn = part.function
                    if fn is not None:
                        if fn.name:
                            slot["name"] += fn.name
                        if fn.arguments:
                            slot["arguments"] += fn.arguments
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason

    def _finish(self, state: _Stream) -> Iterator[StreamEvent]:
        tail = state.reasoning.flush()
        if tail:
            yield ReasoningDelta(tail)
        tail = state.content.flush()
        if tail:
            yield TextDelta(tail)
        for index in sorted(state.calls):
            slot = state.calls[index]
            call_id = slot["id"] or f"call_{index}_{int(time.time() * 1000)}"
            yield ToolCallReady(ToolCall(call_id, slot["name"], slot["arguments"]))
        leaked = state.reasoning.calls + state.content.calls
        for call in leaked:
            yield ToolCallReady(call, leaked=True)
        if state.usage is not None:
            yield UsageReport(state.usage)
        finish = state.finish_reason or "stop"
        if leaked and finish == "stop":
            finish = "tool_calls"
        yield StreamFinish(finish, state.model)

    # --- request ----------------------------------------------------------------------

    def client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=0,
                timeout=openai.Timeout(self.timeout, connect=min(30.0, self.timeout)),
            )
        return self._client

    def _post(self, request: ChatRequest) -> Any:
        """POST the body as built here, through the SDK's documented `client.post`.

        `chat.completions.create()` runs every message through the SDK's typed-params
        transform, which costs O(history) Python work per request (about 75 ms a step at 200
        messages, measured). The body built here is already in wire form, so it goes out as is;
        the SDK still does transport, auth, SSE parsing and error mapping.
        """
        import openai
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        return self.client().post(
            "/chat/completions",
            body=self.body(request),
            cast_to=ChatCompletion,
            options={"security": {"bearer_auth": True}},  # type: ignore[typeddict-unknown-key]
            stream=True,
            stream_cls=openai.Stream[ChatCompletionChunk],
        )

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
        body.update(request.extra)
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
        backoff = self.retry_base_delay * (2 ** (attempt - 1))
        return min(backoff, self.retry_max_delay) * random.uniform(0.5, 1.0)

    def _connection_reason(self, exc: Exception) -> str:
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause else ""
        if "timed out" in str(exc).lower() or type(exc).__name__ == "APITimeoutError":
            return f"the request to {self.base_url} timed out"
        return f"cannot reach {self.base_url}{detail}"

    def _status_error(self, exc: Any, request: ChatRequest) -> Exception:
        status = exc.status_code
        message = _server_message(exc)
        if status in RETRY_STATUSES:
            return _Retry(f"HTTP {status} from the server ({message})", _retry_after(exc))
        return BackendError(_advice(status, message, request, self.base_url), status=status)


def _usage(raw: Any) -> Usage:
    def get(obj: Any, name: str) -> int:
        value = getattr(obj, name, None) if obj is not None else None
        if value is None and obj is not None and getattr(obj, "model_extra", None):
            value = obj.model_extra.get(name)
        return int(value or 0)

    prompt = get(raw, "prompt_tokens")
    hits = get(raw, "prompt_cache_hit_tokens")
    misses = get(raw, "prompt_cache_miss_tokens")
    if hits == 0 and misses == 0:
        hits = get(getattr(raw, "prompt_tokens_details", None), "cached_tokens")
        misses = max(prompt - hits, 0) if hits else 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=get(raw, "completion_tokens"),
        cache_hit_tokens=hits,
        cache_miss_tokens=misses,
        reasoning_tokens=get(getattr(raw, "completion_tokens_details", None), "reasoning_tokens"),
    )


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    text = str(getattr(exc, "message", exc))
    return re.sub(r"^Error code: \d+ - ", "", text)


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


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
    if status in (400, 404) and (
        "model" in message.lower()
        and ("exist" in message.lower() or "not found" in message.lower())
    ):
        return (
            f"The model {request.model!r} is not served at {base_url} ({message}). Set `model` "
            "(--model, V4CODE_MODEL or the config file), e.g. deepseek-v4-pro or deepseek-flash."
        )
    if status == 422:
        return f"The server rejected a parameter (422: {message}). Check effort, model and max_tokens settings."
    if status == 404:
        return f"{base_url} has no chat completions endpoint (404: {message}). Check base_url."
    return f"The server refused the request ({status}: {message})."
