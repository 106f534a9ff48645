"""A scripted, DeepSeek-compatible chat-completions server on 127.0.0.1 (stdlib only).

Another request shape can answer from the same script: an ``OtherApi`` given to the server
(``apis=``) names its path, its request rules, and how an answer is written in its shape
(bench/responses_api.py adds the Responses API this way, for the benchmarks' peers)."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from fake_api.rules import (
    DEFAULT_MODELS,
    DIALECTS,
    Rejection,
    check_chat_request,
    thinking_enabled,
)
from fake_api.script import validate_steps
from fake_api.wire import (
    Answer,
    PrefixCache,
    canonical,
    completion_body,
    make_usage,
    replay_message,
    serialise_prompt,
    sse_payloads,
)

__all__ = ["FakeDeepSeek", "OtherApi", "RecordedRequest"]

_PREFIXES = ("/v1", "/beta")
_DEFAULT = object()
_CONFIG_KEYS = (
    "dialect",
    "served_model",
    "accepted_models",
    "cache_unit",
    "reject_keys",
    "require_auth",
    "chunk_size",
    "usage_shape",
    "reasoning_field",
    "owned_by",
)


@dataclass
class RecordedRequest:
    """One request the server received. Also readable as a dict: ``req["body"]``."""

    index: int
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # the parsed JSON body, or None
    status: int = 0  # the HTTP status answered
    step_index: int | None = None  # which script step answered it (0-based), if any
    rejection: str | None = None  # why the request was refused, if it was
    cut: bool = False  # the answer was deliberately cut short
    disconnected: bool = False  # the client went away before the answer was complete
    usage: dict[str, Any] | None = field(default=None, repr=False)
    connection: int = 0  # which TCP connection carried it (1, 2, ...): keep-alive is visible
    arrived: float = 0.0  # time.time() when the request was complete, for latency figures
    answered: float = 0.0  # time.time() when the answer was sent (or given up)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    @property
    def json(self) -> Any:
        return self.body

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("tools") or [])

    @property
    def is_chat(self) -> bool:
        return self.method == "POST" and _route(self.path, {}) == "chat"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "step_index": self.step_index,
            "rejection": self.rejection,
            "cut": self.cut,
            "disconnected": self.disconnected,
            "usage": self.usage,
            "connection": self.connection,
            "arrived": self.arrived,
            "answered": self.answered,
        }


class OtherApi(Protocol):
    """A request shape besides chat completions whose POSTs the same script answers."""

    path: str  # "/responses": answered under /v1 and /beta too

    def check(self, body: Any, accepted_models: frozenset[str] | None) -> Rejection | None:
        """The first rule the request breaks, or None."""

    def prompt(self, body: Mapping[str, Any]) -> bytes:
        """The request as the prefix cache sees it."""

    def usage(self, prompt_tokens: int, hits: int, answer: Answer) -> dict[str, Any]: ...

    def response(self, answer: Answer, **shape: Any) -> dict[str, Any]:
        """The answer not streamed; `shape` is ident, created, model and usage."""

    def frames(self, answer: Answer, chunk_size: int, **shape: Any) -> list[bytes]:
        """The answer streamed: its SSE frames, in order."""


_ROUTES = {"/chat/completions": "chat", "/models": "models", "/user/balance": "balance"}


def _route(path: str, apis: Mapping[str, OtherApi]) -> str | None:
    path = urlsplit(path).path.rstrip("/")
    for prefix in _PREFIXES:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
            break
    return _ROUTES.get(path) or (path if path in apis else None)


@dataclass
class _Reply:
    """What a handler thread must send, decided under the server lock."""

    record: RecordedRequest
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    step: dict[str, Any] | None = None
    answer: Answer | None = None
    stream: bool = False
    include_usage: bool = False
    wake: threading.Event | None = None
    generation: int = 0
    api: OtherApi | None = None  # the shape of the answer, when not chat completions


class FakeDeepSeek:
    """Scripted DeepSeek API. Each step of the script answers one POST /chat/completions.

    Config (constructor keywords, changeable with ``configure()``, restored by ``reset()``):
    ``dialect`` ("deepseek", "vllm", "sglang", "llamacpp", "ollama"), ``served_model`` (the
    ``model`` field of answers; default: echo the request), ``accepted_models`` (None = any;
    default: DeepSeek's IDs for the deepseek dialect, any model for the others), ``cache_unit``
    (tokens; hits round down to a multiple), ``reject_keys`` (API keys answered with 401),
    ``require_auth``, ``chunk_size``, ``usage_shape`` and ``reasoning_field`` (defaults for steps;
    None = the dialect's own: DeepSeek sends usage on the last chunk and ``reasoning_content``,
    vLLM/Ollama send a separate usage chunk and ``reasoning``).
    """

    def __init__(
        self,
        steps: Iterable[Mapping[str, Any]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dialect: str = "deepseek",
        served_model: str | None = None,
        accepted_models: Iterable[str] | None | object = _DEFAULT,
        cache_unit: int = 1,
        reject_keys: Iterable[str] = (),
        require_auth: bool = True,
        chunk_size: int = 12,
        usage_shape: str | None = None,
        reasoning_field: str | None = None,
        owned_by: str = "deepseek",
        ssl_context: ssl.SSLContext | None = None,
        apis: Iterable[OtherApi] = (),
    ) -> None:
        self.host = host
        self.apis = {api.path: api for api in apis}
        self.ssl_context = ssl_context  # serve HTTPS with this (server-side) context
        self._port = port
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._steps: list[dict[str, Any]] = []
        self._consumed = 0
        self._keyed: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.allow_leftover = False
        self._cache = PrefixCache()
        self._call_counter = 0
        self._connection_counter = 0
        self._generation = 0
        self._wake = threading.Event()
        self._initial = dict(
            dialect=dialect,
            served_model=served_model,
            accepted_models=accepted_models,
            cache_unit=cache_unit,
            reject_keys=reject_keys,
            require_auth=require_auth,
            chunk_size=chunk_size,
            usage_shape=usage_shape,
            reasoning_field=reasoning_field,
            owned_by=owned_by,
        )
        self.configure(**self._initial)
        self.load(steps)

    # ------------------------------------------------------------------ configuration

    def configure(self, **config: Any) -> FakeDeepSeek:
        """Change server settings (see the class docstring) until the next ``reset()``."""
        unknown = set(config) - set(_CONFIG_KEYS)
        if unknown:
            raise TypeError(f"unknown FakeDeepSeek settings {sorted(unknown)}")
        with self._lock:
            for key, value in config.items():
                if key == "dialect" and value not in DIALECTS:
                    raise ValueError(f"dialect must be one of {DIALECTS}")
                if key == "reject_keys":
                    value = frozenset(value)
                if key == "accepted_models" and value is not None and value is not _DEFAULT:
                    value = frozenset(value)
                setattr(self, key, value)
        return self

    def _models(self) -> frozenset[str] | None:
        if self.accepted_models is _DEFAULT:
            return DEFAULT_MODELS if self.dialect == "deepseek" else None
        return self.accepted_models  # type: ignore[return-value]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeDeepSeek:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.fake = self
        if self.ssl_context is not None:
            # The handshake happens on the handler's first read, not in the accepting thread.
            httpd.socket = self.ssl_context.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"fake-deepseek-{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._wake.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeDeepSeek:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeDeepSeek is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; ``/chat/completions`` and ``/v1/chat/completions`` both work."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # ------------------------------------------------------------------ script

    def load(self, steps: Iterable[Mapping[str, Any]]) -> FakeDeepSeek:
        """Replace the script (steps not yet consumed)."""
        checked = validate_steps(steps)
        with self._lock:
            self._steps = checked
            self._consumed = 0
        return self

    def extend(self, steps: Iterable[Mapping[str, Any]]) -> FakeDeepSeek:
        checked = validate_steps(steps)
        with self._lock:
            self._steps.extend(checked)
        return self

    def route(self, key: str, steps: Iterable[Mapping[str, Any]]) -> FakeDeepSeek:
        """Answer requests whose first user message contains ``key`` (the earliest named, when
        several are) from their own script.

        For clients running in parallel (one batch unit each): each client's requests take
        steps from its own script, in order, whatever the interleaving. Requests matching no
        key use the main script.
        """
        checked = validate_steps(steps)
        with self._lock:
            self._keyed.setdefault(key, []).extend(checked)
        return self

    def _keyed_queue(self, rec: RecordedRequest) -> tuple[str, list[dict[str, Any]]] | None:
        first = next((m for m in rec.messages if m.get("role") == "user"), None)
        content = first.get("content") if first else None
        if not isinstance(content, str):
            return None
        # The key named earliest wins: the task comes first, a repo map after it names others.
        found = [(content.find(key), key) for key in self._keyed if key in content]
        if not found:
            return None
        key = min(found)[1]
        return key, self._keyed[key]

    @property
    def remaining(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._steps[self._consumed :])

    def reset(self) -> FakeDeepSeek:
        """Forget script, requests, violations, cache and config changes; wake hung answers."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()
            self._generation += 1
            self._steps, self._consumed = [], 0
            self._keyed = {}
            self.requests.clear()
            self.violations.clear()
            self.allow_leftover = False
            self._cache.clear()
            self._call_counter = 0
            self.configure(**self._initial)
        return self

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the POSTs to chat/completions (``requests`` also has GET /models and the like)."""
        with self._lock:
            return [r for r in self.requests if r.is_chat]

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            chats = [r for r in self.requests if r.is_chat]
        if not chats:
            raise AssertionError("fake_api: no chat request was received")
        return chats[-1]

    def problems(self) -> list[str]:
        """Violations plus leftover steps (unless ``allow_leftover``): what fails a test."""
        with self._lock:
            out = list(self.violations)
            left = len(self._steps) - self._consumed
            keyed_left = {k: len(q) for k, q in self._keyed.items() if q}
        if left and not self.allow_leftover:
            out.append(f"fake_api: {left} scripted step(s) never requested: {self.remaining!r}")
        if keyed_left and not self.allow_leftover:
            out.append(f"fake_api: keyed script steps never requested: {keyed_left!r}")
        return out

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` chat requests have arrived (for subprocess/thread tests)."""
        deadline = time.monotonic() + timeout
        while True:
            chats = self.chat_requests
            if len(chats) >= count:
                return chats
            if time.monotonic() >= deadline:
                raise AssertionError(f"fake_api: {len(chats)} of {count} chat requests arrived")
            time.sleep(0.01)

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot: requests, violations, remaining steps."""
        with self._lock:
            return {
                "requests": [r.to_dict() for r in self.requests],
                "violations": list(self.violations),
                "remaining": len(self._steps) - self._consumed,
                "consumed": self._consumed,
            }

    # ------------------------------------------------------------------ request handling

    def _record(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> RecordedRequest:
        rec = RecordedRequest(len(self.requests), method, path, headers, body)
        rec.arrived = time.time()
        self.requests.append(rec)
        return rec

    def _violate(self, rec: RecordedRequest, text: str) -> None:
        self.violations.append(f"request {rec.index} ({rec.method} {rec.path}): {text}")

    def _auth(self, headers: Mapping[str, str]) -> tuple[Rejection | None, bool]:
        """(rejection, counts_as_violation)."""
        value = headers.get("authorization", "")
        key = value[7:].strip() if value.lower().startswith("bearer ") else ""
        if key and key in self.reject_keys:
            return _auth_rejection(key), False
        if self.require_auth and not key:
            return _auth_rejection(key), True
        return None, False

    def _decide(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, connection: int = 0
    ) -> _Reply:
        with self._lock:
            body: Any = None
            bad_json = False
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    bad_json = True
            rec = self._record(method, path, headers, body)
            rec.connection = connection
            reply = self._decide_locked(rec, method, _route(path, self.apis), bad_json)
            reply.wake, reply.generation = self._wake, self._generation
            rec.status = reply.status
            return reply

    def _decide_locked(
        self, rec: RecordedRequest, method: str, route: str | None, bad_json: bool
    ) -> _Reply:
        api = self.apis.get(route or "")
        model_route = route == "chat" or api is not None
        if route is None or model_route != (method == "POST"):
            self._violate(rec, "unexpected endpoint")
            return _Reply(rec, 404, _error_body("Not Found", "not_found"))
        rejection, counts = self._auth(rec.headers)
        if not model_route:
            if rejection:
                if counts:
                    self._violate(rec, rejection.describe())
                return _Reply(rec, rejection.status, rejection.body())
            return _Reply(rec, 200, self._listing(route))
        if rejection is None and bad_json:
            rejection = Rejection(422, "Failed to deserialize the JSON body: invalid JSON")
            counts = True
        if rejection is None and api is not None:
            rejection = api.check(rec.body, self._models())
            counts = rejection is not None
        elif rejection is None:
            rejection = check_chat_request(
                rec.body, dialect=self.dialect, accepted_models=self._models()
            )
            counts = rejection is not None
        if rejection is not None:
            rec.rejection = rejection.describe()
            if counts:
                self._violate(rec, rejection.describe())
            if self._keyed_queue(rec) is not None:
                return _Reply(rec, rejection.status, rejection.body())
            nxt = self._steps[self._consumed] if self._consumed < len(self._steps) else None
            if nxt is None or "status" not in nxt:
                return _Reply(rec, rejection.status, rejection.body())
        keyed = self._keyed_queue(rec)
        if keyed is not None:
            key, queue = keyed
            if not queue:
                self._violate(rec, f"fake_api: script for {key!r} exhausted")
                return _Reply(rec, 500, _error_body("fake_api: script exhausted", "api_error"))
            st = queue.pop(0)
            self._check_expect(rec, st)
            return self._fault_reply(rec, st) if "status" in st else self._answer_reply(rec, st)
        if self._consumed >= len(self._steps):
            self._violate(rec, "fake_api: script exhausted")
            return _Reply(rec, 500, _error_body("fake_api: script exhausted", "api_error"))
        st = self._steps[self._consumed]
        rec.step_index = self._consumed
        self._consumed += 1
        self._check_expect(rec, st)
        if "status" in st:
            return self._fault_reply(rec, st)
        if api is not None:
            return self._other_reply(api, rec, st)
        return self._answer_reply(rec, st)

    def _listing(self, route: str) -> dict[str, Any]:
        if route == "balance":
            return {
                "is_available": True,
                "balance_infos": [
                    {
                        "currency": "USD",
                        "total_balance": "10.00",
                        "granted_balance": "0.00",
                        "topped_up_balance": "10.00",
                    }
                ],
            }
        models = sorted(self._models() or {self.served_model or "deepseek-v4-flash"})
        return {
            "object": "list",
            "data": [{"id": m, "object": "model", "owned_by": self.owned_by} for m in models],
        }

    def _check_expect(self, rec: RecordedRequest, st: Mapping[str, Any]) -> None:
        body = rec.body if isinstance(rec.body, dict) else {}
        for key, expected in (st.get("expect") or {}).items():
            actual = body.get(key)
            ok = expected(actual) if callable(expected) else actual == expected
            if not ok:
                self._violate(
                    rec, f"step {rec.step_index} expected {key}={expected!r}, got {actual!r}"
                )

    def _fault_reply(self, rec: RecordedRequest, st: Mapping[str, Any]) -> _Reply:
        status = st["status"]
        kind, default = _FAULTS.get(status, ("api_error", f"fake_api: scripted HTTP {status}"))
        headers = {}
        if st.get("retry_after") is not None:
            headers["Retry-After"] = _num(st["retry_after"])
        return _Reply(rec, status, _error_body(st.get("message") or default, kind), headers, st)

    def _answer_reply(self, rec: RecordedRequest, st: Mapping[str, Any]) -> _Reply:
        body: dict[str, Any] = rec.body
        if st.get("thinking_only") and not thinking_enabled(body, self.dialect):
            st = {k: v for k, v in st.items() if k not in ("reasoning", "reasoning_chunks")}
        answer = self._answer(st)
        blob = serialise_prompt(body)
        prompt_tokens = -(-len(blob) // 4)
        model = body.get("model")
        hits = self._cache.hit_tokens(blob, self.cache_unit, model)
        self._cache.add(blob, model)
        if "cut_after" not in st:
            # DeepSeek also persists "the end of the model output" as a cache unit, so the
            # next request hits through this answer if the client replays it unchanged.
            replayed = canonical(replay_message(answer, self._reasoning_field(st)))
            self._cache.add(blob + replayed, model)
        usage = make_usage(prompt_tokens, hits, answer, self.dialect, st.get("usage"))
        rec.usage = usage
        options = body.get("stream_options")
        include = isinstance(options, dict) and bool(options.get("include_usage"))
        include = include and not st.get("no_usage")
        rec.cut = "cut_after" in st
        return _Reply(
            rec,
            200,
            step=st,
            answer=answer,
            stream=bool(body.get("stream")),
            include_usage=include,
            body=usage,
        )

    def _answer(self, st: Mapping[str, Any]) -> Answer:
        """The step's answer, with call ids assigned (the same for either API)."""
        calls = []
        for index, call in enumerate(st.get("tool_calls") or []):
            args = call["arguments"]
            text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            calls.append(
                {
                    "id": call.get("id") or self._next_call_id(index),
                    "name": call["name"],
                    "arguments": text,
                }
            )
        return Answer(
            reasoning=st.get("reasoning") or "",
            content=st.get("content") or "",
            calls=tuple(calls),
            finish_reason=st.get("finish_reason") or ("tool_calls" if calls else "stop"),
        )

    def _other_reply(self, api: OtherApi, rec: RecordedRequest, st: Mapping[str, Any]) -> _Reply:
        """A scripted step answering a POST in another API's shape."""
        answer = self._answer(st)
        blob = api.prompt(rec.body)
        model = rec.body.get("model")
        hits = self._cache.hit_tokens(blob, self.cache_unit, model)
        self._cache.add(blob, model)
        usage = api.usage(-(-len(blob) // 4), hits, answer)
        rec.usage = usage
        stream = bool(rec.body.get("stream"))
        return _Reply(rec, 200, usage, step=st, answer=answer, stream=stream, api=api)

    def _next_call_id(self, index: int) -> str:
        self._call_counter += 1
        digest = hashlib.sha1(f"fake-call-{self._call_counter}".encode()).hexdigest()[:24]
        return f"call_{index:02d}_{digest}"

    def _completion_id(self, rec: RecordedRequest) -> str:
        return f"fake-{self._generation}-{rec.index:04d}"

    def _model(self, rec: RecordedRequest) -> str:
        return self.served_model or str((rec.body or {}).get("model"))

    def _reasoning_field(self, st: Mapping[str, Any]) -> str:
        default = "reasoning" if self.dialect in ("vllm", "ollama") else "reasoning_content"
        return st.get("reasoning_field") or self.reasoning_field or default

    def _usage_shape(self, st: Mapping[str, Any]) -> str:
        default = "last_chunk" if self.dialect == "deepseek" else "separate"
        return st.get("usage_shape") or self.usage_shape or default


_GARBAGE = {
    "bytes": b"data: \xff\xfe\x00\x9c\x81garbage\xc3\x28\n\n",
    "json": b'data: {"id": "x", "choices": [{"delta": {"content": "unterminated\n\n',
}

_FAULTS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "Authentication Fails, Your api key: **** is invalid"),
    402: ("unknown_error", "Insufficient Balance"),
    422: ("invalid_request_error", "Invalid Parameters"),
    429: ("rate_limit_error", "Rate Limit Reached"),
    500: ("api_error", "Server Error"),
    503: ("api_error", "Server Overloaded"),
}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code or kind}}


