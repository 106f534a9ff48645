"""The background checks a session starts when it opens (can bubblewrap start here): commands
that begin while one is still running wait for its answer rather than ask bubblewrap again."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from v4code.safety import isolation, sandbox
from v4code.safety.process import Captured

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _two_callers_during_warm_up(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    warm_up: Callable[[], None],
    ask: Callable[[], str | None],
) -> list[list[str]]:
    """Start the warm-up, hold its bubblewrap check, start two callers, then let it finish;
    every bubblewrap start is returned."""
    started: list[list[str]] = []
    release = threading.Event()

    def fake_capture(argv: list[str], **_: object) -> Captured:
        started.append(list(argv))
        if "warm-up" in threading.current_thread().name:
            release.wait(10)
        return Captured(0, b"", b"")

    monkeypatch.setattr(module, "capture_process", fake_capture)
    warm_up()
    while not started:
        time.sleep(0.01)
    answers: list[str | None] = []
    callers = [threading.Thread(target=lambda: answers.append(ask())) for _ in range(2)]
    for caller in callers:
        caller.start()
    until = time.monotonic() + 1.0
    while len(started) < 2 and time.monotonic() < until:  # a caller that did not wait
        time.sleep(0.01)
    release.set()
    for caller in callers:
        caller.join(10)
    assert answers == [None, None]
    return started


def test_sandbox_checked_once_when_commands_start_during_its_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox._probe.cache_clear()
    try:
        started = _two_callers_during_warm_up(
            monkeypatch,
            sandbox,
            lambda: sandbox.warm_up(tmp_path),
            lambda: sandbox.sandbox_problem(tmp_path),
        )
    finally:
        sandbox._probe.cache_clear()
    assert len(started) == 1


def test_isolation_checked_once_when_programs_start_during_its_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    isolation._probe.cache_clear()
    try:
        started = _two_callers_during_warm_up(
            monkeypatch, isolation, isolation.warm_up, isolation.isolation_problem
        )
    finally:
        isolation._probe.cache_clear()
    assert len(started) == 1
