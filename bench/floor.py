"""v4code's overhead against the floor, on `vs_peers.py`'s fix-a-bug task (read, edit,
`python -m pytest -q`, finish) against the same instant local server.

The floor is `floor_agent.py`: one plain Python process that sends the same four requests
(the system prompt, task and tool schemas of v4code's own first request) and runs the same
pytest, and does nothing else. v4code runs warm (bytecode written) with its sandbox off and
on (`V4CODE_SANDBOX`), the floor beside it, the three in turn each round (the order flips every
round, so load from other processes falls on all alike), after one unmeasured run each. Each
figure is the median of the rounds; the ratio is v4code's median wall time over the floor's,
and the median of the per-round ratios beside it.

`--against DIR` adds a second v4code, the source checkout in DIR (say, of an earlier commit:
`git worktree add DIR COMMIT`), run by the same interpreter with `PYTHONPATH=DIR`, in the same
rounds: before and after side by side, each against the same floor.

Run by hand: `python bench/floor.py [-n 7] [--against DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server
from vs_peers import Setup, loadavg, make_repo, run_once, summarise, v4code_setup, v4code_steps

FLOOR_AGENT = Path(__file__).resolve().with_name("floor_agent.py")
HEADER = f"{'':<24} {'wall s':>7} {'CPU s':>7} {'RSS MB':>8} {'1st req ms':>10} {'exit ms':>9}"


def first_request(setup: Setup, work: Path) -> dict[str, Any]:
    """The body of the first request v4code sends on the task: the floor sends the same."""
    repo = make_repo(work / "repo")
    fake = start_subprocess_server(v4code_steps(), work / "server")
    fake.allow_leftover = True
    cmd, env = setup(fake.base_url, work)
    try:
        subprocess.run(cmd, cwd=repo, env=env, capture_output=True, check=True)
    finally:
        requests, _ = fake.stop()
    body: dict[str, Any] = next(r["body"] for r in requests if r["method"] == "POST")
    return body


def from_tree(setup: Setup, tree: str) -> Setup:
    """`setup`, with v4code imported from the checkout in `tree`."""

    def with_tree(base_url: str, work: Path) -> tuple[list[str], dict[str, str]]:
        cmd, env = setup(base_url, work)
        return cmd, {**env, "PYTHONPATH": tree}

    return with_tree


def floor_setup(prefix: Path) -> Setup:
    def setup(base_url: str, work: Path) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return [sys.executable, str(FLOOR_AGENT), base_url, str(prefix)], env

    return setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=7)
    parser.add_argument("--against", metavar="DIR", help="another v4code checkout to time too")
    args = parser.parse_args()
    print(f"load before: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="v4code-floor-") as tmp:
        scratch = Path(tmp)
        works = (scratch / f"run{i}" for i in range(10**6))
        prefix = scratch / "prefix.json"
        plain = v4code_setup("stdlib", False, scratch, sandbox=False)
        prefix.write_text(json.dumps(first_request(plain, next(works))))
        contenders: dict[str, Setup] = {
            "floor (plain python)": floor_setup(prefix),
            "v4code, no sandbox": plain,
            "v4code, sandbox": v4code_setup("stdlib", False, scratch, sandbox=True),
        }
        if args.against:
            tree = str(Path(args.against).resolve())
            contenders["against, no sandbox"] = from_tree(plain, tree)
            contenders["against, sandbox"] = from_tree(
                v4code_setup("stdlib", False, scratch, sandbox=True), tree
            )
        for setup in contenders.values():
            run_once(v4code_steps(), setup, next(works))  # bytecode, caches
        results: dict[str, list[dict[str, float]]] = {label: [] for label in contenders}
        for round_ in range(args.runs):
            order = list(contenders.items())
            if round_ % 2:
                order.reverse()
            for label, setup in order:
                results[label].append(run_once(v4code_steps(), setup, next(works)))
            walls = "  ".join(f"{label} {runs[-1]['wall']:.3f}" for label, runs in results.items())
            print(f"round {round_ + 1}: {walls}")
    print(f"\nmedian of {args.runs} rounds; fake server in a child process, 4 scripted turns")
    print(HEADER)
    medians = {label: summarise(label, runs) for label, runs in results.items()}
    floor = results["floor (plain python)"]
    for label in [name for name in contenders if not name.startswith("floor")]:
        pairs = [r["wall"] / f["wall"] for r, f in zip(results[label], floor, strict=True)]
        ratio = medians[label]["wall"] / medians["floor (plain python)"]["wall"]
        print(
            f"{label} / floor, wall: {ratio:.2f} (median of per-round ratios "
            f"{statistics.median(pairs):.2f})"
        )
    print(f"load after: {loadavg()}")


if __name__ == "__main__":
    main()