def _auth_rejection(key: str) -> Rejection:
    shown = "****" + key[-4:] if len(key) > 4 else "****"
    return Rejection(
        401,
        f"Authentication Fails, Your api key: {shown} is invalid",
        type="authentication_error",
        code="invalid_request_error",
    )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeDeepSeek

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal; anything else is a bug here, so it fails the test."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        detail = "".join(traceback.format_exception(exc)) if exc else "unknown error"
        with self.fake._lock:
            self.fake.violations.append(f"fake_api internal error: {detail}")


class _Aborted(Exception):
    """The answer stops here: reset/stop woke us, or the client went away."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE event is a small write on a kept-alive connection: without this, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every response, as no real API does.
    disable_nagle_algorithm = True
    server: _HTTPServer
    server_version = "fake-deepseek/1"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._conns.add(self.connection)
            self.server.fake._connection_counter += 1
            self.connection_number = self.server.fake._connection_counter

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_fake/state":
            self._send_json(200, self.server.fake.state())
            return
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length) if length else b"")

    def do_PUT(self) -> None:
        self.do_POST()

    do_DELETE = do_PATCH = do_PUT

    def _serve(self, raw: bytes) -> None:
        fake = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = fake._decide(self.command, self.path, headers, raw, self.connection_number)
        try:
            st = reply.step or {}
            if st.get("hang"):
                self._sleep(reply, float(st["hang"]))
            if reply.answer is None:
                self._send_json(reply.status, reply.body, reply.headers)
            elif reply.api is not None:
                self._send_other(reply, reply.api)
            elif reply.stream:
                self._send_stream(reply)
            else:
                self._send_completion(reply)
            if st.get("drop_connection"):
                # Close without saying so (no `Connection: close`), as a server whose idle
                # timeout passed does: the client finds out on its next request.
                self.close_connection = True
        except (_Aborted, OSError):
            reply.record.disconnected = not reply.record.cut
            self.close_connection = True
            self._drop()
        finally:
            reply.record.answered = time.time()

    def _sleep(self, reply: _Reply, seconds: float) -> None:
        if reply.wake is not None and reply.wake.wait(seconds):
            raise _Aborted

    def _drop(self) -> None:
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send_json(
        self, status: int, body: Any, headers: Mapping[str, str] | None = None, lead: bytes = b""
    ) -> None:
        data = lead + json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_completion(self, reply: _Reply) -> None:
        fake, st, rec = self.server.fake, reply.step or {}, reply.record
        assert reply.answer is not None
        body = completion_body(
            reply.answer,
            ident=fake._completion_id(rec),
            created=int(time.time()),
            model=fake._model(rec),
            usage=reply.body,
            reasoning_field=fake._reasoning_field(st),
        )
        lead = b"\n\n" if st.get("keepalive") else b""
        if "cut_after" not in st:
            self._send_json(200, body, lead=lead)
            return
        data = lead + json.dumps(body, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        raise _Aborted

    def _send_stream(self, reply: _Reply) -> None:
        fake, st, rec = self.server.fake, reply.step or {}, reply.record
        assert reply.answer is not None
        payloads = sse_payloads(
            reply.answer,
            st,
            ident=fake._completion_id(rec),
            created=int(time.time()),
            model=fake._model(rec),
            usage=reply.body if reply.include_usage else None,
            usage_shape=fake._usage_shape(st),
            chunk_size=int(st.get("chunk_size") or fake.chunk_size),
            reasoning_field=fake._reasoning_field(st),
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cut_after = st.get("cut_after")
        delay = float(st.get("delay") or 0)
        garbage_after = st.get("garbage_after")
        for i, payload in enumerate(payloads):
            if cut_after is not None and i >= cut_after:
                raise _Aborted
            if i == garbage_after:
                self._frame(_GARBAGE[st.get("garbage") or "bytes"])
            if i and delay:
                self._sleep(reply, delay)
            if st.get("keepalive"):
                self._frame(b": keep-alive\n\n")
                self._frame(b"\n")
            self._frame(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
        if cut_after is not None:
            raise _Aborted
        if st.get("keepalive"):
            self._frame(b": keep-alive\n\n")
        self._frame(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_other(self, reply: _Reply, api: OtherApi) -> None:
        """An answer in another API's shape: one object, or its SSE frames."""
        fake, st, rec = self.server.fake, reply.step or {}, reply.record
        assert reply.answer is not None
        shape = dict(
            ident=fake._completion_id(rec).replace("-", "_"),
            created=int(time.time()),
            model=fake._model(rec),
            usage=reply.body,
        )
        if not reply.stream:
            self._send_json(200, api.response(reply.answer, **shape))
            return
        chunk_size = int(st.get("chunk_size") or fake.chunk_size)
        frames = api.frames(reply.answer, chunk_size, **shape)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for frame in frames:
            self._frame(frame)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _frame(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
