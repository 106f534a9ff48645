"""Start-up time of `v4code --version` and `v4code --help` (median of repeated runs), and of
`v4code run` up to its first request reaching a local fake server (target < 300 ms).

Run by hand: `python bench/startup.py [-n 30]`. A bare `python -c pass` is measured in the same
run, side by side, so the figure can be read against this machine's interpreter start-up.
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

# As installed, Python keeps compiled bytecode; some CI images turn that off, which makes every
# start recompile v4code. Measure the installed case.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    subprocess.run(cmd, capture_output=True, check=True, env=ENV)  # warm caches, write bytecode
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=30)
    args = parser.parse_args()
    script = shutil.which("v4code")
    base = [script] if script else [sys.executable, "-m", "v4code"]
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("v4code --version", [*base, "--version"]),
        ("v4code --help", [*base, "--help"]),
        ("v4code run --help", [*base, "run", "--help"]),
    ]
    print(f"{'command':<22} {'median ms':>10} {'min ms':>8}   (runs={args.runs}, target < 150 ms)")
    for label, cmd in rows:
        median, best = measure(cmd, args.runs)
        print(f"{label:<22} {median:>10.1f} {best:>8.1f}")


def first_request(runs: int) -> tuple[float, float]:
    """Process start to the first chat request's arrival at the fake server, in ms."""
    import _common  # noqa: F401  (puts tests/ on sys.path)
    from fake_api import FakeDeepSeek, text

    times = []
    with tempfile.TemporaryDirectory(prefix="v4code-startup-") as tmp, FakeDeepSeek() as server:
        root = Path(tmp) / "repo"
        root.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        env = {
            **ENV,
            "DEEPSEEK_API_KEY": "sk-bench-0123456789",
            "DEEPSEEK_BASE_URL": server.base_url,
            "V4CODE_HOME": str(Path(tmp) / "home"),
        }
        cmd = [sys.executable, "-m", "v4code", "run", "say ok"]
        for i in range(runs + 1):  # the first run writes bytecode
            server.reset()
            server.load([text("ok")])
            started = time.time()
            subprocess.run(cmd, cwd=root, env=env, capture_output=True, check=True)
            if i:
                times.append((server.chat_requests[0].arrived - started) * 1000)
    return statistics.median(times), min(times)


def main_first_request() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-n", "--runs", type=int, default=30)
    runs = max(parser.parse_known_args()[0].runs // 3, 3)  # each run is a whole `v4code run`
    median, best = first_request(runs)
    print(f"{'run: start to 1st req':<22} {median:>10.1f} {best:>8.1f}   (target < 300 ms)")


if __name__ == "__main__":
    main()
    main_first_request()
