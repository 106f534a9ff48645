"""Start-up time of `v4code --version`, `v4code --help` and `v4code run --help` (median ms),
and of `v4code run` up to its first request reaching a local fake server (target < 300 ms).

Run by hand: `python bench/startup.py [-n 30] [--against OTHER_V4CODE]`. A bare `python -c pass`
is measured in the same run, side by side, so the figure can be read against this machine's
interpreter start-up. `--against` names a second `v4code` executable (say, an install of an
earlier commit in its own venv); the two are run alternately, so load from other processes
falls on both alike. The CPU column (user + system time of the child, median) moves much less
than wall time when other processes share the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
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
TARGET_MS = 80
ARGS = (["--version"], ["--help"], ["run", "--help"])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `cmd`."""
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, env=ENV)
    return time.perf_counter() - start, _cpu() - cpu


def measure(cmds: list[list[str]], runs: int) -> list[tuple[float, float, float]]:
    """(median ms, min ms, median CPU ms) of each command, the commands run in turn each round."""
    for cmd in cmds:
        timed(cmd)  # warm caches, write bytecode
    times: list[list[tuple[float, float]]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            times[i].append(timed(cmd))
    return [
        (
            statistics.median(w for w, _ in t) * 1000,
            min(w for w, _ in t) * 1000,
            statistics.median(c for _, c in t) * 1000,
        )
        for t in times
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=30)
    parser.add_argument("--against", metavar="V4CODE", help="Another v4code executable to compare.")
    args = parser.parse_args()
    script = shutil.which("v4code")
    base = [script] if script else [sys.executable, "-m", "v4code"]
    columns = [("this", base)] + ([("against", [args.against])] if args.against else [])
    header = "".join(f" {name + ' median':>15} {'min':>7} {'cpu':>7}" for name, _ in columns)
    print(f"{'command':<22}{header}   (ms, runs={args.runs}, target < {TARGET_MS} ms)")
    rows = [("python -c pass", [[sys.executable, "-c", "pass"]] * len(columns))]
    rows += [(f"v4code {' '.join(a)}", [[*exe, *a] for _, exe in columns]) for a in ARGS]
    for label, cmds in rows:
        cells = measure(cmds, args.runs)
        print(f"{label:<22}" + "".join(f" {m:>15.1f} {b:>7.1f} {c:>7.1f}" for m, b, c in cells))


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
