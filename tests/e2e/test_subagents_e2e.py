"""Child agents (the `task` tool) through the real `v4code run`, against the test server.

Children run at the same time, so their requests interleave: each child's script is routed by
its brief (`FakeDeepSeek.route`: the first user message of a child's request is its brief).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

from v4code.sessions import list_sessions


def run_json(root: Path, server: FakeDeepSeek, *args: str) -> tuple[dict[str, Any], str]:
    done = v4code(root, "run", "-o", "json", *args, server=server)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout), done.stderr


def child_requests(server: FakeDeepSeek, key: str) -> list[Any]:
    return [r for r in server.chat_requests if key in json.dumps(r.messages[1:2])]


def first_user(request: Any) -> str:
    return next(m["content"] for m in request.messages if m["role"] == "user")


def project(root: Path) -> Path:
    (root / "a.py").write_text("A = 1\n")
    (root / "b.py").write_text("B = 2\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "two files"], cwd=root, check=True)
    return root


def test_three_tasks_in_one_step_run_as_three_flash_children(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = project(workspace)
    briefs = [f"BRIEF-{x}: look at a.py and report what it defines." for x in "ABC"]
    fake_api.load(
        [
            tool_calls([("task", {"brief": b}) for b in briefs], reasoning="Split the work."),
            text("All three reports are in."),
        ]
    )
    for x in "ABC":  # each child reads a file, then reports; its first answer takes a while
        fake_api.route(
            f"BRIEF-{x}",
            [
                {**tool_call("read_file", reasoning=f"CHILD-THINKING-{x}", path="a.py"), "hang": 1},
                text(f"REPORT-{x}: a.py defines A.", reasoning=f"CHILD-THINKING-{x}"),
            ],
        )
    result, stderr = run_json(root, fake_api, "Survey the repository.")
    assert result["status"] == "done", (result, stderr)

    parent = [r for r in fake_api.chat_requests if first_user(r).startswith("Survey")]
    children = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-")]
    assert len(parent) == 2 and len(children) == 6
    assert {r.body["model"] for r in children} == {"deepseek-flash"}
    assert {r.body["model"] for r in parent} == {"deepseek-v4-pro"}
    # run at once: every child's first request came before any child's second one
    firsts = [r for r in children if len(r.messages) == 2]
    assert len(firsts) == 3
    seconds = [r for r in children if len(r.messages) > 2]
    assert max(r.arrived for r in firsts) < min(r.arrived for r in seconds)
    # a child gets read-only tools and no task tool (depth 1)
    child_tools = {t["function"]["name"] for t in children[0].tools}
    assert "task" not in child_tools and "read_file" in child_tools
    assert not child_tools & {"edit_file", "write_file", "run_command"}

    # the parent's next request holds the reports, in call order, and nothing else of them
    follow_up = parent[1].messages
    results = [m["content"] for m in follow_up if m["role"] == "tool"]
    assert [r.split(":")[0] for r in results] == ["REPORT-A", "REPORT-B", "REPORT-C"]
    assert "CHILD-THINKING" not in json.dumps(follow_up)
    called = [c["function"]["name"] for m in follow_up for c in m.get("tool_calls") or []]
    assert called == ["task", "task", "task"]

    subagents = result["subagents"]
    assert [s["status"] for s in subagents] == ["done"] * 3
    assert {s["model"] for s in subagents} == {"deepseek-flash"}
    assert all(s["cost_usd"] > 0 and s["steps"] == 2 for s in subagents)
    # the run's totals are the parent's requests and the children's
    children_cost = sum(s["cost_usd"] for s in subagents)
    assert result["cost_usd"] > children_cost
    child_prompt = sum(s["usage"]["prompt_tokens"] for s in subagents)
    assert result["usage"]["prompt_tokens"] > child_prompt
    assert "agent task done: 2 steps" not in stderr  # json mode: nothing but the result

    # the children's transcripts are in the session log, apart from the session's messages
    log = list_sessions(root)[0].read_text()
    records = [json.loads(line) for line in log.splitlines()]
    child_records = [r for r in records if r["type"] == "child"]
    assert {r["child"] for r in child_records} == {
        c["id"] for c in subagents
    }  # one transcript per child
    assert "REPORT-A: a.py defines A." in json.dumps(child_records)
    assert "CHILD-THINKING-A" in json.dumps(child_records)
