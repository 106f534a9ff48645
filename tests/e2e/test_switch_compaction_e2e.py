"""A switch of model compacts first, when that pays, through the real command line.

Each model keeps its own prompt cache, so the first request after `auto` escalates is a miss
on the whole history. With `compact_on_switch` (the default) the model the session was on
summarises the older part first (its cache holds that prefix), and the new model gets the
summary and the last steps word for word; `false` keeps the full history, and a small history
is never compacted (the summary would cost more than it saves).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chat_harness import ENTER, chat
from cli_harness import v4code
from conftest import git
from fake_api import FakeDeepSeek, fault, text, tool_call

FLASH, PRO = "deepseek-flash", "deepseek-v4-pro"
TESTS = f"{sys.executable} -m pytest -q -p no:cacheprovider"
OLD = "OLD_FILE_CONTENT_MARKER"  # in the file read before the kept steps
SUMMARY = "Summary: tables.py holds lookup tables; add() in calc.py subtracts."


def project(workspace: Path) -> Path:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (workspace / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    rows = "".join(f"    {i}: '{OLD} row {i:04d} of the lookup table',\n" for i in range(400))
    (workspace / "tables.py").write_text("TABLE = {\n" + rows + "}\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "calc")
    return workspace


def script(summary: bool) -> list[dict[str, Any]]:
    runs = [tool_call("run_command", command=TESTS + extra) for extra in ("", " -x", " -v")]
    steps = [tool_call("read_file", path="tables.py"), *runs]  # three failing runs, not one
    return [*steps, *([text(SUMMARY)] if summary else []), text("Pro took over.")]


def escalate(
    root: Path, server: FakeDeepSeek, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    env = {"V4CODE_PEAK_MULTIPLIER": "1", **(env or {})}
    done = v4code(root, "run", "-o", "jsonl", "--model", "auto", "fix add", server=server, env=env)
    assert done.returncode == 0, done.stderr
    return done, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def models(server: FakeDeepSeek) -> list[str]:
    return [r.body["model"] for r in server.chat_requests]


def wire(request: Any) -> str:
    return json.dumps(request.body["messages"])


def test_the_switch_compacts_on_the_old_model_and_keeps_the_failing_runs_verbatim(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(script(summary=True))
    done, events = escalate(root, fake_api)
    assert models(fake_api) == [FLASH] * 5 + [PRO]
    last_flash, ask, pro = fake_api.chat_requests[3:]
    # the summary request is the Flash loop's own prompt and an ask: its cache serves it
    asked = ask.body["messages"]
    assert asked[-1]["role"] == "user" and "summary" in asked[-1]["content"]
    assert asked[: len(last_flash.body["messages"])] == last_flash.body["messages"]
    used = [e for e in events if e["type"] == "usage_reported"]
    assert used[4]["model"] == FLASH and used[4]["usage"]["cache_hit_tokens"] > 0
    # Pro gets the summary and the three failing test runs word for word, not the old file
    runs = [m["content"] for m in asked if m["role"] == "tool"][1:]
    assert len(runs) == 3 and all("1 failed" in r for r in runs)
    sent = pro.body["messages"]
    first = next(m["content"] for m in sent if m["role"] == "user")
    assert SUMMARY in first and "fix add" in first
    assert [m["content"] for m in sent if m["role"] == "tool"] == runs
    assert OLD not in wire(pro) and OLD in wire(last_flash)
    assert len(wire(pro)) < len(wire(last_flash)) / 3
    said = [e["text"] for e in events if e["type"] == "notice"]
    assert any(s.startswith("Compacted ") and PRO in s for s in said)
    assert [e["type"] for e in events].count("model_switched") == 1
    assert "⇄ escalated" not in done.stdout  # jsonl on stdout; the events say it
    assert events[-1]["switches"][0]["to"] == PRO


def test_compact_on_switch_false_sends_the_full_history(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(script(summary=False))
    _, events = escalate(root, fake_api, {"V4CODE_COMPACT_ON_SWITCH": "false"})
    assert models(fake_api) == [FLASH] * 4 + [PRO]
    last_flash, pro = fake_api.chat_requests[3:]
    assert OLD in wire(pro)
    assert pro.body["messages"][: len(last_flash.body["messages"])] == last_flash.body["messages"]
    assert not any(e.get("text", "").startswith("Compacted") for e in events)


def test_a_small_history_is_not_compacted_at_the_switch(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(
        [
            tool_call("read_file", path="calc.py"),
            tool_call("escalate", reason="hard"),
            text("Pro took over."),
        ]
    )
    _, events = escalate(root, fake_api)
    assert models(fake_api) == [FLASH, FLASH, PRO]
    assert "return a - b" in wire(fake_api.chat_requests[2])
    assert not any(e.get("text", "").startswith("Compact") for e in events)


def test_a_fallback_sends_the_full_history_the_old_model_cannot_summarise(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """The model the session was on has just failed, so a summary would be written on the
    fallback's cold cache: that costs more than it saves, and nothing is compacted."""
    root = project(workspace)
    fake_api.load(
        [
            tool_call("read_file", path="tables.py"),
            fault(400, message="Model Not Exist"),
            text("Flash took over."),
        ]
    )
    env = {"V4CODE_PEAK_MULTIPLIER": "1", "V4CODE_FALLBACK_MODEL": FLASH}
    done = v4code(root, "run", "-o", "json", "--model", PRO, "look", server=fake_api, env=env)
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [PRO, PRO, FLASH]
    assert OLD in wire(fake_api.chat_requests[2])
    assert json.loads(done.stdout)["switches"][0]["signal"] == "model_not_served"


def test_the_chat_shows_the_switch_and_then_the_compaction(
    workspace: Path,
    fake_api: FakeDeepSeek,
    v4code_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project(workspace)
    fake_api.load(script(summary=True))
    screen = chat(
        workspace,
        fake_api,
        monkeypatch,
        ["fix add" + ENTER],
        flags={"model": "auto", "permission_mode": "full-auto"},
    )
    switched = screen.index(f"⇄ escalated: {FLASH} → {PRO}")
    assert (
        screen.index(f"Compacted 3 older messages into a summary before the switch to {PRO}")
        > switched
    )
    assert models(fake_api) == [FLASH] * 5 + [PRO]
