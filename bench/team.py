"""V4 as a team: what routing between Flash and Pro costs, and what it does to the prompt cache.

- Cost: the fixed 20-step scenario of bench/team_scenario.py (explore, fail the tests three
  times, fix) run through the real command line (`python -m v4code run -o json`) against the
  test server, once each with `--model auto`, `--model deepseek-v4-pro` and
  `--model deepseek-flash`. Each request's usage, as the server recorded it, is priced with the
  configured prices (v4code.pricing.cost_of at a fixed off-peak and a fixed peak moment: the
  command line prices by the wall clock, so the bench runs it with `V4CODE_PEAK_MULTIPLIER=1`,
  which makes its own `cost_usd` the off-peak figure, and checks the two agree).
- Cache: per role (the main loop on Flash, on Pro), the share of prompt tokens the server's
  per-model prefix cache served, against the role's ceiling (every prompt token but the role's
  first prompt's, which no cache can serve); and the switches that broke the cache (the first
  request to the new model hit nothing).
- The API-rule violations the test server recorded (must be 0).
- Parallel: three `task` calls in one step (needs the `task` tool: see `parallel`).

Run by hand: `python bench/team.py [--json] [--sandbox]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
import team_scenario as sc
from fake_api import start_subprocess_server

from v4code.backends.openai_compat import wire_usage
from v4code.config import Settings
from v4code.pricing import cost_of
from v4code.types import Usage

FLASH, PRO, AUTO = "deepseek-flash", "deepseek-v4-pro", "auto"
SETTINGS = (AUTO, PRO, FLASH)
OFF_PEAK = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)  # a Monday, 12:00 UTC
PEAK = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)  # a Monday, 08:00 UTC
TARGET = 0.5  # auto at most half of Pro-only


@dataclass
class Request:
    model: str
    usage: Usage
    summary: bool = False  # the summary asked for at a switch (compact_on_switch)


@dataclass
class Run:
    setting: str
    requests: list[Request]
    result: dict[str, Any]
    violations: list[str]
    usd: dict[str, float] = field(default_factory=dict)  # "off-peak" / "peak"


def _env(base_url: str, home: Path, sandbox: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("V4CODE_", "DEEPSEEK_"))}
    env.update(
        {
            "DEEPSEEK_API_KEY": "sk-bench-0123456789",
            "DEEPSEEK_BASE_URL": base_url,
            "V4CODE_HOME": str(home),
            "V4CODE_SANDBOX": "true" if sandbox else "false",
            "V4CODE_PEAK_MULTIPLIER": "1",  # the command line's cost_usd: off-peak at any hour
        }
    )
    return env


def run_scenario(setting: str, work: Path, sandbox: bool = False, thinking: int = 1400) -> Run:
    """The scenario through the real command line with `--model setting`; what the server
    received and the command's json result. Raises when the task was not done as scripted."""
    repo = sc.make_repo(work / "repo")
    steps = sc.scenario(thinking, compact_on_switch=setting == AUTO)
    fake = start_subprocess_server(steps, work / "server")
    cmd = [sys.executable, "-m", "v4code", "run", "-o", "json", "--model", setting, sc.TASK]
    try:
        done = subprocess.run(
            cmd,
            cwd=repo,
            env=_env(fake.base_url, work / "home", sandbox),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        recorded, violations = fake.stop()
    posts = [r for r in recorded if r["method"] == "POST"]
    requests = [
        Request(r["body"]["model"], wire_usage(r.get("usage") or {}), i > 0 and _asks(r["body"]))
        for i, r in enumerate(posts)
    ]
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {}
    fixed = (repo / "ledger/discounts.py").read_text().count(sc.FIXED) == 1
    # The last prompt holds every test run's output: three failures, then passes.
    seen = json.dumps(posts[-1]["body"]) if posts else ""
    runs = (len(re.findall(r"\d+ failed, \d+ passed in ", seen)), seen.count("4 passed in "))
    if done.returncode != 0 or len(posts) != len(steps) or not fixed or runs != (3, 2):
        raise RuntimeError(
            f"--model {setting}: exit {done.returncode}, {len(posts)} of {len(steps)} requests, "
            f"fixed={fixed}, test runs failed/passed {runs}, violations {violations[:3]}: "
            f"{done.stderr[-1500:]}"
        )
    return Run(setting, requests, result, violations)


def _asks(body: dict[str, Any]) -> bool:
    """A request that ends with a user message after the first: the summary at a switch (in
    this one-turn scenario every main-loop request after the first ends with tool results)."""
    messages = body.get("messages") or []
    return bool(messages) and messages[-1].get("role") == "user"


def _cost(request: Request, settings: Settings, moment: datetime) -> float:
    return cost_of(
        request.usage,
        request.model,
        settings.prices,
        at=moment,
        peak_multiplier=settings.peak_multiplier,
    )


def price(run: Run, settings: Settings) -> None:
    """Each request at its own model's configured price, off-peak and peak."""
    for label, moment in (("off-peak", OFF_PEAK), ("peak", PEAK)):
        run.usd[label] = sum(_cost(r, settings, moment) for r in run.requests)


def per_model(run: Run) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in run.requests:
        counts[r.model] = counts.get(r.model, 0) + 1
    return counts


def cache_roles(run: Run) -> list[dict[str, Any]]:
    """Per role (the main loop on one model): prompt and hit tokens, the hit share and its
    ceiling (all prompt tokens but the role's first prompt's)."""
    roles: list[dict[str, Any]] = []
    for model in dict.fromkeys(r.model for r in run.requests):
        mine = [r.usage for r in run.requests if r.model == model]
        prompt = sum(u.prompt_tokens for u in mine)
        hits = sum(u.cache_hit_tokens for u in mine)
        ceiling = (prompt - mine[0].prompt_tokens) / prompt if prompt else 0.0
        share = hits / prompt if prompt else 0.0
        roles.append(
            {
                "role": f"main on {model}",
                "requests": len(mine),
                "prompt_tokens": prompt,
                "hit_tokens": hits,
                "first_prompt": mine[0].prompt_tokens,
                "share": round(share, 4),
                "ceiling": round(ceiling, 4),
                "of_ceiling": round(share / ceiling, 4) if ceiling else 0.0,
            }
        )
    return roles


def cache_breaking_switches(run: Run) -> int:
    """Changes of model between two requests where the new model's cache served nothing."""
    pairs = zip(run.requests, run.requests[1:], strict=False)
    return sum(1 for a, b in pairs if a.model != b.model and b.usage.cache_hit_tokens == 0)


def first_switched(run: Run) -> int | None:
    """The scenario step (0-based) of the first request to a model other than the first
    request's (the summary at the switch is not a step)."""
    steps = [r.model for r in run.requests if not r.summary]
    return next((i for i, m in enumerate(steps) if m != steps[0]), None)


def step_index(run: Run, step: int) -> int:
    """The index in `run.requests` of scenario step `step` (0-based)."""
    return [i for i, r in enumerate(run.requests) if not r.summary][step]


def summaries(run: Run, settings: Settings) -> list[dict[str, Any]]:
    """The summaries asked for at a switch: model, prompt and hit tokens, off-peak USD."""
    return [
        {
            "model": r.model,
            "prompt_tokens": r.usage.prompt_tokens,
            "hit_tokens": r.usage.cache_hit_tokens,
            "completion_tokens": r.usage.completion_tokens,
            "usd_off_peak": round(_cost(r, settings, OFF_PEAK), 6),
        }
        for r in run.requests
        if r.summary
    ]


def breakdown(run: Run, settings: Settings, step: int) -> dict[str, float]:
    """Off-peak USD of a run in three parts: before scenario step `step` (a summary at the
    switch included), that step's request (the new model's cold one, after a switch) and
    after it."""
    first = step_index(run, step)
    parts = {
        "before": run.requests[:first],
        "cold": run.requests[first : first + 1],
        "after": run.requests[first + 1 :],
    }
    return {
        name: round(sum(_cost(r, settings, OFF_PEAK) for r in rs), 6) for name, rs in parts.items()
    }


def figures(runs: list[Run], settings: Settings) -> dict[str, Any]:
    """Everything the bench reports, as data (printed, or as json with --json)."""
    out: dict[str, Any] = {"runs": {}}
    for run in runs:
        prompts = [r.usage.prompt_tokens for r in run.requests]
        out["runs"][run.setting] = {
            "usd": {k: round(v, 6) for k, v in run.usd.items()},
            "cli_cost_usd": run.result.get("cost_usd"),
            "requests": per_model(run),
            "models": [r.model for r in run.requests],
            "switches": len(run.result.get("switches") or []),
            "switch_steps": [
                f"step {s.get('step')}, {s.get('signal')}" for s in run.result.get("switches") or []
            ],
            "cache_breaking_switches": cache_breaking_switches(run),
            "cache": cache_roles(run),
            "prompt_tokens": {"first": prompts[0], "last": prompts[-1], "total": sum(prompts)},
            "prompt_tokens_by_step": [r.usage.prompt_tokens for r in run.requests if not r.summary],
            "completion_tokens": sum(r.usage.completion_tokens for r in run.requests),
            "violations": run.violations,
            "summaries": summaries(run, settings),
        }
    switched = {r.setting: first_switched(r) for r in runs}
    at = switched.get(AUTO)
    out["switch_step"] = None if at is None else at + 1  # the new model's first step
    for run in runs:  # Pro-only cut where auto switched: what a warm switch would cost
        if at is not None and run.setting in (AUTO, PRO):
            out["runs"][run.setting]["off_peak_parts"] = breakdown(run, settings, at)
    by = out["runs"]
    if AUTO in by and PRO in by:
        out["auto_over_pro"] = {
            k: round(by[AUTO]["usd"][k] / by[PRO]["usd"][k], 4) for k in ("off-peak", "peak")
        }
    out["violations"] = sum(len(r.violations) for r in runs)
    return out


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.6f}"


