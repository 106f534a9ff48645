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

`--codex` adds Codex CLI (its native binary when the npm package has one) with its sandbox
off, on the same task in its own tool vocabulary (as `vs_peers.py` runs it; `vs_peers.py
--sandbox` tries Codex's own sandbox, which needs its helper and user namespaces).

Run by hand: `python bench/floor.py [-n 7] [--against DIR] [--codex]`.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server
from vs_peers import (
    Setup,
    codex_setup,
    codex_steps,
    loadavg,
    make_repo,
    native_codex,
    run_once,
    summarise,
    v4code_setup,
    v4code_steps,
)

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


Contender = tuple[Callable[[], list[dict[str, Any]]], Setup, dict[str, Any]]
"""The scripted turns in the contender's tool vocabulary, its setup, the server's settings."""


def contenders_for(args: argparse.Namespace, scratch: Path, work: Path) -> dict[str, Contender]:
    """The floor and v4code (sandbox off and on); another checkout's and Codex CLI if asked."""
    prefix = scratch / "prefix.json"
    plain = v4code_setup("stdlib", False, scratch, sandbox=False)
    boxed = v4code_setup("stdlib", False, scratch, sandbox=True)
    prefix.write_text(json.dumps(first_request(plain, work)))
    found: dict[str, Contender] = {
        "floor (plain python)": (v4code_steps, floor_setup(prefix), {}),
        "v4code, no sandbox": (v4code_steps, plain, {}),
        "v4code, sandbox": (v4code_steps, boxed, {}),
    }
    if args.against:
        tree = str(Path(args.against).resolve())
        found["against, no sandbox"] = (v4code_steps, from_tree(plain, tree), {})
        found["against, sandbox"] = (v4code_steps, from_tree(boxed, tree), {})
    codex = shutil.which("codex") if args.codex else None
    if args.codex and codex is None:
        print("codex is not on PATH: no Codex CLI figures")
    if codex is not None:
        native = native_codex(codex) or codex
        found["codex, no sandbox"] = (codex_steps, codex_setup(native), {"accepted_models": None})
    return found


def timed_rounds(
    contenders: dict[str, Contender], runs: int, works: Iterator[Path]
) -> dict[str, list[dict[str, float]]]:
    """One unmeasured run each, then `runs` rounds, the order flipped every other round."""
    for steps, setup, server in contenders.values():
        run_once(steps(), setup, next(works), **server)  # bytecode, caches
    results: dict[str, list[dict[str, float]]] = {label: [] for label in contenders}
    for round_ in range(runs):
        order = list(contenders.items())
        if round_ % 2:
            order.reverse()
        for label, (steps, setup, server) in order:
            results[label].append(run_once(steps(), setup, next(works), **server))
        walls = "  ".join(f"{label} {done[-1]['wall']:.3f}" for label, done in results.items())
        print(f"round {round_ + 1}: {walls}")
    return results


def report(results: dict[str, list[dict[str, float]]], runs: int) -> None:
    print(f"\nmedian of {runs} rounds; fake server in a child process, 4 scripted turns")
    print(HEADER)
    medians = {label: summarise(label, done) for label, done in results.items()}
    floor = results["floor (plain python)"]
    for label in [name for name in results if not name.startswith("floor")]:
        pairs = [r["wall"] / f["wall"] for r, f in zip(results[label], floor, strict=True)]
        ratio = medians[label]["wall"] / medians["floor (plain python)"]["wall"]
        print(
            f"{label} / floor, wall: {ratio:.2f} (median of per-round ratios "
            f"{statistics.median(pairs):.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--runs", type=int, default=7)
    parser.add_argument("--against", metavar="DIR", help="another v4code checkout to time too")
    parser.add_argument("--codex", action="store_true", help="Codex CLI too, if on PATH")
    args = parser.parse_args()
    print(f"load before: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="v4code-floor-") as tmp:
        scratch = Path(tmp)
        works = (scratch / f"run{i}" for i in range(10**6))
        contenders = contenders_for(args, scratch, next(works))
        results = timed_rounds(contenders, args.runs, works)
    report(results, args.runs)
    print(f"load after: {loadavg()}")


if __name__ == "__main__":
    main()
