"""The fix-a-bug task, end to end, against the fake server: v4code's transports side by side,
cold and warm, and Codex CLI on the same task when `codex` is on PATH.

A tiny repository with a failing test; the scripted model reads the file, edits it, runs
`python -m pytest -q` and finishes. The fake server runs in a child process and records when
each request arrived and when each answer was sent, so the figures are:

- wall: process start to exit; CPU: user + system of the process and the children it waited
  for (the test run), from wait4's rusage (what RUSAGE_CHILDREN accumulates); peak RSS;
- first request: process start to the first request's arrival at the server;
- exit after last answer: the last answer sent to the process gone.

Cold: no bytecode cache (PYTHONDONTWRITEBYTECODE and a fresh PYTHONPYCACHEPREFIX); warm: with
bytecode from a previous run. Run by hand: `python bench/vs_peers.py [-n 5]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server, text, tool_call

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TASK = "fix the add function so the tests pass"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def make_repo(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "calc.py").write_text(CALC)
    (where / "test_calc.py").write_text(TEST_CALC)
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.email=b@example.com", "-c", "user.name=b", "add", "-A"],
        ["-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-qm", "calc"],
    ):
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True)
    return where


def v4code_steps() -> list[dict[str, Any]]:
    return [
        tool_call("read_file", reasoning="Look at calc.py.", path="calc.py"),
        tool_call(
            "edit_file",
            reasoning="The operator is wrong.",
            path="calc.py",
            old_string="return a - b",
            new_string="return a + b",
        ),
        tool_call("run_command", reasoning="Run the tests.", command=PYTEST),
        text("Fixed `add`; the tests pass.", reasoning="Green."),
    ]


def codex_steps() -> list[dict[str, Any]]:
    """The same turns in Codex CLI's tool vocabulary (its `shell` tool)."""

    def shell(script: str, reasoning: str) -> dict[str, Any]:
        return tool_call("shell", reasoning=reasoning, command=["bash", "-lc", script])

    return [
        shell("cat calc.py", "Look at calc.py."),
        shell("sed -i 's/return a - b/return a + b/' calc.py", "The operator is wrong."),
        shell(PYTEST, "Run the tests."),
        text("Fixed `add`; the tests pass.", reasoning="Green."),
    ]


def run_once(
    cmd: list[str], steps: list[dict[str, Any]], env: dict[str, str], work: Path, **server: Any
) -> dict[str, float]:
    repo = make_repo(work / "repo")
    fake = start_subprocess_server(steps, work / "server", **server)
    fake.allow_leftover = True
    env = {**env, "DEEPSEEK_BASE_URL": fake.base_url, "OPENAI_BASE_URL": f"{fake.base_url}/v1"}
    try:
        started = time.time()
        proc = subprocess.Popen(
            cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    finally:
        requests, violations = fake.stop()
    chats = [r for r in requests if r["method"] == "POST"]
    fixed = (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")
    if proc.returncode != 0 or not fixed or len(chats) != len(steps):
        raise RuntimeError(
            f"{cmd[0]} did not finish the task (exit {proc.returncode}, {len(chats)} requests, "
            f"fixed={fixed}): {stderr[-1500:]} {violations[:3]}"
        )
    return {
        "wall": ended - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "first": chats[0]["arrived"] - started,
        "exit": ended - max(r["answered"] for r in chats),
    }


def v4code_env(transport: str, cold: bool, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("V4CODE_", "DEEPSEEK_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "DEEPSEEK_API_KEY": "sk-bench-0123456789",
            "V4CODE_HOME": str(cache / "home"),
            "V4CODE_TRANSPORT": transport,
            "V4CODE_SANDBOX": "false",
            "V4CODE_PERMISSION_MODE": "full-auto",
        }
    )
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="pycache-", dir=cache)
    return env


def summarise(label: str, runs: list[dict[str, float]]) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"{label:<24} {med['wall']:>7.2f} {med['cpu']:>7.2f} {med['rss']:>8.0f} "
        f"{med['first'] * 1000:>10.0f} {med['exit'] * 1000:>9.0f}"
    )
    return med


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    base = [sys.executable, "-m", "v4code", "run", "--permission-mode", "full-auto", TASK]
    print(f"median of {args.runs} runs; fake server in a child process, 4 scripted turns")
    print(f"{'':<24} {'wall s':>7} {'CPU s':>7} {'RSS MB':>8} {'1st req ms':>10} {'exit ms':>9}")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="v4code-vs-peers-") as tmp:
        scratch = Path(tmp)
        counter = 0
        for transport in ("stdlib", "sdk"):
            for cold in (True, False):
                label = f"v4code {transport} {'cold' if cold else 'warm'}"
                runs = []
                for _ in range(args.runs + (0 if cold else 1)):
                    counter += 1
                    work = scratch / f"run{counter}"
                    env = v4code_env(transport, cold, scratch)
                    runs.append(run_once(base, v4code_steps(), env, work))
                results[label] = summarise(label, runs if cold else runs[1:])
        codex = shutil.which("codex")
        if codex is None:
            print("codex is not on PATH: v4code's figures alone")
            return
        cmd = [
            codex, "exec", "--skip-git-repo-check", "--full-auto",
            "-c", "model_provider=fake", "-c", "model=deepseek-v4-pro",
            "-c", "model_providers.fake.name=fake",
            "-c", "model_providers.fake.base_url=${OPENAI_BASE_URL}",
            "-c", "model_providers.fake.wire_api=chat",
            "-c", "model_providers.fake.env_key=OPENAI_API_KEY",
            TASK,
        ]  # fmt: skip
        runs = []
        for _ in range(args.runs):
            counter += 1
            env = {**os.environ, "OPENAI_API_KEY": "sk-bench-0123456789"}
            work = scratch / f"run{counter}"
            runs.append(run_codex(cmd, env, work))
        peer = summarise("codex", runs)
        mine = results["v4code stdlib warm"]
        print(f"v4code stdlib warm / codex, wall: {mine['wall'] / peer['wall']:.2f}")


def run_codex(cmd: list[str], env: dict[str, str], work: Path) -> dict[str, float]:
    def expanded(base_url: str) -> list[str]:
        return [c.replace("${OPENAI_BASE_URL}", base_url) for c in cmd]

    # The fake server's URL is known only once it runs: start it, then build the command.
    repo = make_repo(work / "repo")
    fake = start_subprocess_server(codex_steps(), work / "server", accepted_models=None)
    fake.allow_leftover = True
    try:
        started = time.time()
        proc = subprocess.Popen(
            expanded(f"{fake.base_url}/v1"),
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, _, usage = os.wait4(proc.pid, 0)
        ended = time.time()
    finally:
        requests, _ = fake.stop()
    chats = [r for r in requests if r["method"] == "POST"] or [
        {"arrived": ended, "answered": ended}
    ]
    return {
        "wall": ended - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "first": chats[0]["arrived"] - started,
        "exit": ended - max(r["answered"] for r in chats),
    }


if __name__ == "__main__":
    main()