def report_cost(data: dict[str, Any]) -> None:
    print(
        "Cost: 20 steps (explore 1-8; edit + tests failing 9-12; fix + pass 13-20), "
        f"{data['thinking_chars']} characters of reasoning per answer"
    )
    print(
        f"{'--model':<16} {'off-peak $':>11} {'peak $':>9} {'cli $':>9}  {'switches':>8}  requests"
    )
    for setting, r in data["runs"].items():
        counts = ", ".join(f"{m} {n}" for m, n in r["requests"].items())
        at = f" ({'; '.join(r['switch_steps'])})" if r["switch_steps"] else ""
        print(
            f"{setting:<16} {r['usd']['off-peak']:>11.6f} {r['usd']['peak']:>9.6f} "
            f"{_usd(r['cli_cost_usd']):>9}  {r['switches']:>8}  {counts}{at}"
        )
    if "auto_over_pro" in data:
        ratio = data["auto_over_pro"]
        verdict = "met" if max(ratio.values()) <= TARGET else "NOT met"
        print(
            f"auto / Pro-only: {ratio['off-peak']:.3f}x off-peak, {ratio['peak']:.3f}x peak "
            f"(target <= {TARGET}x: {verdict})"
        )
    for setting, r in data["runs"].items():
        if "off_peak_parts" in r:
            parts, step = r["off_peak_parts"], data["switch_step"]
            summary = " and the summary" if r["summaries"] else ""
            print(
                f"{setting}, off-peak: ${parts['before']:.6f} steps 1-{step - 1}{summary}, "
                f"${parts['cold']:.6f} step {step}, ${parts['after']:.6f} steps {step + 1}-"
                f"{sc.STEPS}"
            )
    if PRO in data["runs"] and "off_peak_parts" in data["runs"][PRO]:
        auto, pro = data["runs"][AUTO], data["runs"][PRO]
        warm = auto["off_peak_parts"]["before"] - sum(c["usd_off_peak"] for c in auto["summaries"])
        warm += pro["off_peak_parts"]["cold"] + pro["off_peak_parts"]["after"]
        print(
            f"auto's floor, Flash's steps 1-{data['switch_step'] - 1} and Pro-only's steps "
            f"{data['switch_step']}-{sc.STEPS} on its warm cache (not possible: each model has "
            f"its own cache): ${warm:.6f}, {warm / pro['usd']['off-peak']:.3f}x Pro-only off-peak"
        )


