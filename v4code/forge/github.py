"""The GitHub REST client: one place that speaks to api.github.com (or an Enterprise server).

Stdlib only (`http.client` through urllib), as the model's transport is: no SDK to import.
The token comes from `GITHUB_TOKEN`, the server from `GITHUB_API_URL` (GitHub Enterprise,
and what a workflow run sets). Pages are followed through the `Link` header, only while they
stay on the API's own host, so the token never travels elsewhere. A 403 or 429 that is a rate
limit (a `Retry-After`, or no requests left) is waited out when the wait is short (at most
MAX_WAIT seconds, MAX_TRIES times), else said in one line.

Every string of every body sent goes through the caller's scrubber first: a secret the model
quoted from the diff never reaches the pull request.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from v4code.backends.transports import no_redirect_opener, retry_after_seconds
from v4code.errors import V4codeError
from v4code.safety.redact import scrubbed

DEFAULT_API = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
API_ENV = "GITHUB_API_URL"
MAX_WAIT = 60.0  # seconds a rate limit may hold a request before it is an error
MAX_TRIES = 3  # attempts of one request through rate limits
MAX_PAGES = 100  # pages followed for one listing (10 000 items at 100 a page)
TIMEOUT = 30.0


class ForgeError(V4codeError):
    """The forge refused or could not be reached; the message says which request and why."""


def _identity(text: str) -> str:
    return text


def next_link(header: str | None) -> str | None:
    """The `rel="next"` address of a `Link` header, if any."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


@dataclass
class GitHub:
    """A client for one API server and token; `requests` counts what it sent (re-runs report it)."""

    api_url: str = DEFAULT_API
    token: str | None = None
    scrub: Callable[[str], str] = _identity
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0

    @classmethod
    def from_env(cls, scrub: Callable[[str], str] = _identity) -> GitHub:
        api = os.environ.get(API_ENV) or DEFAULT_API
        return cls(api.rstrip("/"), os.environ.get(TOKEN_ENV) or None, scrub)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def pages(self, path: str) -> list[Any]:
        """Every item of a listing, page after page (`per_page=100`)."""
        sep = "&" if "?" in path else "?"
        url: str | None = self._url(f"{path}{sep}per_page=100")
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            data, headers = self._send("GET", url, None)
            items.extend(data if isinstance(data, list) else [])
            url = next_link(headers.get("Link"))  # any case: a proxy may lower it
            if url is not None and not self._own(url):
                raise ForgeError(f"GitHub sent a next page on another host: {url}")
        return items

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON to `method path` with `body` (scrubbed) sent."""
        payload = None if body is None else scrubbed(body, self.scrub)
        return self._send(method, self._url(path), payload)[0]

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path

    def _own(self, url: str) -> bool:
        mine, theirs = urllib.parse.urlsplit(self.api_url), urllib.parse.urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def _send(self, method: str, url: str, body: Any) -> tuple[Any, Message]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(MAX_TRIES):
            self.requests += 1
            try:
                with _OPENER.open(self._request(method, url, data), timeout=TIMEOUT) as r:
                    raw, headers = r.read(), r.headers
            except urllib.error.HTTPError as exc:
                wait = self._rate_wait(exc)
                if wait is None or attempt == MAX_TRIES - 1:
                    raise ForgeError(_refusal(method, url, exc)) from None
                self.sleep(wait)
                continue
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                raise ForgeError(f"GitHub could not be reached ({reason})") from None
            return _json(method, url, raw), headers
        raise ForgeError(f"{method} {url}: rate limited")  # not reached: the loop raises

    def _request(self, method: str, url: str, data: bytes | None) -> urllib.request.Request:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "v4code",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(url, data=data, headers=headers, method=method)

    def _rate_wait(self, exc: urllib.error.HTTPError) -> float | None:
        """Seconds to wait before trying again, when `exc` is a short rate limit; else None."""
        if exc.code not in (403, 429):
            return None
        wait = retry_after_seconds(exc.headers.get("Retry-After"))
        if wait is not None:
            wait = max(wait, 0.0)
        elif exc.headers.get("X-RateLimit-Remaining") == "0":
            reset = exc.headers.get("X-RateLimit-Reset", "")
            wait = max(float(reset) - time.time(), 0.0) + 1 if reset.isdigit() else None
        return wait if wait is not None and wait <= MAX_WAIT else None


_OPENER = no_redirect_opener()  # urllib would carry the token to wherever a redirect points


def _json(method: str, url: str, raw: bytes) -> Any:
    """An answer's JSON (None when empty); a page that is not JSON (GITHUB_API_URL naming the
    web server, a proxy's sign-in page) is said in one line."""
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        path = urllib.parse.urlsplit(url).path
        raise ForgeError(
            f"GitHub's answer to {method} {path} is not JSON (is {API_ENV} the API's address?)"
        ) from None


def _refusal(method: str, url: str, exc: urllib.error.HTTPError) -> str:
    """One line: the request, the status and GitHub's own message."""
    try:
        message = str(json.loads(exc.read() or b"{}").get("message", ""))
    except (ValueError, AttributeError, OSError):
        message = ""
    path = urllib.parse.urlsplit(url).path
    hint = " (set GITHUB_TOKEN)" if exc.code in (401, 403) and not message else ""
    return f"GitHub refused {method} {path}: {exc.code} {message or exc.reason}{hint}".strip()
