"""The GitHub client's rules: pages stay on the API's host, rate limits are waited out only
within a bound, a redirect never carries the token, every string sent is scrubbed."""

from __future__ import annotations

import email.message
import io
import urllib.error
from collections.abc import Iterator

import pytest
from fake_github import FakeGitHub, PullFile

from v4code.forge.github import MAX_WAIT, ForgeError, GitHub, next_link
from v4code.safety.redact import scrubbed


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub(page_size=2).start()
    server.files[1] = [PullFile(f"f{i}.py", "@@ -0,0 +1 @@\n+x") for i in range(5)]
    try:
        yield server
    finally:
        server.stop()


def client(server: FakeGitHub, waits: list[float]) -> GitHub:
    return GitHub(server.url, server.token, sleep=waits.append)


def test_pages_are_followed_and_a_short_rate_limit_is_waited_out(github: FakeGitHub) -> None:
    github.rate_limited.add("/repos/acme/app/pulls/1/files")
    waits: list[float] = []
    files = client(github, waits).pages("/repos/acme/app/pulls/1/files")
    assert [f["filename"] for f in files] == [f"f{i}.py" for i in range(5)]
    assert waits == [1.0]


def test_header_names_are_read_in_any_case(github: FakeGitHub) -> None:
    github.lower_headers = True  # `link`, `retry-after`: a proxy in front of the API
    github.rate_limited.add("/repos/acme/app/pulls/1/files")
    waits: list[float] = []
    files = client(github, waits).pages("/repos/acme/app/pulls/1/files")
    assert [f["filename"] for f in files] == [f"f{i}.py" for i in range(5)]
    assert waits == [1.0]


def test_a_next_page_on_another_host_is_refused() -> None:
    link = '<https://elsewhere.example/x?page=2>; rel="next", <https://a/x>; rel="last"'
    assert next_link(link) == "https://elsewhere.example/x?page=2"
    assert next_link('<https://a/x>; rel="last"') is None
    gh = GitHub("https://api.github.com")
    assert not gh._own("https://elsewhere.example/x") and gh._own("https://api.github.com/y")


def _http_error(code: int, headers: dict[str, str]) -> urllib.error.HTTPError:
    msg = email.message.Message()
    for name, value in headers.items():
        msg[name] = value
    return urllib.error.HTTPError("https://x", code, "Forbidden", msg, io.BytesIO(b"{}"))


def test_rate_limit_wait_is_bounded() -> None:
    gh = GitHub()
    assert gh._rate_wait(_http_error(403, {"Retry-After": "5"})) == 5.0
    assert gh._rate_wait(_http_error(429, {"Retry-After": str(int(MAX_WAIT) + 1)})) is None
    assert gh._rate_wait(_http_error(403, {})) is None  # a plain refusal is not waited on
    assert gh._rate_wait(_http_error(404, {"Retry-After": "1"})) is None


def test_bad_token_is_one_line(github: FakeGitHub) -> None:
    gh = GitHub(github.url, "wrong-token-0123456789")
    with pytest.raises(
        ForgeError, match="^GitHub refused GET /repos/acme/app/pulls/1: 401 Bad credentials$"
    ):
        gh.get("/repos/acme/app/pulls/1")


def test_every_string_sent_is_scrubbed() -> None:
    data = {"body": "k=SECRET", "comments": [{"body": "SECRET", "line": 3}]}
    out = scrubbed(data, lambda s: s.replace("SECRET", "[redacted]"))
    assert out == {"body": "k=[redacted]", "comments": [{"body": "[redacted]", "line": 3}]}


def test_a_redirect_is_not_followed_with_the_token() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/b")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gh = GitHub(f"http://127.0.0.1:{server.server_address[1]}", "tok-0123456789")
        with pytest.raises(ForgeError, match="302"):
            gh.get("/a")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["Bearer tok-0123456789"]  # one request: the redirect was not followed


def test_a_patch_line_numbers_agree_across_a_blank_context_line_without_its_space() -> None:
    """A blank context line whose leading space was trimmed still takes a line: the changed
    lines, the numbers shown to the model and the lines a comment may sit on all agree."""
    from v4code.review.diff import numbered
    from v4code.review.pr_target import fetch_pr, pr_target

    server = FakeGitHub().start()
    server.files[3] = [PullFile("a.py", "@@ -1,3 +1,4 @@\n a = 1\n\n+b = 2\n c = 3")]
    try:
        gh = GitHub(server.url, server.token)
        target = pr_target(gh, fetch_pr(gh, server.repo, 3))
    finally:
        server.stop()
    [f] = target.target.files
    assert f.changed_lines == {3}
    assert "     3 +b = 2" in numbered(f.text)
    assert target.commentable == {"a.py": {1, 2, 3, 4}}


def test_an_answer_that_is_not_json_is_one_line() -> None:
    """GITHUB_API_URL set to the web server (an HTML page) is said, not a traceback."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            page = b"<!DOCTYPE html><html>Sign in</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gh = GitHub(f"http://127.0.0.1:{server.server_address[1]}", "tok-0123456789")
        with pytest.raises(
            ForgeError, match="^GitHub's answer to GET /repos/a/b/pulls/1 is not JSON"
        ):
            gh.get("/repos/a/b/pulls/1")
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_cut_short_is_one_line() -> None:
    """The connection closing mid-answer is said as GitHub not reached, not a traceback."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"number": ')
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gh = GitHub(f"http://127.0.0.1:{server.server_address[1]}", "tok-0123456789")
        with pytest.raises(ForgeError, match="^GitHub could not be reached"):
            gh.get("/repos/a/b/pulls/1")
    finally:
        server.shutdown()
        server.server_close()
