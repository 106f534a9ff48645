"""Start-up time of `v4code --version` and `v4code --help` (median of repeated runs).

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
import time

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


if __name__ == "__main__":
    main()
