"""`v4code engine serve | status | stop` with the fake server standing in for an engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port

from v4code.cli import main
from v4code.config import load_settings, user_config_path
from v4code.engines.serve import alive, load_state

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def engine_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plan whose engine is the fake server (a vLLM look-alike serving `m1`)."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "steps": [],
                "config": {"dialect": "vllm", "require_auth": False, "served_model": "m1"},
            }
        )
    )
    argv = [sys.executable, "-m", "fake_api", "--script", str(script), "--max-lifetime", "120"]
    argv += ["--port", str(free_port())]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"serve": {"engine": "vllm", "argv": argv, "model": "m1"}}))
    return plan


def test_serve_detached_writes_the_profile_then_status_and_stop(
    engine_plan: Path, workspace: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["engine", "serve", str(engine_plan), "--profile", "gpu", "--detach", "--timeout", "60"]
        + ["--yes", "--force"],  # the fake server is not a known engine
    )
    assert result.exit_code == 0, result.output
    served = load_state()["gpu"]
    assert alive(served.pid)
    settings = load_settings(workspace, {"profile": "gpu"}).settings
    assert settings.base_url == served.base_url and settings.dialect == "vllm"
    assert settings.model == "m1" and settings.prices["m1"] == {"hit": 0, "miss": 0, "output": 0}
    status = runner.invoke(main, ["engine", "status"])
    assert f"gpu  running  pid {served.pid}" in status.output
    again = runner.invoke(
        main,
        ["engine", "serve", str(engine_plan), "--profile", "gpu", "--detach", "--yes", "--force"],
    )
    assert again.exit_code == 2 and "already running" in again.output
    stopped = runner.invoke(main, ["engine", "stop", "gpu"])
    assert stopped.exit_code == 0 and f"stopped gpu (pid {served.pid})" in stopped.output
    assert not alive(served.pid) and "gpu" not in load_state()
    assert runner.invoke(main, ["engine", "stop", "gpu"]).exit_code == 2
    # the profile remembers how it was served: start it again by name
    again = runner.invoke(main, ["engine", "serve", "--profile", "gpu", "--detach", "--force"])
    assert again.exit_code == 0, again.output
    assert load_state()["gpu"].argv == served.argv
    assert runner.invoke(main, ["engine", "stop", "gpu"]).exit_code == 0


def test_serve_in_the_foreground_stops_the_engine_on_ctrl_c(engine_plan: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "v4code", "engine", "serve", str(engine_plan), "--timeout", "60"]
        + ["--yes", "--force"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "local" not in load_state() or not user_config_path().is_file():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        while "[profiles.local]" not in user_config_path().read_text():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        pid = load_state()["local"].pid
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "stopping the engine" in err
    assert not alive(pid) and "local" not in load_state()


def test_serve_says_how_to_install_a_missing_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    plan = tmp_path / "plan.json"
    argv = ["vllm", "serve", "x", "--port", "8000"]
    plan.write_text(json.dumps({"serve": {"engine": "vllm", "argv": argv, "model": "x"}}))
    result = CliRunner().invoke(main, ["engine", "serve", str(plan)])
    assert result.exit_code == 2 and "is not on PATH" in result.output
    result = CliRunner().invoke(main, ["engine", "serve"])
    assert result.exit_code == 2 and "give a PLAN_FILE" in result.output
    assert "has no `serve` command" in result.output
