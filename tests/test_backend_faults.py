"""Faults end cleanly on both transports: garbage, refusals, deadlines, cancel, large answers."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fake_api import FakeDeepSeek, garbage, step, text, tool_calls

from v4code.backends.openai_compat import OpenAICompatBackend
from v4code.cancel import CancelToken
from v4code.errors import BackendError, Cancelled, DeadlineExceeded, ExitCode
from v4code.events import Retrying, TextDelta, ToolCallReady
from v4code.types import ChatRequest, Message


@pytest.fixture(params=["sdk", "stdlib"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def backend(base_url: str, kind: str, **kw: object) -> OpenAICompatBackend:
    options: dict[str, object] = {"retry_base_delay": 0.01, "retry_max_delay": 0.05, **kw}
    return OpenAICompatBackend(base_url=base_url, api_key="test", transport=kind, **options)  # type: ignore[arg-type]


def request() -> ChatRequest:
    return ChatRequest(
        model="deepseek-v4-pro", messages=(Message("system", "sys"), Message("user", "hi"))
    )


def drain(b: OpenAICompatBackend, seen: list, **kw: object) -> None:
    cancel = kw.pop("cancel", None) or CancelToken()
    try:
        for event in b.stream(request(), cancel, **kw):  # type: ignore[arg-type]
            seen.append(event)
    finally:
        b.close()


@pytest.mark.parametrize("corrupt", ["bytes", "json"])
def test_garbage_once_is_retried(fake_api: FakeDeepSeek, kind: str, corrupt: str) -> None:
    fake_api.load([garbage(2, corrupt, content="x" * 100, chunk_size=10), text("fine")])
    seen: list = []
    drain(backend(fake_api.base_url, kind), seen)
    retries = [e for e in seen if isinstance(e, Retrying)]
    assert len(retries) == 1 and "malformed" in retries[0].reason
    assert "fine" in "".join(e.text for e in seen if isinstance(e, TextDelta))


@pytest.mark.parametrize("corrupt", ["bytes", "json"])
def test_garbage_twice_is_a_backend_error(fake_api: FakeDeepSeek, kind: str, corrupt: str) -> None:
    fake_api.load([garbage(1, corrupt, content="abc"), garbage(0, corrupt, content="abc")])
    with pytest.raises(BackendError) as info:
        drain(backend(fake_api.base_url, kind), [])
    assert "malformed" in info.value.message and info.value.exit_code == ExitCode.BACKEND
    assert len(fake_api.chat_requests) == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_refused_on_loopback_fails_fast_and_says_why(kind: str, host: str) -> None:
    seen: list = []
    b = backend(f"http://{host}:9", kind, max_retries=5, retry_base_delay=5.0)
    with pytest.raises(BackendError) as info:
        drain(b, seen)
    assert "nothing listens" in info.value.message
    assert "engine running" in info.value.message
    assert len([e for e in seen if isinstance(e, Retrying)]) <= 1


def test_deadline_ends_an_endless_stream(fake_api: FakeDeepSeek, kind: str) -> None:
    fake_api.load([{**text("y" * 20_000), "chunk_size": 5, "delay": 0.02}])
    seen: list = []
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        drain(backend(fake_api.base_url, kind), seen, deadline=started + 1.0)
    assert time.monotonic() - started < 5
    assert info.value.exit_code == ExitCode.LIMIT
    assert 0 < len("".join(e.text for e in seen if isinstance(e, TextDelta))) < 20_000


def test_deadline_ends_a_silent_server(fake_api: FakeDeepSeek, kind: str) -> None:
    fake_api.load([step(hang=60, content="late")])
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        drain(backend(fake_api.base_url, kind), [], deadline=started + 1.0)
    assert time.monotonic() - started < 5


def test_deadline_bounds_retry_waits(fake_api: FakeDeepSeek, kind: str) -> None:
    fake_api.load([{"status": 503, "retry_after": 30}])
    started = time.monotonic()
    b = backend(fake_api.base_url, kind, retry_max_delay=60.0)
    with pytest.raises(DeadlineExceeded):
        drain(b, [], deadline=started + 1.0)
    assert time.monotonic() - started < 5


def test_cancel_while_waiting_for_the_first_byte(fake_api: FakeDeepSeek) -> None:
    """Ctrl-C before the server answers: the blocked read is interrupted at once."""
    fake_api.load([step(hang=60, content="late")])
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        drain(backend(fake_api.base_url, "stdlib"), [], cancel=cancel)
    assert time.monotonic() - started < 5


def test_two_megabyte_argument_arrives_whole(fake_api: FakeDeepSeek, kind: str) -> None:
    payload = "".join(f"line {i:07d} äß {{}}\n" for i in range(100_000))
    arguments = json.dumps({"path": "big.txt", "content": payload})
    assert len(arguments) > 2_000_000
    fake_api.load([{**tool_calls([("write_file", arguments)]), "chunk_size": 997}])
    seen: list = []
    drain(backend(fake_api.base_url, kind), seen)
    calls = [e.call for e in seen if isinstance(e, ToolCallReady)]
    assert [c.name for c in calls] == ["write_file"]
    assert calls[0].arguments == arguments
