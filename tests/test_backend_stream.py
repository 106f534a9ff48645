"""The streaming backend against the fake DeepSeek server, through the real openai SDK."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fake_api import FakeDeepSeek, cut, dsml_leak, fault, text, tool_calls, v31_leak

from v4code.backends.openai_compat import OpenAICompatBackend
from v4code.cancel import CancelToken
from v4code.errors import BackendError, Cancelled
from v4code.events import (
    ReasoningDelta,
    Retrying,
    StreamFinish,
    TextDelta,
    ToolCallReady,
    UsageChunk,
)
from v4code.types import ChatRequest, Message, ToolCall

TOOLS = (
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "r",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "grep",
            "description": "g",
            "parameters": {"type": "object", "properties": {}},
        },
    },
)


TRANSPORT = {"kind": "sdk"}


@pytest.fixture(autouse=True, params=["sdk", "stdlib"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every test runs over the openai SDK and over the stdlib transport the hook uses."""
    TRANSPORT["kind"] = request.param
    return request.param


def backend(server: FakeDeepSeek, dialect: str = "deepseek", **kw) -> OpenAICompatBackend:
    options = {
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "transport": TRANSPORT["kind"],
        **kw,
    }
    return OpenAICompatBackend(base_url=server.base_url, api_key="test", dialect=dialect, **options)


def request(messages: tuple[Message, ...] | None = None, **kw) -> ChatRequest:
    msgs = messages or (Message("system", "sys"), Message("user", "hi"))
    return ChatRequest(model="deepseek-v4-pro", messages=msgs, tools=TOOLS, **kw)


def collect(b: OpenAICompatBackend, req: ChatRequest, cancel: CancelToken | None = None) -> list:
    try:
        return list(b.stream(req, cancel or CancelToken()))
    finally:
        b.close()


def texts(events: list, kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def test_reasoning_text_and_usage(fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("The answer is 4.", reasoning="2 plus 2 is 4.")])
    events = collect(backend(fake_api), request(effort="max"))
    assert texts(events, ReasoningDelta) == "2 plus 2 is 4."
    assert texts(events, TextDelta) == "The answer is 4."
    usage = next(e.usage for e in events if isinstance(e, UsageChunk))
    assert usage.prompt_tokens > 0 and usage.reasoning_tokens > 0
    assert usage.cache_hit_tokens + usage.cache_miss_tokens == usage.prompt_tokens
    assert events[-1] == StreamFinish("stop", "deepseek-v4-pro")
    body = fake_api.chat_requests[0].body
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "max"
    assert body["stream_options"] == {"include_usage": True} and "tool_choice" not in body


def test_thinking_off_sends_no_effort(fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("ok")])
    collect(backend(fake_api), request(thinking=False, effort=None))
    body = fake_api.chat_requests[0].body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body


def test_parallel_tool_calls_in_order(fake_api: FakeDeepSeek) -> None:
    fake_api.load(
        [tool_calls([("read_file", {"path": "a"}), ("grep", {"pattern": "b"})], reasoning="two")]
    )
    events = collect(backend(fake_api), request())
    calls = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("read_file", {"path": "a"}),
        ("grep", {"pattern": "b"}),
    ]
    assert all(c.id.startswith("call_") for c in calls)
    assert events[-1].finish_reason == "tool_calls"


@pytest.mark.parametrize("shape", ["last_chunk", "separate"])
def test_both_usage_shapes_and_keepalive(fake_api: FakeDeepSeek, shape: str) -> None:
    fake_api.load([{**text("hello"), "usage_shape": shape, "keepalive": True}])
    events = collect(backend(fake_api), request())
    assert texts(events, TextDelta) == "hello"
    assert sum(isinstance(e, UsageChunk) for e in events) == 1


def test_reasoning_replayed_on_every_assistant_message(fake_api: FakeDeepSeek) -> None:
    history = (
        Message("system", "sys"),
        Message("user", "hi"),
        Message(
            "assistant", "", reasoning_content="looked", tool_calls=(ToolCall("c1", "grep", "{}"),)
        ),
        Message("tool", "result", tool_call_id="c1"),
        Message("assistant", "an answer written without reasoning"),
        Message("user", "more"),
    )
    fake_api.load([text("fine")])
    collect(backend(fake_api), request(history))
    sent = [m for m in fake_api.chat_requests[0].body["messages"] if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in sent] == ["looked", ""]


def test_every_dialect_the_settings_accept_has_its_switches() -> None:
    from v4code.backends.dialects import DIALECTS as IMPLEMENTED
    from v4code.choices import DIALECTS as OFFERED

    assert sorted(OFFERED) == sorted(IMPLEMENTED)


def test_vllm_dialect_switches_and_reasoning_field(fake_api: FakeDeepSeek) -> None:
    fake_api.configure(dialect="vllm")
    history = (
        Message("system", "s"),
        Message("user", "u"),
        Message("assistant", "a", reasoning_content="r"),
        Message("user", "v"),
    )
    fake_api.load([text("ok", reasoning="thought")])
    events = collect(backend(fake_api, "vllm"), request(history, effort="high"))
    assert texts(events, ReasoningDelta) == "thought"
    body = fake_api.chat_requests[0].body
    assert body["chat_template_kwargs"] == {"thinking": True, "reasoning_effort": "high"}
    assert body["messages"][2]["reasoning"] == "r" and "thinking" not in body