def report_cache(data: dict[str, Any]) -> None:
    print("\nCache: hit share per role against its ceiling (all but the role's first prompt)")
    print(f"{'--model':<16} {'role':<24} {'req':>3} {'prompt tok':>10} {'hit tok':>9} "
          f"{'share':>6} {'ceiling':>7} {'of ceil':>7}")  # fmt: skip
    for setting, r in data["runs"].items():
        for c in r["cache"]:
            print(
                f"{setting:<16} {c['role']:<24} {c['requests']:>3} {c['prompt_tokens']:>10,} "
                f"{c['hit_tokens']:>9,} {c['share']:>6.1%} {c['ceiling']:>7.1%} "
                f"{c['of_ceiling']:>7.1%}"
            )
    sizes = ", ".join(f"{n} {len(t) / 1000:.1f} KB" for n, t in sc.FILES.items() if len(t) > 2000)
    print(f"files read: {sizes}")
    report_compaction(data)
    for setting, r in data["runs"].items():
        p = r["prompt_tokens"]
        print(
            f"{setting}: cache-breaking switches {r['cache_breaking_switches']}; prompt tokens "
            f"step 1 {p['first']:,}, step 20 {p['last']:,}, total {p['total']:,}; "
            f"completion tokens {r['completion_tokens']:,}"
        )
    print(f"\nAPI-rule violations recorded by the test server: {data['violations']}")
    for setting, r in data["runs"].items():
        for violation in r["violations"]:
            print(f"  {setting}: {violation}")


