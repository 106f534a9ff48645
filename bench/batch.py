"""`v4code batch run` at scale: 40 units over a generated repository, against the test server.

Run by hand: `python bench/batch.py [--units 40] [--jobs 1,4] [--no-resume]`. Each unit's agent
(scripted: one edit, then "done") runs as a child process in its own worktree, and `--verify`
runs real pytest on the unit's test. Reported per -j: wall time, v4code's own overhead per unit
(worktree create + commit + bookkeeping, from the state files, plus teardown measured by
`batch clean`), peak RSS of the driver process; then the resume path: the driver is killed with
SIGKILL at a random point, resumed, and every unit must end green exactly once (one commit on
its branch, one finished attempt).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import FakeDeepSeek, text, tool_call

MODULE = "def value():\n    return 1\n"
TEST = "from pkg.{name} import value\n\n\ndef test_value():\n    assert value() == 2\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def build(root: Path, units: int) -> None:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "pkg").mkdir()
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for i in range(units):
        (root / "pkg" / f"m{i:02d}.py").write_text(MODULE)
        (root / "tests" / f"test_m{i:02d}.py").write_text(TEST.format(name=f"m{i:02d}"))
    git(root, "add", "-A")
    git(root, "-c", "user.name=B", "-c", "user.email=b@e", "commit", "-qm", "modules")


def script(server: FakeDeepSeek, names: list[str]) -> None:
    for name in names:
        path = f"pkg/{name}.py"
        server.route(
            path,
            [
                tool_call("edit_file", path=path, old_string="return 1", new_string="return 2"),
                text("Done."),
            ],
        )


def env_for(server: FakeDeepSeek, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "V4CODE_HOME": str(home),
        "DEEPSEEK_API_KEY": "sk-bench-0123456789",
        "DEEPSEEK_BASE_URL": server.base_url,
        "V4CODE_SANDBOX": "true" if shutil.which("bwrap") else "false",
    }


def drive(argv: list[str], cwd: Path, env: dict[str, str], kill_after: float | None = None
          ) -> tuple[float, int, bool]:  # fmt: skip
    """Run the driver; (wall seconds, peak RSS in KiB from /proc, killed?)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    peak = 0
    killed = False
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        if kill_after is not None and time.monotonic() - start >= kill_after:
            proc.kill()
            killed = True
        time.sleep(0.1)
    return time.monotonic() - start, peak, killed


def states(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(run_dir.glob("units/*/state.json"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--jobs", default="1,4")
    parser.add_argument("--no-resume", action="store_true")
    args = parser.parse_args()
    names = [f"m{i:02d}" for i in range(args.units)]
    verify = f"{sys.executable} -m pytest -q -p no:cacheprovider {{tests}}"
    with tempfile.TemporaryDirectory() as tmp, FakeDeepSeek() as server:
        work = Path(tmp)
        repo = work / "repo"
        build(repo, args.units)
        env = env_for(server, work / "home")
        manifest = work / "jobs.jsonl"
        subprocess.run([sys.executable, "-m", "v4code", "batch", "plan", "Make {path} return 2.",
                        "--each", "pkg/m*.py", "-o", str(manifest)], cwd=repo, env=env,
                       check=True, capture_output=True)  # fmt: skip
        base = git(repo, "rev-parse", "HEAD").strip()
        print(f"{args.units} units, verify: real pytest per unit; {os.cpu_count()} CPUs")
        for jobs in [int(j) for j in args.jobs.split(",")]:
            server.reset()
            script(server, names)
            run_dir = work / f"run-j{jobs}"
            argv = [sys.executable, "-m", "v4code", "batch", "run", str(manifest), "-j", str(jobs),
                    "--verify", verify, "--out", str(run_dir)]  # fmt: skip
            wall, rss, _ = drive(argv, repo, env)
            got = states(run_dir)
            green = sum(1 for s in got if s["status"] == "green")
            overhead = [float(s["overhead_s"]) for s in got]  # type: ignore[arg-type]
            agent = [float(s["duration_s"]) - float(s["overhead_s"]) for s in got]  # type: ignore[arg-type]
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "v4code", "batch", "clean", str(run_dir)],
                           cwd=repo, env=env, check=True, capture_output=True)  # fmt: skip
            teardown = (time.monotonic() - start) / len(got)
            print(
                f"-j {jobs}: {wall:6.1f} s wall, {green}/{len(got)} green; overhead per unit "
                f"median {statistics.median(overhead) * 1000:.0f} ms, max "
                f"{max(overhead) * 1000:.0f} ms (+ teardown {teardown * 1000:.0f} ms); "
                f"agent+verify median {statistics.median(agent):.2f} s; driver peak RSS "
                f"{rss / 1024:.0f} MiB"
            )
        if args.no_resume:
            return
        server.reset()
        script(server, names)
        run_dir = work / "run-resume"
        kill_at = random.uniform(3.0, 10.0)
        argv = [sys.executable, "-m", "v4code", "batch", "run", str(manifest), "-j", "4",
                "--verify", verify, "--out", str(run_dir)]  # fmt: skip
        _, _, killed = drive(argv, repo, env, kill_after=kill_at)
        before = {str(s["id"]): str(s["status"]) for s in states(run_dir)}
        done_before = [uid for uid, status in before.items() if status == "green"]
        server.reset()
        script(server, [uid.removeprefix("pkg-").removesuffix(".py")
                        for uid, status in before.items() if status != "green"])  # fmt: skip
        wall, _, _ = drive([sys.executable, "-m", "v4code", "batch", "run", "--resume",
                            str(run_dir)], repo, env)  # fmt: skip
        got = states(run_dir)
        once = all(
            s["status"] == "green"
            and git(repo, "rev-list", "--count", f"{base}..{s['branch']}").strip() == "1"
            and sum(1 for h in s["history"] if h["status"] == "green") == 1  # type: ignore[attr-defined,index]
            for s in got
        )
        redone = [s["id"] for s in got if s["id"] in done_before and s["attempts"] != 1]
        print(
            f"resume: driver {'killed' if killed else 'finished'} at {kill_at:.1f} s with "
            f"{len(done_before)} units green; resumed in {wall:.1f} s; every unit green exactly "
            f"once: {once}; finished units redone: {len(redone)}; leftover script steps: "
            f"{len(server.problems())}"
        )
        subprocess.run([sys.executable, "-m", "v4code", "batch", "clean", str(run_dir)],
                       cwd=repo, env=env, check=True, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