@pytest.mark.parametrize("where", ["content", "reasoning"])
def test_leaked_dsml_becomes_a_tool_call(fake_api: FakeDeepSeek, where: str) -> None:
    fake_api.load(
        [
            {
                **dsml_leak(
                    [("read_file", {"path": "x.py"})], where=where, reasoning="I will read."
                ),
                "chunk_size": 3,
            }
        ]
    )
    events = collect(backend(fake_api), request())
    calls = [e for e in events if isinstance(e, ToolCallReady)]
    assert (
        len(calls) == 1
        and calls[0].leaked
        and json.loads(calls[0].call.arguments) == {"path": "x.py"}
    )
    assert "DSML" not in texts(events, TextDelta) + texts(events, ReasoningDelta)
    assert events[-1].finish_reason == "tool_calls"


def test_leaked_v31_call(fake_api: FakeDeepSeek) -> None:
    fake_api.load([{**v31_leak("grep", {"pattern": "x"}), "chunk_size": 4}])
    events = collect(backend(fake_api), request())
    assert [e.call.name for e in events if isinstance(e, ToolCallReady)] == ["grep"]


def test_retries_429_500_503_cut_and_resource_exhaustion(fake_api: FakeDeepSeek) -> None:
    fake_api.load(
        [
            fault(429, retry_after=0),
            fault(500),
            fault(503),
            cut(2, **text("partial then cut")),
            {**text("no resources"), "finish_reason": "insufficient_system_resource"},
            text("finally"),
        ]
    )
    events = collect(backend(fake_api), request())
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [r.attempt for r in retries] == [1, 2, 3, 4, 5]
    assert (
        "429" in retries[0].reason
        and "broke off" in retries[3].reason
        or "ended" in retries[3].reason
    )
    # After the last Retrying event, the stream holds only the final answer.
    last = max(i for i, e in enumerate(events) if isinstance(e, Retrying))
    assert texts(events[last:], TextDelta) == "finally"


def test_retry_after_is_honoured(fake_api: FakeDeepSeek) -> None:
    fake_api.load([fault(429, retry_after=1), text("ok")])
    started = time.monotonic()
    events = collect(backend(fake_api, retry_max_delay=5), request())
    assert time.monotonic() - started >= 0.9
    assert next(e for e in events if isinstance(e, Retrying)).delay == 1.0


def test_retries_run_out(fake_api: FakeDeepSeek) -> None:
    fake_api.load([fault(503), fault(503), fault(503)])
    with pytest.raises(BackendError, match="gave up after 2 retries"):
        collect(backend(fake_api, max_retries=2), request())


@pytest.mark.parametrize(
    ("status", "message", "advice"),
    [
        (401, "Authentication Fails", "DEEPSEEK_API_KEY"),
        (402, "Insufficient Balance", "Top up"),
        (
            400,
            "This model's maximum context length is 1048576 tokens. However, you requested 1100000 tokens (1000000 in the messages, 100000 in the completion).",
            "1,100,000 tokens requested, 1,048,576 allowed",
        ),
        (422, "unknown variant `extreme`", "rejected a parameter"),
        (400, "Something else is wrong", "Something else is wrong"),
    ],
)
def test_errors_not_retried_and_explained(
    fake_api: FakeDeepSeek, status: int, message: str, advice: str
) -> None:
    fake_api.load([fault(status, message=message)])
    with pytest.raises(BackendError) as info:
        collect(backend(fake_api), request())
    assert advice in info.value.message and info.value.status == status
    assert len(fake_api.chat_requests) == 1


def test_connection_refused_is_explained() -> None:
    b = OpenAICompatBackend(
        base_url="http://127.0.0.1:9",
        api_key="k",
        max_retries=1,
        retry_base_delay=0.01,
        transport=TRANSPORT["kind"],
    )
    with pytest.raises(BackendError, match="cannot reach http://127.0.0.1:9"):
        collect(b, request())


def test_cancel_mid_stream(fake_api: FakeDeepSeek) -> None:
    """Cancelled from another thread once the first chunk is in: no timing is assumed."""
    fake_api.load([{**text("x" * 400), "chunk_size": 4, "delay": 0.05}])
    cancel = CancelToken()
    b = backend(fake_api)
    seen: list = []
    first_chunk = threading.Event()

    def stop_after_first_chunk() -> None:
        first_chunk.wait(60)
        cancel.cancel()

    threading.Thread(target=stop_after_first_chunk, daemon=True).start()
    with pytest.raises(Cancelled):
        for event in b.stream(request(), cancel):
            seen.append(event)
            first_chunk.set()
    b.close()
    assert 0 < len(texts(seen, TextDelta)) < 400
