"""safety/process.py for v4code's own helper programs: whole output, or lines while it runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from v4code.safety.process import StreamedProcess, capture_process

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_capture_keeps_stdout_and_stderr_apart(tmp_path: Path) -> None:
    done = capture_process(["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path, timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")
    assert not done.timed_out and not done.cancelled


@linux_only
def test_leaving_a_stream_early_stops_everything_it_started(tmp_path: Path) -> None:
    script = "sleep 300 & echo $! > child; while :; do echo line; done"
    with StreamedProcess(["sh", "-c", script], cwd=tmp_path, timeout=30) as process:
        lines = process.lines()
        first = [next(lines) for _ in range(10)]
    assert first == [b"line\n"] * 10 and process.stopped is None
    child = int((tmp_path / "child").read_text())
    assert gone(child)


def test_a_stream_past_its_deadline_is_stopped(tmp_path: Path) -> None:
    started = time.monotonic()
    with StreamedProcess(["sleep", "30"], cwd=tmp_path, timeout=0.3) as process:
        assert list(process.lines()) == []
    assert process.stopped == "timeout" and process.returncode == -9
    assert time.monotonic() - started < 10
