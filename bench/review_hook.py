"""Wall time of `git commit` with v4code's pre-commit hook, for a 300-line staged diff.

Against the fake DeepSeek server (a child process) on loopback. Reported side by side in one
run: `git commit --no-verify` (git alone), the commit with the hook on a new diff (one API
call), the commit with the hook on an unchanged diff (a review-cache hit), and the server's own
time for the same request, timed directly. v4code's overhead = hook commit - git alone - server.
Run by hand: `python bench/review_hook.py [-n 5]`. Targets: < 300 ms, < 100 ms on a cache hit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server, tool_call

REPORT = tool_call("report_findings", findings=[], summary="fine")


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def source(variant: int) -> str:
    lines = [
        f"def function_{i}(value):\n    return value * {i} + {variant}\n\n" for i in range(100)
    ]
    return "".join(lines)  # 300 lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=5)
    args = parser.parse_args()
    n = args.runs
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        root = tmp_path / "repo"
        root.mkdir()
        server = start_subprocess_server([REPORT] * (n + 1 + n), tmp_path / "server")
        env = {**os.environ, "V4CODE_HOME": str(tmp_path / "home"), "DEEPSEEK_API_KEY": "sk-bench",
               "DEEPSEEK_BASE_URL": server.base_url}  # fmt: skip
        # As installed, Python keeps compiled bytecode; some CI images turn that off, which
        # makes every start recompile v4code (about +80 ms). Measure the installed case.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        git(root, "init", "-q")
        git(root, "config", "user.email", "b@example.com")
        git(root, "config", "user.name", "Bench")
        (root / "README").write_text("x\n")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
        subprocess.run(
            [sys.executable, "-m", "v4code", "hook", "install"],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )

        def stage(variant: int) -> None:
            (root / "mod.py").write_text(source(variant))
            git(root, "add", "mod.py")

        plain, hooked, cached = [], [], []
        for i in range(n):
            stage(1000 + i)
            plain.append(git(root, "commit", "-qm", "plain", "--no-verify", env=env))
            git(root, "reset", "-q", "--soft", "HEAD~1")
        stage(0)
        git(root, "commit", "-qm", "warm", env=env)  # warm the file cache and pip's bytecode
        for i in range(n):
            stage(i + 1)
            hooked.append(git(root, "commit", "-qm", f"hook {i}", env=env))
            git(root, "reset", "-q", "--soft", "HEAD~1")  # same staged diff again: a cache hit
            cached.append(git(root, "commit", "-qm", f"cached {i}", env=env))
        requests = [r for r in server.state()["requests"] if r["method"] == "POST"]
        body = json.dumps(requests[-1]["body"]).encode()
        server_times = []
        for _ in range(n):
            req = urllib.request.Request(f"{server.base_url}/chat/completions", data=body,
                                         headers={"Authorization": "Bearer sk-bench", "Content-Type": "application/json"})  # fmt: skip
            start = time.perf_counter()
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
                resp.read()
            server_times.append(time.perf_counter() - start)
        server.allow_leftover = True
        server.stop()

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    git_ms, hook_ms, hit_ms, srv_ms = ms(plain), ms(hooked), ms(cached), ms(server_times)
    print(f"300-line staged diff, median of {n} runs")
    print(f"git commit --no-verify           {git_ms:8.1f} ms")
    print(f"git commit with hook (API call)  {hook_ms:8.1f} ms")
    print(f"git commit with hook (cache hit) {hit_ms:8.1f} ms")
    print(f"server time for the request      {srv_ms:8.1f} ms")
    print(f"v4code overhead, API call:  {hook_ms - git_ms - srv_ms:8.1f} ms   (target < 300 ms)")
    print(f"v4code overhead, cache hit: {hit_ms - git_ms:8.1f} ms   (target < 100 ms)")


if __name__ == "__main__":
    main()
