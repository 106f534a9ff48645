"""The stdlib transport against local servers: keep-alive, proxies, TLS and timeouts."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_api import FakeDeepSeek, step, text

from v4code.backends.openai_compat import OpenAICompatBackend
from v4code.backends.transports import find_proxy
from v4code.cancel import CancelToken
from v4code.errors import BackendError
from v4code.events import Retrying, TextDelta
from v4code.types import ChatRequest, Message

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def backend(base_url: str, **kw: object) -> OpenAICompatBackend:
    options: dict[str, object] = {"retry_base_delay": 0.01, "retry_max_delay": 0.05, **kw}
    return OpenAICompatBackend(base_url=base_url, api_key="test", transport="stdlib", **options)  # type: ignore[arg-type]


def ask(b: OpenAICompatBackend, words: str = "hi") -> tuple[str, list]:
    req = ChatRequest(
        model="deepseek-v4-pro", messages=(Message("system", "sys"), Message("user", words))
    )
    events = list(b.stream(req, CancelToken()))
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events


def test_one_connection_serves_every_request(fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("one"), {"status": 400, "message": "bad"}, text("two"), text("three")])
    b = backend(fake_api.base_url)
    try:
        assert ask(b)[0] == "one"
        with pytest.raises(BackendError):
            ask(b)
        assert ask(b)[0] == "two"
        assert ask(b)[0] == "three"
    finally:
        b.close()
    assert len({r.connection for r in fake_api.chat_requests}) == 1


def test_a_connection_the_server_closed_is_replaced_quietly(fake_api: FakeDeepSeek) -> None:
    fake_api.load([step(content="one", drop_connection=True), text("two")])
    b = backend(fake_api.base_url)
    try:
        ask(b)
        answer, events = ask(b)
    finally:
        b.close()
    assert answer == "two"
    assert not [e for e in events if isinstance(e, Retrying)]
    first, second = fake_api.chat_requests
    assert first.connection != second.connection


def test_read_timeout_is_retried_then_explained(fake_api: FakeDeepSeek) -> None:
    fake_api.load([step(hang=30, content="late"), step(hang=30, content="late")])
    b = backend(fake_api.base_url, timeout=0.5, max_retries=1)
    with pytest.raises(BackendError, match="timed out"):
        ask(b)
    assert len(fake_api.chat_requests) == 2


# --- proxies ---------------------------------------------------------------------------


class Proxy:
    """A forwarding proxy on 127.0.0.1 that sends every host to one upstream port."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                client.close()
                return
            head += data
        first = head.split(b"\r\n", 1)[0].decode()
        self.requests.append(first)
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        if first.startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            leftover = head.split(b"\r\n\r\n", 1)[1]
            if leftover:
                upstream.sendall(leftover)
        else:
            upstream.sendall(head)
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join(timeout=5)
        upstream.close()
        client.close()

    def close(self) -> None:
        self._listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def proxy(fake_api: FakeDeepSeek) -> Iterator[Proxy]:
    p = Proxy(fake_api.port)
    yield p
    p.close()


def test_http_proxy_forwards_plain_http(
    fake_api: FakeDeepSeek, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host name exists only for the proxy: the answer proves the request went through it."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    fake_api.load([text("via proxy")])
    b = backend(f"http://engine.invalid:{fake_api.port}")
    try:
        assert ask(b)[0] == "via proxy"
    finally:
        b.close()
    assert proxy.requests == [
        f"POST http://engine.invalid:{fake_api.port}/chat/completions HTTP/1.1"
    ]


def test_no_proxy_and_loopback_bypass_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert find_proxy(urlsplit("https://api.example.com")) is not None
    assert find_proxy(urlsplit("https://127.0.0.1:8000")) is None
    assert find_proxy(urlsplit("https://localhost:8000")) is None
    monkeypatch.setenv("NO_PROXY", "internal.example,.corp.example")
    assert find_proxy(urlsplit("https://internal.example")) is None
    assert find_proxy(urlsplit("https://llm.corp.example:8443")) is None
    assert find_proxy(urlsplit("https://api.example.com")) is not None


def test_proxy_credentials_become_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:p%40ss@proxy.example:3128")
    found = find_proxy(urlsplit("https://api.example.com"))
    assert found is not None and (found.host, found.port) == ("proxy.example", 3128)
    assert found.auth == "Basic dXNlcjpwQHNz"


# --- TLS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    made = subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=engine.invalid", "-keyout", str(key), "-out", str(cert),
            "-addext", "subjectAltName=DNS:engine.invalid,DNS:localhost,IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {made.stderr.strip()[:200]}")
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[FakeDeepSeek]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FakeDeepSeek(ssl_context=context) as server:
        yield server
        assert not server.problems()


def test_https_with_a_ca_bundle_from_ssl_cert_file(
    tls_server: FakeDeepSeek, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    tls_server.load([text("secure"), text("again")])
    b = backend(tls_server.base_url)
    try:
        assert ask(b)[0] == "secure"
        assert ask(b)[0] == "again"
    finally:
        b.close()
    assert len({r.connection for r in tls_server.chat_requests}) == 1


def test_an_unknown_certificate_is_refused_with_advice(
    tls_server: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    b = backend(tls_server.base_url, max_retries=3)
    with pytest.raises(BackendError, match="SSL_CERT_FILE"):
        ask(b)
    assert tls_server.chat_requests == []


def test_https_proxy_tunnels_with_connect(
    tls_server: FakeDeepSeek, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Proxy(tls_server.port)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        tls_server.load([text("tunnelled"), text("kept")])
        b = backend(f"https://engine.invalid:{tls_server.port}")
        try:
            assert ask(b)[0] == "tunnelled"
            assert ask(b)[0] == "kept"
        finally:
            b.close()
    finally:
        proxy.close()
    assert [r.rsplit(" ", 1)[0] for r in proxy.requests] == [
        f"CONNECT engine.invalid:{tls_server.port}"
    ]


def test_the_models_list_never_follows_a_redirect_with_the_key(
    redirecting_models: tuple[str, list[str | None]],
) -> None:
    """A server answering /models with a redirect must not get the key sent to another host."""
    base_url, seen = redirecting_models
    backend = OpenAICompatBackend(base_url=base_url, api_key="sk-test-0123456789")
    assert backend.list_models(timeout=5) is None
    assert seen == []
