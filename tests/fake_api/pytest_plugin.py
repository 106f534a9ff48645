"""Pytest fixtures for the fake DeepSeek server.

- ``fake_api_server`` (session): one running ``FakeDeepSeek`` per test process.
- ``fake_api`` (function): that server, reset (empty script, no requests, default config). At
  teardown the test FAILS if any request broke a rule or the script ran out (``violations``), or
  if scripted steps were left unused. Opt out with ``fake_api.allow_leftover = True`` or, after
  asserting on them, ``fake_api.violations.clear()``.
- ``fake_api_subprocess`` (function): a factory ``(steps, **config) -> SubprocessServer`` running
  the server as a child process; each one is stopped and checked the same way at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from fake_api.server import FakeDeepSeek
from fake_api.standalone import SubprocessServer, start_subprocess_server

__all__ = ["fake_api", "fake_api_server", "fake_api_subprocess"]


def running(server: FakeDeepSeek) -> Iterator[FakeDeepSeek]:
    """`server` started for a fixture's scope, stopped after."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def checked(server: FakeDeepSeek) -> Iterator[FakeDeepSeek]:
    """`server` reset for one test; the test fails at teardown on a broken rule or a leftover."""
    server.reset()
    yield server
    problems = server.problems()
    server.reset()
    if problems:
        pytest.fail("fake_api problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def fake_api_server() -> Iterator[FakeDeepSeek]:
    yield from running(FakeDeepSeek())


@pytest.fixture
def fake_api(fake_api_server: FakeDeepSeek) -> Iterator[FakeDeepSeek]:
    yield from checked(fake_api_server)


@pytest.fixture
def fake_api_subprocess(
    tmp_path: Path,
) -> Iterator[Callable[..., SubprocessServer]]:
    started: list[SubprocessServer] = []

    def start(steps: list[Mapping[str, Any]], **config: Any) -> SubprocessServer:
        where = tmp_path / f"fake_api_{len(started)}"
        server = start_subprocess_server(steps, where, **config)
        started.append(server)
        return server

    yield start
    problems: list[str] = []
    for server in started:
        problems.extend(server.problems)
    if problems:
        pytest.fail("fake_api subprocess problems:\n  " + "\n  ".join(problems), pytrace=False)
