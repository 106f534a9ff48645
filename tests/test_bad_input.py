"""Bad input from the model or the file system gets a clear message and harms nothing."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from tool_harness import tool_text


def test_paths_outside_the_workspace_are_refused(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read\n")
    (workspace / "link").symlink_to(secret)
    for path in ("../secret.txt", str(secret), "link"):
        out = tool_text("read_file", workspace, path=path)
        assert out.startswith("ERROR:") and "outside the workspace" in out
        assert "do not read" not in out
    out = tool_text("write_file", workspace, path="link", content="overwritten")
    assert out.startswith("ERROR:")
    assert secret.read_text() == "do not read\n"


def test_binary_file_refused_with_size_and_type(workspace: Path) -> None:
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    out = tool_text("read_file", workspace, path="logo.png")
    assert out.startswith("ERROR:") and "binary" in out and "2,568 bytes" in out


def test_command_that_never_ends_is_killed(workspace: Path) -> None:
    marker = f"300.{os.getpid()}{time.monotonic_ns() % 100000}"  # this test's sleeps only
    started = time.monotonic()
    command = f"sleep {marker} & sleep {marker}; echo never"
    out = tool_text("run_command", workspace, command=command, timeout=1)
    assert time.monotonic() - started < 10
    assert "timed out after 1 s" in out and "never" not in out
    pattern = f"^sleep {re.escape(marker)}$"
    leftover = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_command_printing_50_mb_is_capped(workspace: Path) -> None:
    script = "import sys\nfor _ in range(50): sys.stdout.write('x' * 1_048_575 + '\\n')\n"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tool_text("run_command", workspace, command=f'{sys.executable} -c "{script}"')
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert len(out) < 100_000
    assert "exit code: 0" in out
    assert grown_kb < 40_000  # never held the 50 MB


def test_huge_file_is_read_by_range_not_whole(workspace: Path) -> None:
    big = workspace / "big.log"
    with big.open("w") as fh:
        for i in range(400_000):
            fh.write(f"line {i} " + "y" * 40 + "\n")
    out = tool_text("read_file", workspace, path="big.log", offset=10, limit=3)
    assert "is large (21,088,890 bytes)" in out
    assert "line 9 " in out and "line 11 " in out and "line 12 " not in out
    assert "offset=13" in out
