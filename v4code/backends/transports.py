"""How a request body reaches the server and its SSE chunks come back, as plain dicts.

`StdlibTransport` (the default) speaks OpenAI-compatible SSE with `http.client`: it starts in
tens of milliseconds, while `import openai` alone costs well over a second and loads a module
graph whose teardown adds most of a second at exit. `SdkTransport` goes through the openai SDK
(`transport = "sdk"`). Both raise the same few errors, so retry and advice logic lives once,
in openai_compat.py.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import SplitResult, unquote, urlsplit

from v4code.errors import Cancelled, DeadlineExceeded

if TYPE_CHECKING:
    import http.client
    import ssl
    import urllib.request

    import openai

    from v4code.cancel import CancelToken

CONNECT_TIMEOUT = 30.0
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class HTTPStatusFailure(Exception):
    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


class ConnectionFailure(Exception):
    """The connection failed, timed out or broke off mid-stream; worth retrying.

    `refused` marks a connection refused outright: nothing listens at that address.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class ProtocolFailure(ConnectionFailure):
    """The server sent bytes that are not the SSE/JSON it promised (worth one retry at most)."""


class CertificateFailure(ConnectionFailure):
    """The server's TLS certificate did not verify; retrying will not change that."""


class Transport(Protocol):
    def stream(
        self,
        body: dict[str, Any],
        *,
        deadline: float | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """A context manager yielding an iterator of chunk dicts."""
        ...

    def close(self) -> None: ...


def error_message(body: object, fallback: str) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return fallback


def no_redirect_opener() -> urllib.request.OpenerDirector:
    """A urllib opener for a request that carries a credential (an API key, a forge's token):
    a redirect is not followed but fails as an HTTPError, so the credential reaches the
    configured server and nowhere else. urllib is imported here: the SSE path never needs it."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header's wait in seconds (a number, or the rarer HTTP date); None when
    absent or unreadable."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        import email.utils  # only for the rare HTTP-date form

        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(parsed.timestamp() - time.time(), 0.0)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and localhost: a refused connection there means no engine is running."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host == "::1":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() for p in parts)


def remaining(deadline: float | None) -> float | None:
    """Seconds left before `deadline` (a time.monotonic() value), or None without one."""
    return None if deadline is None else deadline - time.monotonic()


# --- the openai SDK ----------------------------------------------------------------------


class SdkTransport:
    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        import openai

        self.timeout = timeout
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, max_retries=0,
            timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
        )  # fmt: skip

    @contextmanager
    def stream(
        self,
        body: dict[str, Any],
        *,
        deadline: float | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[Iterator[dict[str, Any]]]:
        import openai

        options: dict[str, Any] = {"security": {"bearer_auth": True}}
        left = remaining(deadline)
        if left is not None:
            # httpx applies the read timeout to every read, so a silent server or a stalled
            # stream cannot outlive the deadline; chunks that keep coming are checked upstream.
            left = max(left, 0.001)
            options["timeout"] = openai.Timeout(
                min(self.timeout, left), connect=min(CONNECT_TIMEOUT, self.timeout, left)
            )
        try:
            # `client.post` is the SDK's documented way to send a body as is: create() runs
            # every message through a typed transform costing O(history) per request (about
            # 75 ms a step at 200 messages, measured). Stream[object] yields plain dicts.
            response = self._client.post(
                "/chat/completions",
                body=body,
                cast_to=object,
                options=cast(Any, options),
                stream=True,
                stream_cls=openai.Stream[object],
            )
        except openai.APIStatusError as exc:
            raise self._status(exc) from None
        except openai.APIConnectionError as exc:  # includes timeouts
            _check_deadline(deadline)
            raise ConnectionFailure(_reason(exc), refused=_refused(exc)) from None
        with response:
            yield self._iterate(response, deadline)

    def _iterate(
        self, response: openai.Stream[object], deadline: float | None
    ) -> Iterator[dict[str, Any]]:
        import openai

        chunks = cast("Iterable[dict[str, Any]]", response)  # Stream[object]: plain dicts
        try:
            yield from chunks
        except openai.APIStatusError as exc:
            raise self._status(exc) from None
        except openai.APIConnectionError as exc:
            _check_deadline(deadline)
            raise ConnectionFailure(f"the stream broke off ({_reason(exc)})") from None
        except openai.APIError as exc:  # an error event inside the stream
            raise ConnectionFailure(
                f"the server reported an error mid-stream: {exc.message}"
            ) from None
        except ValueError as exc:  # undecodable bytes or bad JSON in an event
            raise ProtocolFailure(f"the server sent a malformed event ({exc})") from None
        except Exception as exc:
            # The SDK does not wrap errors of its HTTP library raised while iterating.
            if not _is_http_error(exc):
                raise
            _check_deadline(deadline)
            raise ConnectionFailure(f"the stream broke off ({_reason(exc)})") from None

    @staticmethod
    def _status(exc: openai.APIStatusError) -> HTTPStatusFailure:
        message = error_message(exc.body, str(exc.message))
        retry_after = exc.response.headers.get("retry-after")
        return HTTPStatusFailure(exc.status_code, message, retry_after)

    def close(self) -> None:
        self._client.close()


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(cause or exc)
    if "timed out" in text.lower() or "timeout" in type(cause or exc).__name__.lower():
        return "timed out"
    return text or type(exc).__name__


def _is_http_error(exc: BaseException) -> bool:
    module = type(exc).__module__.split(".")[0]
    return isinstance(exc, OSError) or module.startswith(("httpx", "httpcore", "h11", "h2"))


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_deadline(deadline: float | None) -> None:
    left = remaining(deadline)
    if left is not None and left <= 0:
        raise DeadlineExceeded()


# --- http.client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    auth: str | None  # a ready Proxy-Authorization value


def find_proxy(target: SplitResult) -> Proxy | None:
    """The proxy the environment names for this URL (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).

    Loopback addresses never go through a proxy: a proxy cannot reach this machine's engine.
    """
    if not any(k.lower() in ("http_proxy", "https_proxy", "all_proxy") for k in os.environ):
        return None  # skip importing urllib.request (20 ms) in the common case
    if is_loopback(target.hostname):
        return None
    import urllib.request

    proxies = urllib.request.getproxies()
    url = proxies.get(target.scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(target.netloc or ""):
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConnectionFailure(
            f"the proxy {parts.scheme}://{parts.hostname or ''} is not supported: "
            "use an http:// proxy URL (HTTPS to the server is tunnelled through it)"
        )
    auth = None
    if parts.username is not None:
        import base64

        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, parts.port or 8080, auth)


class _Watch:
    """Ends a blocked read at once when the cancel token is set or the deadline passes.

    A thread waits on both and shuts the socket down, which wakes the reader with EOF or an
    error; the reader then asks `check()` which of the two it was.
    """

    def __init__(self, cancel: CancelToken | None, deadline: float | None) -> None:
        self._cancel = cancel
        self._deadline = deadline
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._done = False
        self.fired: str | None = None
        self._thread: threading.Thread | None = None
        if cancel is not None or deadline is not None:
            self._thread = threading.Thread(target=self._run, name="v4code-watch", daemon=True)
            self._thread.start()

    def attach(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._conn = conn
            fired = self.fired
        if fired:
            self._shutdown(conn)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._done:
                    return
            step = 0.05
            left = remaining(self._deadline)
            if left is not None:
                if left <= 0:
                    self._fire("deadline")
                    return
                step = min(step, left)
            if self._cancel is not None:
                if self._cancel.wait(step):
                    self._fire("cancel")
                    return
            else:
                time.sleep(step)

    def _fire(self, why: str) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = why
            conn = self._conn
        if conn is not None:
            self._shutdown(conn)

    @staticmethod
    def _shutdown(conn: http.client.HTTPConnection) -> None:
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def check(self) -> None:
        """Raise Cancelled or DeadlineExceeded if that is why the read ended."""
        if self.fired is None:
            if self._cancel is not None and self._cancel.cancelled:
                self.fired = "cancel"
            else:
                left = remaining(self._deadline)
                if left is not None and left <= 0:
                    self.fired = "deadline"
        if self.fired == "cancel":
            raise Cancelled()
        if self.fired == "deadline":
            raise DeadlineExceeded()

    def stop(self) -> bool:
        """Stop watching; False if the watch already fired (the connection is unusable)."""
        with self._lock:
            self._done = True
            return self.fired is None


_STALE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


class StdlibTransport:
    """http.client with keep-alive, TLS from the system CA store, proxies and timeouts.

    One idle connection per transport is kept for the next request (the agent's requests
    follow each other); a server that closed it meanwhile costs one transparent reconnect.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectionFailure(f"base_url {base_url!r} is not an http(s) URL")
        self.parts = parts
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = f"{parts.path}/chat/completions"
        self.api_key = api_key
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.proxy = find_proxy(parts)
        if self.proxy is not None and parts.scheme == "http":
            self.path = f"http://{parts.netloc}{self.path}"  # absolute form for a forward proxy
        self._tls: ssl.SSLContext | None = None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        # A caller that never calls close() must not leak the kept-alive socket. A finalizer
        # rather than __del__: it runs before the garbage sockets' own finalizers would warn.
        weakref.finalize(self, _close_all, self._idle)

    # --- connections ---------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        import ssl

        with self._lock:
            if self._tls is None:
                # The system CA store; OpenSSL honours SSL_CERT_FILE and SSL_CERT_DIR here.
                self._tls = ssl.create_default_context()
            return self._tls

    def _new_connection(self, deadline: float | None) -> http.client.HTTPConnection:
        import http.client

        timeout = self.connect_timeout
        left = remaining(deadline)
        if left is not None:
            timeout = max(min(timeout, left), 0.001)
        proxy = self.proxy
        if self.parts.scheme == "https":
            host, port = (proxy.host, proxy.port) if proxy else (self.host, self.port)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._tls_context()
            )
            if proxy is not None:
                headers = {"Proxy-Authorization": proxy.auth} if proxy.auth else None
                conn.set_tunnel(self.host, self.port, headers=headers)
        elif proxy is not None:
            conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return conn

    def _checkout(self, deadline: float | None) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new_connection(deadline), False

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._idle:
                self._idle.append(conn)
                return
        conn.close()

    def _send(self, conn: http.client.HTTPConnection, payload: bytes) -> http.client.HTTPResponse:
        if conn.sock is None:
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(self.timeout)  # from here on: the per-read timeout
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }
        if self.proxy is not None and self.proxy.auth and self.parts.scheme == "http":
            headers["Proxy-Authorization"] = self.proxy.auth
        conn.request("POST", self.path, body=payload, headers=headers)
        return conn.getresponse()

    def _open(
        self, payload: bytes, watch: _Watch, deadline: float | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        import http.client

        conn, reused = self._checkout(deadline)
        while True:
            watch.attach(conn)
            try:
                return conn, self._send(conn, payload)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                watch.check()
                if reused and isinstance(exc, (*_STALE, http.client.BadStatusLine)):
                    # The server closed the idle connection: one fresh one, transparently.
                    conn, reused = self._new_connection(deadline), False
                    continue
                _check_deadline(deadline)
                if isinstance(exc, TimeoutError):
                    raise ConnectionFailure("timed out") from None
                if type(exc).__name__ == "SSLCertVerificationError":
                    raise CertificateFailure(str(exc)) from None
                raise ConnectionFailure(
                    str(exc) or type(exc).__name__, refused=isinstance(exc, ConnectionRefusedError)
                ) from None

    # --- one request ---------------------------------------------------------------------

    @contextmanager
    def stream(
        self,
        body: dict[str, Any],
        *,
        deadline: float | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[Iterable[dict[str, Any]]]:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        watch = _Watch(cancel, deadline)
        conn: http.client.HTTPConnection | None = None
        reusable = False
        try:
            conn, response = self._open(payload, watch, deadline)
            if response.status != 200:
                raw = self._read_error(response, watch)
                reusable = not response.will_close
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = None
                message = error_message(parsed, raw.strip()[:500] or response.reason)
                raise HTTPStatusFailure(response.status, message, response.getheader("retry-after"))
            events = _SSE(response, watch)
            yield events
            if events.complete:
                response.read()  # the chunked terminator, so the connection can serve again
                reusable = not response.will_close
        finally:
            intact = watch.stop()
            if conn is not None:
                if reusable and intact:
                    self._checkin(conn)
                else:
                    conn.close()

    @staticmethod
    def _read_error(response: http.client.HTTPResponse, watch: _Watch) -> str:
        import http.client

        try:
            return response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            watch.check()
            raise ConnectionFailure(f"the error answer broke off ({exc})") from None

    def close(self) -> None:
        with self._lock:
            idle = self._idle[:]
            self._idle.clear()
        _close_all(idle)


def _close_all(connections: list[http.client.HTTPConnection]) -> None:
    for conn in connections:
        conn.close()


_DECODE = json.JSONDecoder().raw_decode


class _SSE:
    """The data events of one response, as dicts; `complete` once [DONE] is seen.

    Reads whatever the socket has (read1) and splits lines itself: one call per network read
    rather than per line, and a very long line is joined once, not grown piece by piece.
    """

    def __init__(self, response: http.client.HTTPResponse, watch: _Watch) -> None:
        self._response = response
        self._watch = watch
        self.complete = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import http.client

        read = self._response.read1
        event = self._event
        pending: list[bytes] = []
        try:
            while True:
                block = read(65536)
                if not block:
                    self._watch.check()  # a shut-down socket reads as EOF
                    return
                lines = block.split(b"\n")
                if len(lines) == 1:
                    pending.append(block)
                    continue
                if pending:
                    pending.append(lines[0])
                    lines[0] = b"".join(pending)
                    pending = []
                tail = lines.pop()
                if tail:
                    pending.append(tail)
                for line in lines:
                    if line[:5] != b"data:":
                        continue  # blank separators, `: keep-alive` comments, event names
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        self.complete = True
                        return
                    yield event(data)
        except (OSError, http.client.HTTPException) as exc:
            self._watch.check()
            if isinstance(exc, TimeoutError):
                raise ConnectionFailure("the stream broke off (timed out)") from None
            raise ConnectionFailure(f"the stream broke off ({exc or type(exc).__name__})") from None
        except ValueError as exc:  # bad UTF-8 or bad JSON
            raise ProtocolFailure(f"the server sent a malformed event ({exc})") from None

    @staticmethod
    def _event(data: bytes) -> dict[str, Any]:
        text = data.decode("utf-8")
        chunk, end = _DECODE(text)
        if end != len(text):
            raise ValueError(f"extra data after the JSON object: {text[end : end + 40]!r}")
        if not isinstance(chunk, dict):
            raise ProtocolFailure(f"the server sent a non-object event: {text[:80]!r}")
        if "error" in chunk and "choices" not in chunk:
            raise ConnectionFailure(
                f"the server reported an error mid-stream: {error_message(chunk, 'error')}"
            )
        return chunk
