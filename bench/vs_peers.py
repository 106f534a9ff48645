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
bytecode from a previous run. A run counts only if the file is fixed, the test run's output that
goes back to the model says "1 passed", every scripted turn was requested and the server saw no
broken rule.

Codex CLI (`npm install -g @openai/codex`) speaks only the Responses API, which the fake server
also serves from the same kind of script (bench/responses_api.py): Codex reads the file, edits it with its `apply_patch`
(through its `exec_command` tool), runs the same pytest command and finishes. It gets its own
CODEX_HOME with a model provider pointing at the server, no key but a dummy and no network.
v4code and Codex then run in alternating rounds (the order flips each round, so load from other
processes falls on both alike), with the machine's load average before and after. Both the npm
`codex` launcher (a Node script) and the Rust binary it starts are timed.

Run by hand: `python bench/vs_peers.py [-n 5] [--pairs-only]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common  # (also puts tests/ on sys.path)
from fake_api import start_subprocess_server, text, tool_call

CALC = "def add(a, b):\n    return a - b\n"
RESPONSES_API = Path(__file__).with_name("responses_api.py")  # what Codex speaks
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TASK = "fix the add function so the tests pass"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def make_repo(where: Path) -> Path:
    return _common.committed_repo(where, {"calc.py": CALC, "test_calc.py": TEST_CALC}, "calc")


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


APPLY_PATCH = """apply_patch <<'EOF'
*** Begin Patch
*** Update File: calc.py
@@
 def add(a, b):
-    return a - b
+    return a + b
*** End Patch
EOF"""


def codex_steps() -> list[dict[str, Any]]:
    """The same turns in Codex CLI's tool vocabulary: its `exec_command` tool, which also
    carries its `apply_patch` edits (Codex applies those itself rather than running a shell)."""

    def exec_command(cmd: str, reasoning: str) -> dict[str, Any]:
        return tool_call("exec_command", reasoning=reasoning, cmd=cmd)

    return [
        exec_command("cat calc.py", "Look at calc.py."),
        exec_command(APPLY_PATCH, "The operator is wrong."),
        exec_command(PYTEST, "Run the tests."),
        text("Fixed `add`; the tests pass.", reasoning="Green."),
    ]


Setup = Callable[[str, Path], tuple[list[str], dict[str, str]]]


def run_once(
    steps: list[dict[str, Any]], setup: Setup, work: Path, **server: Any
) -> dict[str, float]:
    """One run of the task: a fresh repository and server; ``setup(base_url, work)`` gives the
    command and its environment once the server's address is known."""
    repo = make_repo(work / "repo")
    fake = start_subprocess_server(steps, work / "server", apis=[RESPONSES_API], **server)
    fake.allow_leftover = True
    cmd, env = setup(fake.base_url, work)
    try:
        # stderr goes to a file, not a pipe: the process is over when it exits, whatever
        # helper it may leave holding the descriptor.
        with open(work / "stderr.txt", "wb") as err:
            started = time.time()
            proc = subprocess.Popen(
                cmd, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err,
            )  # fmt: skip
            _, status, usage = os.wait4(proc.pid, 0)
            ended = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = (work / "stderr.txt").read_text("utf-8", "replace")
    finally:
        requests, violations = fake.stop()
    posts = [r for r in requests if r["method"] == "POST"]
    fixed = (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")
    tools = (posts[0]["body"] or {}).get("tools", []) if posts else []
    offered = {(t.get("function") or t).get("name") for t in tools}  # chat or Responses shape
    unknown = {c["name"] for st in steps for c in st.get("tool_calls") or []} - offered
    # The last request carries the test run's output back to the model: it must have passed.
    passed = bool(posts) and "1 passed" in json.dumps(posts[-1]["body"])
    if (
        proc.returncode != 0
        or not (fixed and passed)
        or len(posts) != len(steps)
        or violations
        or unknown
    ):
        raise RuntimeError(
            f"{cmd[0]} did not finish the task (exit {proc.returncode}, {len(posts)} requests, "
            f"fixed={fixed}, tests passed={passed}, tools not offered: {sorted(unknown)}): "
            f"{stderr[-1500:]} "
            f"{violations[:3]}"
        )
    return {
        "wall": ended - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "first": posts[0]["arrived"] - started,
        "exit": ended - max(r["answered"] for r in posts),
    }


def v4code_setup(transport: str, cold: bool, cache: Path, sandbox: bool = False) -> Setup:
    cmd = [sys.executable, "-m", "v4code", "run", "--permission-mode", "full-auto", TASK]

    def setup(base_url: str, work: Path) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("V4CODE_", "DEEPSEEK_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            {
                "DEEPSEEK_API_KEY": "sk-bench-0123456789",
                "DEEPSEEK_BASE_URL": base_url,
                "V4CODE_HOME": str(cache / "home"),
                "V4CODE_TRANSPORT": transport,
                "V4CODE_SANDBOX": "true" if sandbox else "false",
                "V4CODE_PERMISSION_MODE": "full-auto",
            }
        )
        if cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="pycache-", dir=cache)
        return cmd, env

    return setup


def codex_setup(codex: str, sandbox: bool = False) -> Setup:
    """Codex CLI with a model provider that points at the fake server's Responses endpoint, in
    a CODEX_HOME of its own (so no user config, login or key is read), with no approvals and
    its sandbox off or on as v4code's is (`danger-full-access` or `workspace-write`)."""

    def setup(base_url: str, work: Path) -> tuple[list[str], dict[str, str]]:
        home = work / "codex-home"
        home.mkdir()
        (home / "config.toml").write_text(
            'model = "deepseek-v4-pro"\n'
            'model_provider = "fake"\n'
            "[model_providers.fake]\n"
            'name = "fake"\n'
            f'base_url = "{base_url}/v1"\n'
            'wire_api = "responses"\n'
            'env_key = "FAKE_API_KEY"\n'
        )
        env = {**os.environ, "CODEX_HOME": str(home), "FAKE_API_KEY": "sk-bench-0123456789"}
        mode = "workspace-write" if sandbox else "danger-full-access"
        cmd = [codex, "exec", "--sandbox", mode, TASK]
        return cmd, env

    return setup


def native_codex(launcher: str) -> str | None:
    """The Rust binary the npm package's `codex` launcher (a Node script) starts, if found."""
    root = Path(launcher).resolve().parents[1]
    found = sorted(root.glob("node_modules/@openai/codex-*/vendor/*/bin/codex"))
    return str(found[0]) if found else None


def summarise(label: str, runs: list[dict[str, float]]) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"{label:<24} {med['wall']:>7.2f} {med['cpu']:>7.2f} {med['rss']:>8.0f} "
        f"{med['first'] * 1000:>10.0f} {med['exit'] * 1000:>9.0f}"
    )
    return med


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--pairs-only", action="store_true", help="skip the transport table")
    parser.add_argument(
        "--sandbox", action="store_true", help="rounds with each CLI's own sandbox on"
    )
    args = parser.parse_args()
    print(f"load before: {loadavg()}")
    header = f"{'':<24} {'wall s':>7} {'CPU s':>7} {'RSS MB':>8} {'1st req ms':>10} {'exit ms':>9}"
    with tempfile.TemporaryDirectory(prefix="v4code-vs-peers-") as tmp:
        scratch = Path(tmp)
        counter = 0

        def work() -> Path:
            nonlocal counter
            counter += 1
            return scratch / f"run{counter}"

        if not args.pairs_only:
            print(f"median of {args.runs} runs; fake server in a child process, 4 scripted turns")
            print(header)
            for transport in ("stdlib", "sdk"):
                for cold in (True, False):
                    label = f"v4code {transport} {'cold' if cold else 'warm'}"
                    setup = v4code_setup(transport, cold, scratch)
                    runs = [
                        run_once(v4code_steps(), setup, work())
                        for _ in range(args.runs + (0 if cold else 1))
                    ]
                    summarise(label, runs if cold else runs[1:])
        codex = shutil.which("codex")
        if codex is None:
            print("codex is not on PATH: v4code's figures alone")
            print(f"load after: {loadavg()}")
            return
        version = subprocess.run([codex, "--version"], capture_output=True, text=True)
        contenders: dict[str, tuple[list[dict[str, Any]], Setup, dict[str, Any]]] = {
            "v4code warm": (
                v4code_steps(),
                v4code_setup("stdlib", False, scratch, args.sandbox),
                {},
            ),
            "codex": (codex_steps(), codex_setup(codex, args.sandbox), {"accepted_models": None}),
        }
        native = native_codex(codex)
        if native:
            contenders["codex (native binary)"] = (
                codex_steps(),
                codex_setup(native, args.sandbox),
                {"accepted_models": None},
            )
        print(
            f"\n{version.stdout.strip()}: {args.runs} rounds, each CLI once per round in turn "
            f"(after one unmeasured warm-up each), sandboxes {'on' if args.sandbox else 'off'}"
        )
        for steps, setup, server in contenders.values():
            run_once(steps, setup, work(), **server)
        results: dict[str, list[dict[str, float]]] = {label: [] for label in contenders}
        for round_ in range(args.runs):
            order = list(contenders.items())
            if round_ % 2:
                order.reverse()
            for label, (steps, setup, server) in order:
                results[label].append(run_once(steps, setup, work(), **server))
            walls = "  ".join(f"{label} {results[label][-1]['wall']:.2f}" for label in contenders)
            print(f"round {round_ + 1}: {walls}")
        print(header)
        medians = {label: summarise(label, runs) for label, runs in results.items()}
        mine = medians["v4code warm"]["wall"]
        for label in contenders:
            if label != "v4code warm":
                print(f"v4code warm / {label}, wall: {mine / medians[label]['wall']:.2f}")
    print(f"load after: {loadavg()}")


if __name__ == "__main__":
    main()