def report_compaction(data: dict[str, Any]) -> None:
    """The summaries written at a switch (`compact_on_switch`), and what the new model's first
    prompt carried against Pro-only's at the same step."""
    said = False
    for setting, r in data["runs"].items():
        for c in r["summaries"]:
            said = True
            first = r["cache"][-1]["first_prompt"]  # the new model's first prompt
            pro = data["runs"].get(PRO)
            versus = ""
            if pro and data["switch_step"]:
                same = pro["prompt_tokens_by_step"][data["switch_step"] - 1]
                versus = f" (Pro-only's prompt at that step: {same:,})"
            print(
                f"compaction at the switch ({setting}): 1 summary on {c['model']}, prompt "
                f"{c['prompt_tokens']:,} tokens ({c['hit_tokens']:,} cache hits), "
                f"{c['completion_tokens']:,} completion tokens, ${c['usd_off_peak']:.6f} off-peak; "
                f"the new model's first prompt {first:,} tokens{versus}"
            )
    if not said:
        print("compaction: none (every request was one of the 20 scripted main-loop steps)")


def parallel(work: Path) -> int:
    """The parallel part (`team_parallel.py`); the violations it saw."""
    import team_parallel as tp

    one = tp.run_parallel(1, work / "one")
    three = tp.run_parallel(3, work / "three")
    tp.report(one, three)
    return len(one.violations) + len(three.violations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as json")
    parser.add_argument("--sandbox", action="store_true", help="run commands in the sandbox")
    parser.add_argument(
        "--model",
        action="append",
        choices=SETTINGS,
        help="only these --model settings (repeatable; default: all three)",
    )
    parser.add_argument(
        "--thinking",
        type=int,
        default=1400,
        help="characters of reasoning per answer (about a quarter as many tokens)",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="v4code-team-") as tmp:
        runs = [
            run_scenario(s, Path(tmp) / s, args.sandbox, args.thinking)
            for s in args.model or SETTINGS
        ]
    for run in runs:
        price(run, settings)
    data = figures(runs, settings)
    data["thinking_chars"] = args.thinking
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        report_cost(data)
        report_cache(data)
        with tempfile.TemporaryDirectory(prefix="v4code-team-") as tmp:
            if parallel(Path(tmp)):
                return 1
    return 1 if data["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
