"""The report of a run: counts, one row per unit, cost and tokens with the cache share, the
slowest and the most expensive units, and the failures grouped by cause."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import asdict
from typing import Any

from v4code.jobs.state import FINISHED, STATUSES, RunDir, UnitState
from v4code.textio import code_fence, counted, one_line, shown_lines

TOP = 5
VERIFY_LINES = 40
VERIFY_CHARS = 3000
"""How much of a red unit's verify output the markdown report quotes (its end)."""
NOT_GREEN = ("red", "unchanged", "error")


def cause(reason: str) -> str:
    """A failure's cause without the unit-specific detail (exit codes, numbers, paths)."""
    prefixed = reason.startswith(("agent ", "the agent changed nothing"))
    head = reason.split(":", 1)[0] if prefixed else reason
    return re.sub(r"\d+(\.\d+)?", "N", head).strip() or "unknown"


def summary(run_dir: RunDir) -> dict[str, Any]:
    info = run_dir.info()
    units = {u.id: u for u in run_dir.units()}
    states = run_dir.states()
    counts = Counter(s.status for s in states)
    prompt = sum(s.prompt_tokens for s in states)
    hits = sum(s.cache_hit_tokens for s in states)
    failures: dict[str, list[str]] = {}
    for s in states:
        if s.status in NOT_GREEN:
            failures.setdefault(cause(s.reason), []).append(s.id)
    finished = [s for s in states if s.duration_s]
    return {
        "run": info["id"],
        "created": info.get("created"),
        "units": len(states),
        "counts": {status: counts.get(status, 0) for status in STATUSES},
        "cost_usd": round(sum(s.cost_usd for s in states), 6),
        "tokens": {
            "prompt": prompt,
            "completion": sum(s.completion_tokens for s in states),
            "cache_hit": hits,
            "cache_hit_share": round(hits / prompt, 4) if prompt else 0.0,
        },
        "slowest": [s.id for s in sorted(finished, key=lambda s: -s.duration_s)[:TOP]],
        "most_expensive": [
            s.id for s in sorted(states, key=lambda s: -s.cost_usd)[:TOP] if s.cost_usd > 0
        ],
        "failures": failures,
        "rows": [
            {**_row(s), "repo": units[s.id].repo, "paths": list(units[s.id].paths)} for s in states
        ],
    }


def _row(s: UnitState) -> dict[str, Any]:
    data = asdict(s)
    data.pop("history")
    return data


def eta(states: list[UnitState], jobs: int) -> float | None:
    """Seconds left, from the mean duration of finished units (None until one finished)."""
    done = [s.duration_s for s in states if s.status in FINISHED and s.duration_s]
    left = sum(1 for s in states if s.status in ("pending", "running"))
    if not done or not left:
        return None
    return sum(done) / len(done) * left / max(1, jobs)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"  # ASCII: no control or bidi character raw


