"""The Python API's cost against `v4code run` on the same task (median ms of several runs).

Run by hand: `python bench/api_overhead.py [-n 9]`. One task (read calc.py, edit it, answer)
against the local fake server, each round in a fresh git repository, three ways alternately:
`v4code run -o json TASK` (a process), a process running `v4code.open_session(...).run(TASK)`,
and the API in this process (a warm interpreter: the session alone). The two processes differ
only in their front end, so their difference is the API's overhead against `run`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common  # (also puts tests/ on sys.path)
from fake_api import FakeDeepSeek, text, tool_call

TASK = "fix the add function in calc.py"
API_SCRIPT = (
    "import sys, v4code\n"
    "with v4code.open_session(sys.argv[1], permission_mode='full-auto') as s:\n"
    "    r = s.run(sys.argv[2])\n"
    "sys.exit(r.exit_code)\n"
)


def script() -> list[dict[str, object]]:
    return [
        tool_call("read_file", path="calc.py"),
        tool_call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),
        text("Fixed add."),
    ]


def fresh_repo(base: Path, n: int) -> Path:
    return _common.committed_repo(
        base / f"repo{n}", {"calc.py": "def add(a, b):\n    return a - b\n"}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=9, help="rounds (default 9)")
    runs = parser.parse_args().n
    with tempfile.TemporaryDirectory(prefix="v4code-api-") as tmp, FakeDeepSeek() as server:
        base = Path(tmp)
        env = os.environ | {
            "DEEPSEEK_API_KEY": "sk-bench-0123456789",
            "DEEPSEEK_BASE_URL": server.base_url,
            "V4CODE_HOME": str(base / "home"),
            "V4CODE_SANDBOX": "false",
            "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@b",
            "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@b",
        }
        os.environ.update(env)  # the in-process API reads the same settings
        exe = str(Path(sys.executable).with_name("v4code"))
        ways: dict[str, Callable[[Path], object]] = {
            "v4code run -o json": lambda root: subprocess.run(
                [exe, "run", "-o", "json", TASK], cwd=root, env=env, capture_output=True, check=True
            ),
            "API, own process": lambda root: subprocess.run(
                [sys.executable, "-c", API_SCRIPT, str(root), TASK],
                env=env,
                capture_output=True,
                check=True,
            ),
            "API, in process": _in_process,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        count = 0
        for _ in range(runs + 1):  # the first round warms caches and is dropped
            for name, way in ways.items():
                server.reset()
                server.load(script())
                root = fresh_repo(base, count := count + 1)
                start = time.perf_counter()
                way(root)
                times[name].append((time.perf_counter() - start) * 1000)
                assert "a + b" in (root / "calc.py").read_text(), name
        run_ms = statistics.median(times["v4code run -o json"][1:])
        print(f"{runs} rounds, median ms (min):")
        for name, t in times.items():
            med = statistics.median(t[1:])
            print(f"  {name:22} {med:7.1f} ({min(t[1:]):.1f})  {med - run_ms:+7.1f} vs run")


def _in_process(root: Path) -> None:
    import v4code

    with v4code.open_session(root, permission_mode="full-auto") as session:
        assert session.run(TASK).status == "done"


if __name__ == "__main__":
    main()
