"""Programs v4code starts outside the sandbox run in a PID namespace of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from v4code.safety import isolation


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_wrapped_program_cannot_see_this_process_but_keeps_its_directory(
    tmp_path: Path,
) -> None:
    argv = isolation.isolated(["sh", "-c", f"ls /proc/{os.getpid()} >/dev/null 2>&1; echo $? $PWD"])
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", str(tmp_path)]  # ls: no such process here


def test_without_bubblewrap_the_program_runs_as_it_is_and_v4code_says_so_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    monkeypatch.setattr(isolation, "_warned", False)
    isolation._probe.cache_clear()
    try:
        assert isolation.isolated(["true"]) == ["true"]
        assert isolation.isolated(["echo", "x"]) == ["echo", "x"]
        assert isolation.isolation_problem() == "bubblewrap (`bwrap`) is not installed"
    finally:
        isolation._probe.cache_clear()
    err = capsys.readouterr().err
    assert err.count("see v4code's process here") == 1
