"""How a request body reaches the server and its SSE chunks come back, as plain dicts.

`SdkTransport` goes through the openai SDK (the default). `StdlibTransport` speaks the same
OpenAI-compatible SSE with `http.client`: `import openai` alone costs 0.6-0.9 s here, which a
pre-commit hook pays on every commit, so the review hook uses it. Both raise the same two
errors, so retry and advice logic lives once, in openai_compat.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit


class HTTPStatusFailure(Exception):
    def __init__(self, status: int, message: str, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


class ConnectionFailure(Exception):
    """The connection failed, timed out or broke off mid-stream; worth retrying."""


class Transport(Protocol):
    def stream(self, body: dict[str, Any]) -> Any:
        """A context manager yielding an iterator of chunk dicts."""
        ...

    def close(self) -> None: ...


def error_message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return fallback


class SdkTransport:
    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        import openai

        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, max_retries=0,
            timeout=openai.Timeout(timeout, connect=min(30.0, timeout)),
        )  # fmt: skip

    @contextmanager
    def stream(self, body: dict[str, Any]) -> Iterator[Iterator[dict[str, Any]]]:
        import openai

        try:
            # `client.post` is the SDK's documented way to send a body as is: create() runs
            # every message through a typed transform costing O(history) per request (about
            # 75 ms a step at 200 messages, measured). Stream[object] yields plain dicts.
            response = self._client.post(
                "/chat/completions",
                body=body,
                cast_to=object,
                options={"security": {"bearer_auth": True}},  # type: ignore[typeddict-unknown-key]
                stream=True,
                stream_cls=openai.Stream[object],
            )
        except openai.APIStatusError as exc:
            raise self._status(exc) from None
        except openai.APIConnectionError as exc:  # includes timeouts
            raise ConnectionFailure(_reason(exc)) from None
        with response:
            yield self._iterate(response)

    def _iterate(self, response: Any) -> Iterator[dict[str, Any]]:
        import openai

        try:
            yield from response
        except openai.APIStatusError as exc:
            raise self._status(exc) from None
        except openai.APIConnectionError as exc:
            raise ConnectionFailure(f"the stream broke off ({_reason(exc)})") from None
        except openai.APIError as exc:  # an error event inside the stream
            raise ConnectionFailure(
                f"the server reported an error mid-stream: {exc.message}"
            ) from None

    @staticmethod
    def _status(exc: Any) -> HTTPStatusFailure:
        message = error_message(getattr(exc, "body", None), str(getattr(exc, "message", exc)))
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        return HTTPStatusFailure(exc.status_code, message, retry_after)

    def close(self) -> None:
        self._client.close()


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(cause or exc)
    if "timed out" in text.lower() or "timeout" in type(cause or exc).__name__.lower():
        return "timed out"
    return text or type(exc).__name__


class StdlibTransport:
    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectionFailure(f"base_url {base_url!r} is not an http(s) URL")
        self.parts = parts
        self.path = f"{parts.path}/chat/completions"
        self.api_key = api_key
        self.timeout = timeout

    def _connection(self) -> Any:
        import http.client

        port = self.parts.port
        if self.parts.scheme == "https":
            import ssl

            return http.client.HTTPSConnection(
                self.parts.hostname,
                port,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        return http.client.HTTPConnection(self.parts.hostname, port, timeout=self.timeout)

    @contextmanager
    def stream(self, body: dict[str, Any]) -> Iterator[Iterator[dict[str, Any]]]:
        conn = self._connection()
        try:
            try:
                conn.request(
                    "POST", self.path, body=json.dumps(body).encode("utf-8"),
                    headers={
                        "Authorization": f"Bearer {self.api_key}",
                        "Content-Type": "application/json",
                        "Accept": "text/event-stream",
                    },
                )  # fmt: skip
                response = conn.getresponse()
            except OSError as exc:
                raise ConnectionFailure(str(exc) or type(exc).__name__) from None
            if response.status != 200:
                raw = response.read().decode("utf-8", "replace")
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = None
                message = error_message(parsed, raw.strip()[:500] or response.reason)
                raise HTTPStatusFailure(response.status, message, response.getheader("retry-after"))
            yield _sse(response)
        finally:
            conn.close()

    def close(self) -> None:
        pass


def _sse(response: Any) -> Iterator[dict[str, Any]]:
    import http.client

    try:
        while True:
            line = response.readline()
            if not line:
                return
            if not line.startswith(b"data:"):
                continue  # blank separators, `: keep-alive` comments, event names
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            chunk = json.loads(data)
            if isinstance(chunk, dict) and "error" in chunk and "choices" not in chunk:
                raise ConnectionFailure(
                    f"the server reported an error mid-stream: {error_message(chunk, 'error')}"
                )
            yield chunk
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionFailure(f"the stream broke off ({exc or type(exc).__name__})") from None
    except ValueError as exc:
        raise ConnectionFailure(f"the server sent a malformed event ({exc})") from None