def to_markdown(data: dict[str, Any]) -> str:
    c = data["counts"]
    t = data["tokens"]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(data.get("created") or 0))
    lines = [
        f"# Batch run {data['run']} ({when})",
        "",
        f"{counted(data['units'], 'unit')}: {c['green']} green, {c['red']} red, "
        f"{c['unchanged']} unchanged, {c['error']} error, "
        f"{c['pending']} pending, {c['running']} running.",
        "",
        f"Cost ${data['cost_usd']:.4f}; {t['prompt']:,} prompt tokens "
        f"({t['cache_hit_share']:.0%} from cache), {t['completion']:,} completion tokens.",
        "",
        "| unit | status | cost | time | steps | change | reason |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in data["rows"]:
        change = _change(row["diffstat"])
        lines.append(
            f"| {row['id']} | {row['status']} | ${row['cost_usd']:.4f} | {row['duration_s']:.1f} s"
            f" | {row['steps']} | {_cell(change)} | {_cell(row['reason'])} |"
        )
    if data["slowest"]:
        lines += ["", "Slowest: " + ", ".join(data["slowest"])]
    if data["most_expensive"]:
        lines += ["", "Most expensive: " + ", ".join(data["most_expensive"])]
    if data["failures"]:
        lines += ["", "## Failures by cause", ""]
        for why, ids in sorted(data["failures"].items(), key=lambda kv: -len(kv[1])):
            lines.append(f"- {one_line(why)} ({len(ids)}): {', '.join(ids)}")
    lines += _verify_sections(data["rows"])
    return "\n".join(lines) + "\n"


def _verify_sections(rows: list[dict[str, Any]]) -> list[str]:
    """The end of each red unit's verify output (scrubbed when it was recorded), as written:
    control characters escaped, in a fence the output cannot close."""
    lines: list[str] = []
    for row in rows:
        output = str(row.get("verify_tail") or "").rstrip("\n")
        if row["status"] != "red" or not output:
            continue
        quoted = "\n".join(output.splitlines()[-VERIFY_LINES:])[-VERIFY_CHARS:]
        fence = code_fence(quoted)
        if not lines:
            lines += ["", "## Verify output of red units"]
        lines += ["", f"### {one_line(row['id'])}", "", fence, shown_lines(quoted), fence]
    return lines


def _change(diffstat: str) -> str:
    """A diffstat in one cell: the files when there are few, else its summary line."""
    lines = [line.strip() for line in diffstat.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    files = [line.split("|", 1)[0].strip() for line in lines[:-1]]
    if 0 < len(files) <= 3:
        return one_line(", ".join(files))
    return one_line(lines[-1])


def _cell(text: str) -> str:
    """A table cell: a failure's reason quotes what the agent or the tests printed."""
    return one_line(text.replace("|", "\\|").replace("\n", " ")[:120])


_COLOURS = {
    "green": "green",
    "red": "red",
    "unchanged": "yellow",
    "error": "magenta",
    "running": "yellow",
}


def _caption(run_dir: RunDir, states: list[UnitState], jobs: int) -> str:
    spent = sum(s.cost_usd for s in states)
    counts = Counter(s.status for s in states)
    left = eta(states, jobs)
    caption = (
        f"{counts['green']} green, {counts['red']} red, {counts['unchanged']} unchanged, "
        f"{counts['error']} error, "
        f"{counts['running']} running, {counts['pending']} pending; ${spent:.4f} so far"
        + (f"; about {left:.0f} s left" if left is not None else "")
    )
    if (counts["running"] or counts["pending"]) and not run_dir.is_driven():
        caption += f"; not running: continue with `v4code batch run --resume {run_dir.path}`"
    return caption


def _status_row(s: UnitState, now: float) -> list[Any]:
    from rich.text import Text

    took = s.duration_s or ((now - s.started) if s.status == "running" and s.started else 0)
    colour = _COLOURS.get(s.status, "")
    status = f"[{colour}]{s.status}[/]" if colour else s.status
    if s.attempts > 1:
        status += f" (try {s.attempts})"
    reason = s.reason
    if s.status == "unchanged":  # the status says it; the agent's own words follow
        reason = reason.removeprefix("the agent changed nothing").lstrip(": ")
    return [
        Text(one_line(s.id)),  # named after files: never markup, never escapes
        status,
        f"${s.cost_usd:.4f}",
        f"{took:.0f} s",
        Text(_change(s.diffstat)),
        Text(one_line(reason[:60])),
    ]


def status_table(run_dir: RunDir, jobs: int) -> Any:
    """A rich table of the units' states (with what each changed), with cost so far and the
    ETA in its caption; a reason is shown as written (never as rich markup) and on its line."""
    from rich import box
    from rich.table import Table

    states = run_dir.states()
    table = Table(
        title=f"batch run {run_dir.run_id}",
        caption=_caption(run_dir, states, jobs),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("unit", no_wrap=True)  # an id is what a person types back (--only)
    for column in ("status", "cost", "time"):
        table.add_column(column, no_wrap=True)
    # Widths follow the content (no ratios): a narrow terminal wraps the widest column first,
    # a long reason, rather than folding every path into pieces of a few letters.
    table.add_column("change", overflow="fold")
    table.add_column("reason")
    now = time.time()
    for s in states:
        table.add_row(*_status_row(s, now))
    return table
