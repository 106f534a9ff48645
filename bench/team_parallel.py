"""The parallel part of `team.py`: three `task` calls in one step against one.

Each child takes four responses of 1 s latency (three file reads, then its report), so a child
alone takes about 4 s; three children run one after another would take about 12 s. The figure
is the children's span (the parent's `task` step answered to the parent's next request) for
three against one, from the server's own arrival times, beside the whole command's wall time.
The parent's context may grow by its own call message and the reports, nothing of the
children's transcripts or reasoning: the bench checks that from the parent's next request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server, text, tool_call, tool_calls

LATENCY = 1.0
TASK = "Survey the repository: delegate one brief per module."


@dataclass
class Parallel:
    children: int
    wall: float  # the whole command, seconds
    span: float  # the parent's task step answered -> the parent's next request, seconds
    growth: int  # characters the parent's next request adds to its first one
    calls: int  # of which the parent's own message with the `task` calls
    reports: int  # of which the children's reports (the rest: each tool message's envelope)
    transcript_leaked: bool  # a child's reasoning or file reads in the parent's messages
    models: dict[str, int]
    violations: list[str]


def _repo(where: Path) -> Path:
    where.mkdir(parents=True)
    for name in ("a", "b", "c"):
        (where / f"{name}.py").write_text(f"{name.upper()} = {'x' * 2000!r}\n")
    subprocess.run(["git", "init", "-q"], cwd=where, check=True)
    return where


def _child(x: str) -> list[dict[str, Any]]:
    reads = [
        {
            **tool_call("read_file", reasoning=f"CHILD-THINKING-{x}{i}", path=f"{f}.py"),
            "hang": LATENCY,
        }
        for i, f in enumerate("abc")
    ]
    report = f"REPORT-{x}: the three modules define one constant each."
    return [*reads, {**text(report, reasoning=f"CHILD-THINKING-{x}"), "hang": LATENCY}]


def run_parallel(children: int, work: Path) -> Parallel:
    """`v4code run -o json` whose first step calls `task` `children` times."""
    repo = _repo(work / "repo")
    names = "ABC"[:children]
    briefs = [f"BRIEF-{x}: read a.py, b.py and c.py and say what they define." for x in names]
    steps = [tool_calls([("task", {"brief": b}) for b in briefs]), text("All reports are in.")]
    routes = {f"BRIEF-{x}": _child(x) for x in names}
    fake = start_subprocess_server(steps, work / "server", routes=routes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("V4CODE_", "DEEPSEEK_"))}
    env |= {
        "DEEPSEEK_API_KEY": "sk-bench-0123456789",
        "DEEPSEEK_BASE_URL": fake.base_url,
        "V4CODE_HOME": str(work / "home"),
        "V4CODE_SANDBOX": "false",
    }
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "v4code", "run", "-o", "json", TASK],
            cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        wall = time.monotonic() - started
        recorded, violations = fake.stop()
    return _figures(children, wall, done, recorded, violations)


def _first_user(request: dict[str, Any]) -> str:
    messages = request["body"].get("messages") or []
    return next((m["content"] for m in messages if m["role"] == "user"), "")


def _figures(
    children: int,
    wall: float,
    done: subprocess.CompletedProcess[str],
    recorded: list[dict[str, Any]],
    violations: list[str],
) -> Parallel:
    posts = [r for r in recorded if r["method"] == "POST"]
    parent = [r for r in posts if _first_user(r) == TASK]
    if done.returncode != 0 or len(parent) != 2 or len(posts) != 2 + 4 * children:
        raise RuntimeError(f"{children} children: exit {done.returncode}: {done.stderr[-1500:]}")
    first, follow = (json.dumps(r["body"]["messages"]) for r in parent)
    added = parent[1]["body"]["messages"][len(parent[0]["body"]["messages"]) :]
    results = [m["content"] for m in added if m["role"] == "tool"]
    calls = sum(len(json.dumps(m)) for m in added if m["role"] == "assistant")
    models: dict[str, int] = {}
    for r in posts:
        models[r["body"]["model"]] = models.get(r["body"]["model"], 0) + 1
    return Parallel(
        children=children,
        wall=wall,
        span=parent[1]["arrived"] - parent[0]["arrived"],
        growth=len(follow) - len(first),
        calls=calls,
        reports=sum(len(r) for r in results),
        transcript_leaked="CHILD-THINKING" in follow or "xxxx" in follow,
        models=models,
        violations=violations,
    )


def report(one: Parallel, three: Parallel) -> None:
    ratio = three.span / one.span
    print("\nParallel: three `task` calls in one step against one; each child 4 responses of 1 s")
    print("growth: characters the parent's context gains = its call message + reports + envelopes")
    head = f"{'children':>8} {'span s':>7} {'wall s':>7} {'growth':>7} {'calls':>6} {'reports':>8}"
    print(f"{head}  requests")
    for p in (one, three):
        models = ", ".join(f"{m} {n}" for m, n in sorted(p.models.items()))
        row = f"{p.children:>8} {p.span:>7.2f} {p.wall:>7.2f} {p.growth:>7} {p.calls:>6}"
        print(f"{row} {p.reports:>8}  {models}")
    verdict = "met" if ratio <= 1.3 else "NOT met"
    print(f"span, three / one: {ratio:.2f}x (target <= 1.3x: {verdict}; one after another: 3x)")
    leaked = one.transcript_leaked or three.transcript_leaked
    print(f"a child's transcript or reasoning in the parent's context: {'yes' if leaked else 'no'}")
    print(f"API-rule violations across both models: {len(one.violations) + len(three.violations)}")
