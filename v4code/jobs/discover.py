"""The discovery pass: a read-only agent proposes the units, one JSON line each.

It is one `v4code run --permission-mode read-only --output json` child process in the
repository (nothing there can be edited or run), asked to search (grep, find_symbol, the repo
map) and answer with lines `{"paths": [...], "reason": "..."}`. The prompt is seeded with the
files `locate` ranks highest for the task, so the search starts where the change most likely
applies. The answer is model output: every line is parsed defensively and paths are checked
by the planner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from v4code.errors import ConfigError, V4codeError
from v4code.jobs.unit import RunOptions, run_agent
from v4code.textio import one_line

PROMPT = """\
You are planning a batch refactor. Do not change anything: only read and search.
The change to make, later, one unit at a time:

{task}

Find every place in this repository the change applies to (search with grep{locate}), and
group them into independent units of work, usually one file each. Answer with JSON lines only,
one unit a line, and nothing else:
{{"paths": ["relative/path.py"], "reason": "one line: why this unit needs the change"}}
{seeds}"""

SEEDS = """
Files ranked most relevant to the change by name and content (a starting point: check each,
and look beyond them):
{files}
"""
SEED_COUNT = 15


def parse_proposals(text: str) -> list[tuple[list[str], str]]:
    """The `{"paths": [...], "reason": ...}` lines of an answer; other lines are ignored."""
    out: list[tuple[list[str], str]] = []
    for line in text.splitlines():
        line = line.strip().strip("`").strip()
        if not line.startswith("{"):
            continue
        try:
            raw: Any = json.loads(line)
        except ValueError:
            continue
        if not isinstance(raw, dict):
            continue
        paths = raw.get("paths", raw.get("path"))
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            continue
        reason = raw.get("reason")
        out.append(
            ([p.removeprefix("./") for p in paths], reason if isinstance(reason, str) else "")
        )
    return out


def agent_proposer(options: RunOptions) -> Any:
    """A `plan.Proposer` that asks a read-only agent."""

    def propose(root: Path, base: str, task: str) -> list[tuple[list[str], str]]:
        read_only = RunOptions(**{**options.to_dict(), "permission_mode": "read-only"})
        locate = ", find_symbol and repo_map" if _has_repomap() else ""
        prompt = PROMPT.format(task=task, locate=locate, seeds=_seeds(root, task))
        out = run_agent(root, prompt, read_only, None)
        if out.status != "green":
            raise ConfigError(f"the discovery pass failed: {out.reason}")
        return parse_proposals(str(out.agent.get("final_message") or ""))

    return propose


def _has_repomap() -> bool:
    import importlib.util

    return importlib.util.find_spec("v4code.repomap") is not None


def _seeds(root: Path, task: str) -> str:
    """The SEEDS block for `task`, or "" when the ranker is missing, finds nothing or fails
    (the pass then searches unaided)."""
    if not _has_repomap():
        return ""
    from v4code.config import load_settings
    from v4code.repomap import locate

    try:
        secret = load_settings(root).settings.secret_files  # known by name only
        ranked = locate(root, task, top=SEED_COUNT, secret_files=secret)
    except (V4codeError, OSError, ValueError, RuntimeError):
        return ""
    if not ranked:
        return ""
    return SEEDS.format(files="\n".join(one_line(f"- {r.path} ({r.why})") for r in ranked))
