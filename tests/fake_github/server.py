"""FakeGitHub: one repository's pull requests, served on 127.0.0.1, every request recorded.

What it checks as GitHub does: the token (401 without it), a review comment's line lies on
the RIGHT side of the file's hunks (422 otherwise), a review's `commit_id` is the head. What
it imitates: pages of `page_size` items linked by `Link: <...>; rel="next"`, and for each path
in `rate_limited`, one 403 "secondary rate limit" with `Retry-After` before it answers.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class PullFile:
    filename: str
    patch: str | None  # None: GitHub omitted it (a large diff); the contents API has both sides
    status: str = "modified"
    base: bytes | None = None
    head: bytes | None = None

    def right_lines(self) -> set[int]:
        """Lines a comment may sit on (none in a file whose patch GitHub omitted)."""
        if self.patch is None:
            return set()
        lines, new = set(), 0
        for line in self.patch.splitlines():
            if m := _HUNK.match(line):
                new = int(m.group(1))
            elif line.startswith(("+", " ")):
                lines.add(new)
                new += 1
        return lines


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    repo: str = "acme/app"
    token: str = "ghp-test-token-0123456789"
    page_size: int = 100
    rate_limited: set[str] = field(default_factory=set)
    head_sha: str = "1" * 40
    base_sha: str = "0" * 40
    files: dict[int, list[PullFile]] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    branches: dict[str, int] = field(default_factory=dict)  # head branch -> open pull request
    unplaceable: set[tuple[str, int]] = field(default_factory=set)  # (path, line): 422 on them
    lower_headers: bool = False  # header names in lower case, as a proxy may pass them on
    login: str | None = "v4code-bot"  # None: GET /user refused, as for an app's token
    _next_id: int = 100

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._lock = threading.Lock()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def sent(self, method: str, suffix: str = "") -> list[Request]:
        """Requests of `method` whose path ends with `suffix` and that were answered (< 400)."""
        return [
            r
            for r in self.requests
            if r.method == method and r.path.endswith(suffix) and r.status < 400
        ]

    # --- dispatch -------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        split = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(split.query)
        size = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(size) if size else b""
        body = json.loads(raw) if raw else None
        with self._lock:
            status, data, headers = self._answer(h, method, split.path, query, body)
            self.requests.append(
                Request(method, split.path, query, body, status, dict(h.headers.items()))
            )
        payload = b"" if data is None else json.dumps(data).encode()
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name.lower() if self.lower_headers else name, value)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _answer(
        self, h: BaseHTTPRequestHandler, method: str, path: str, query: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        if path in self.rate_limited:
            self.rate_limited.discard(path)
            message = "You have exceeded a secondary rate limit. Please wait a few minutes."
            return 403, {"message": message}, {"Retry-After": "1"}
        if method == "GET" and path == "/user" and self.login is None:
            return 403, {"message": "Resource not accessible by integration"}, {}
        if method == "GET" and path == "/user":
            return 200, {"login": self.login}, {}
        prefix = f"/repos/{self.repo}"
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(prefix) :]
        for pattern, handler in self._routes():
            if (m := re.fullmatch(pattern, f"{method} {rest}")) is not None:
                return handler(query, body, *m.groups())
        return 404, {"message": "Not Found"}, {}

    def _routes(self) -> list[tuple[str, Any]]:
        return [
            (r"GET /pulls", self._list_pulls),
            (r"GET /pulls/(\d+)", self._pull),
            (r"GET /pulls/(\d+)/files", self._files),
            (r"GET /contents/(.+)", self._contents),
            (r"GET /pulls/(\d+)/reviews", self._list_reviews),
            (r"POST /pulls/(\d+)/reviews", self._create_review),
            (r"PUT /pulls/(\d+)/reviews/(\d+)", self._update_review),
            (r"GET /pulls/(\d+)/comments", self._list_comments),
            (r"PATCH /pulls/comments/(\d+)", self._edit_comment),
            (r"DELETE /pulls/comments/(\d+)", self._delete_comment),
        ]

    # --- endpoints ------------------------------------------------------------------------

    def _page(self, items: list[Any], query: Any, path: str) -> tuple[int, Any, dict[str, str]]:
        per = min(int(query.get("per_page", ["30"])[0]), self.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per : page * per]
        headers = {}
        if page * per < len(items):
            nxt = f"{self.url}/repos/{self.repo}{path}?per_page={per}&page={page + 1}"
            headers["Link"] = f'<{nxt}>; rel="next", <{nxt}>; rel="last"'
        return 200, chunk, headers

    def _list_pulls(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        owner, _, branch = query.get("head", [":"])[0].partition(":")
        n = self.branches.get(branch) if owner == self.repo.split("/")[0] else None
        return 200, ([] if n is None else [{"number": n, "head": {"ref": branch}}]), {}

    def _pull(self, query: Any, body: Any, n: str) -> tuple[int, Any, dict[str, str]]:
        if int(n) not in self.files:
            return 404, {"message": "Not Found"}, {}
        data = {"number": int(n), "title": "Add division", "state": "open"}
        data |= {"head": {"sha": self.head_sha}, "base": {"sha": self.base_sha}}
        return 200, data, {}

    def _files(self, query: Any, body: Any, n: str) -> tuple[int, Any, dict[str, str]]:
        items = []
        for f in self.files.get(int(n), []):
            item: dict[str, Any] = {"filename": f.filename, "status": f.status}
            if f.patch is not None:
                item["patch"] = f.patch
            items.append(item)
        return self._page(items, query, f"/pulls/{n}/files")

    def _contents(self, query: Any, body: Any, path: str) -> tuple[int, Any, dict[str, str]]:
        ref = query.get("ref", [""])[0]
        name = urllib.parse.unquote(path)
        for f in (f for fs in self.files.values() for f in fs if f.filename == name):
            data = f.head if ref == self.head_sha else f.base if ref == self.base_sha else None
            if data is not None:
                encoded = base64.b64encode(data).decode()
                return 200, {"type": "file", "encoding": "base64", "size": len(data),
                             "content": encoded, "path": name}, {}  # fmt: skip
        return 404, {"message": "Not Found"}, {}

    def _list_reviews(self, query: Any, body: Any, n: str) -> tuple[int, Any, dict[str, str]]:
        return self._page(
            [r for r in self.reviews if r["pr"] == int(n)], query, f"/pulls/{n}/reviews"
        )

    def _create_review(self, query: Any, body: Any, n: str) -> tuple[int, Any, dict[str, str]]:
        files = {f.filename: f for f in self.files.get(int(n), [])}
        if body.get("commit_id") != self.head_sha:
            return 422, {"message": "commit_id is not the head"}, {}
        if not body.get("comments") and not body.get("body"):
            return 422, {"message": "Review body is required for COMMENT"}, {}
        for c in body.get("comments", []):
            f = files.get(c.get("path"))
            lines = f.right_lines() if f else set()
            placed = (c.get("path"), c.get("line")) not in self.unplaceable
            if c.get("side", "RIGHT") != "RIGHT" or c.get("line") not in lines or not placed:
                return (
                    422,
                    {"message": "Pull request review thread line must be part of the diff"},
                    {},
                )
        review = {"id": self._id(), "pr": int(n), "body": body.get("body", ""),
                  "state": "COMMENTED", "user": {"login": self.login or "app[bot]"}}  # fmt: skip
        self.reviews.append(review)
        for c in body.get("comments", []):
            self.comments.append({"id": self._id(), "pr": int(n), "pull_request_review_id": review["id"],
                                  "path": c["path"], "line": c["line"], "side": c.get("side", "RIGHT"),
                                  "body": c["body"], "user": {"login": self.login or "app[bot]"}})  # fmt: skip
        return 200, review, {}

    def _update_review(
        self, query: Any, body: Any, n: str, rid: str
    ) -> tuple[int, Any, dict[str, str]]:
        for r in self.reviews:
            if r["id"] == int(rid):
                r["body"] = body["body"]
                return 200, r, {}
        return 404, {"message": "Not Found"}, {}

    def _list_comments(self, query: Any, body: Any, n: str) -> tuple[int, Any, dict[str, str]]:
        mine = [c for c in self.comments if c["pr"] == int(n)]
        return self._page(mine, query, f"/pulls/{n}/comments")

    def _edit_comment(self, query: Any, body: Any, cid: str) -> tuple[int, Any, dict[str, str]]:
        for c in self.comments:
            if c["id"] == int(cid):
                c["body"] = body["body"]
                return 200, c, {}
        return 404, {"message": "Not Found"}, {}

    def _delete_comment(self, query: Any, body: Any, cid: str) -> tuple[int, Any, dict[str, str]]:
        before = len(self.comments)
        self.comments[:] = [c for c in self.comments if c["id"] != int(cid)]
        return (
            (204, None, {}) if len(self.comments) < before else (404, {"message": "Not Found"}, {})
        )

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id
