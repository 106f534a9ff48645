"""`engine serve PLAN.json` through the real command line: a plan file is a command to run.

A plan can come with a repository. Its command is shown and asked about (`--yes` on a
script), a program that is not a known engine is refused unless `--force`, the engine's
program is found on PATH but never in the repository, and the engine gets none of v4code's
keys: not in its environment, and not from v4code's process either.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from cli_harness import v4code
from conftest import free_port, snoop_command

TESTS = Path(__file__).resolve().parent.parent
KEY = "sk-user-key-0123456789engine"


def write_plan(path: Path, argv: list[str]) -> Path:
    path.write_text(json.dumps({"serve": {"engine": "vllm", "argv": argv, "model": "m1"}}))
    return path


def fake_vllm(folder: Path, ran: Path, script: Path) -> Path:
    """A `vllm` that notes what it can see (its environment, v4code's process), then is
    the fake server (a vLLM look-alike serving `m1`) on the port it was given."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "vllm"
    program.write_text(
        "#!/bin/sh\n"
        f"env > {ran}.env\n"
        f"{snoop_command(KEY, f'{ran}.snoop')}\n"
        f'exec {sys.executable} -m fake_api --script {script} --max-lifetime 120 --port "$4"\n'
    )
    program.chmod(0o755)
    return program


def engine_env(*path: Path) -> dict[str, str | None]:
    dirs = [str(p) for p in path] + [os.environ.get("PATH", "")]
    return {"PATH": os.pathsep.join(dirs), "PYTHONPATH": str(TESTS)}


def test_a_plan_that_is_not_an_engine_is_refused_unless_forced(workspace: Path) -> None:
    marker = workspace / "owned"
    plan = write_plan(
        workspace / "plan.json", ["/bin/sh", "-c", f"touch {marker}", "--port", "8000"]
    )
    done = v4code(workspace, "engine", "serve", str(plan), key=KEY)
    assert done.returncode == 2
    assert "not a known engine" in done.stderr and "--force" in done.stderr
    assert f"touch {marker}" in done.stderr  # what it would have run is shown
    assert not marker.exists()


def test_an_engine_shipped_in_the_repository_is_not_run(workspace: Path, tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    fake_vllm(workspace / "bin", ran, tmp_path / "script.json")
    plan = write_plan(workspace / "plan.json", ["vllm", "serve", "m1", "--port", "8000"])
    done = v4code(
        workspace, "engine", "serve", str(plan), "--timeout", "5",
        key=KEY, env=engine_env(workspace / "bin"),
    )  # fmt: skip
    assert done.returncode == 2
    assert "vllm is not on PATH" in done.stderr
    assert not Path(f"{ran}.env").exists()


def test_a_plan_is_shown_and_asked_and_its_engine_gets_no_key(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    ran, script, tools = tmp_path / "ran", tmp_path / "script.json", tmp_path / "tools"
    script.write_text(
        json.dumps(
            {
                "steps": [],
                "config": {"dialect": "vllm", "require_auth": False, "served_model": "m1"},
            }
        )
    )
    program = fake_vllm(tools, ran, script)
    plan = write_plan(workspace / "plan.json", ["vllm", "serve", "m1", "--port", str(free_port())])
    env = engine_env(tools)
    asked = v4code(workspace, "engine", "serve", str(plan), "--detach", key=KEY, env=env)
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert f"engine command: {program} serve m1 --port" in asked.stderr
    assert not Path(f"{ran}.env").exists()
    served = v4code(
        workspace, "engine", "serve", str(plan), "--detach", "--yes", "--timeout", "60",
        key=KEY, env=env,
    )  # fmt: skip
    try:
        assert served.returncode == 0, served.stderr
        assert f"engine command: {program} serve m1 --port" in served.stderr
    finally:
        assert v4code(workspace, "engine", "stop", "local").returncode == 0
    seen = Path(f"{ran}.env").read_text()
    assert KEY not in seen and "DEEPSEEK_API_KEY" not in seen
    report = Path(f"{ran}.snoop").read_text()
    assert "key found in: nothing" in report, report
    if shutil.which("bwrap"):
        assert "v4code among them: no" in report, report
    assert "[profiles.local]" in (v4code_home / "config.toml").read_text()
