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


FIXER = """---
name: fixer
description: Makes one small, named change.
model: deepseek-v4-flash
tools: read_file, edit_file, task
---
ROLE-PROMPT: you make exactly the change the brief names.
"""


def fixer_edits(server: FakeDeepSeek, key: str, old: str, new: str, report: str) -> None:
    """The child whose brief holds `key` edits a.py, then reports (a second later)."""
    edit = {"path": "a.py", "old_string": old, "new_string": new}
    server.route(key, [tool_call("edit_file", **edit), {**text(report), "hang": 1}])


def test_named_agent_from_the_user_folder_edits_through_approvals_and_undo(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    (root / ".v4code" / "agents").mkdir(parents=True)  # the repository's own, untrusted
    (root / ".v4code" / "agents" / "spy.md").write_text("---\nname: spy\n---\nSPY-PROMPT\n")
    fake_api.load(
        [
            tool_calls(
                [
                    ("task", {"brief": "BRIEF-FIX: set A to 3 in a.py.", "agent": "fixer"}),
                    ("task", {"brief": "BRIEF-SPY: read everything.", "agent": "spy"}),
                ]
            ),
            text("Fixed."),
        ]
    )
    fixer_edits(fake_api, "BRIEF-FIX", "A = 1", "A = 3", "FIX-REPORT: a.py now sets A = 3.")
    result, stderr = run_json(root, fake_api, "Fix A.", "--permission-mode", "auto-edit")
    assert result["status"] == "done", (result, stderr)
    assert (root / "a.py").read_text() == "A = 3\n"
    assert result["files_changed"] == ["a.py"], json.dumps(result["subagents"])

    child = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-FIX")]
    assert len(child) == 2 and {r.body["model"] for r in child} == {"deepseek-v4-flash"}
    assert "ROLE-PROMPT" in child[0].messages[0]["content"]
    first = json.dumps(fake_api.chat_requests[0].messages)  # the parent learns their names
    assert "fixer: Makes one small, named change." in first and "spy" not in first
    assert {t["function"]["name"] for t in child[0].tools} == {"read_file", "edit_file"}
    said = json.dumps(fake_api.chat_requests[-1].messages)
    assert "FIX-REPORT" in said and "There is no agent named 'spy' (named agents: fixer)" in said
    assert "SPY-PROMPT" not in json.dumps([r.messages for r in fake_api.chat_requests])
    assert [s["name"] for s in result["subagents"]] == ["fixer"]
    assert result["subagents"][0]["files_changed"] == ["a.py"]

    # the child's edit is an undo point of the session, undone as the parent's would be
    undone = v4code(root, "undo", server=fake_api)
    assert undone.returncode == 0, undone.stderr
    assert (root / "a.py").read_text() == "A = 1\n"


def test_a_childs_edit_is_asked_about_like_the_parents(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """`run` answers a child's question through its policy: in `ask` mode an edit is denied."""
    root = project(workspace)
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    brief = {"brief": "BRIEF-FIX: set A to 3 in a.py.", "agent": "fixer"}
    fake_api.load([tool_call("task", **brief), text("It was not allowed.")])
    fixer_edits(fake_api, "BRIEF-FIX", "A = 1", "A = 3", "FIX-REPORT: the edit was denied.")
    result, stderr = run_json(root, fake_api, "Fix A.", "--permission-mode", "ask")
    assert (root / "a.py").read_text() == "A = 1\n"
    child = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-FIX")]
    assert "does not ask questions" in json.dumps(child[1].messages)
    assert result["subagents"][0]["status"] == "denied"


def test_two_children_never_edit_one_file_at_once(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = workspace
    (root / "a.py").write_text("A = 1\nZ = 9\n")
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    briefs = [
        {"brief": "BRIEF-ONE: set A to 3.", "agent": "fixer"},
        {"brief": "BRIEF-TWO: set Z to 0.", "agent": "fixer"},
    ]
    fake_api.load([tool_calls([("task", b) for b in briefs]), text("Done.")])
    fixer_edits(fake_api, "BRIEF-ONE", "A = 1", "A = 3", "ONE-REPORT")
    fixer_edits(fake_api, "BRIEF-TWO", "Z = 9", "Z = 0", "TWO-REPORT")
    result, stderr = run_json(root, fake_api, "Fix both.", "--permission-mode", "auto-edit")
    assert result["status"] == "done", (result, stderr)
    after = (root / "a.py").read_text()
    assert after in ("A = 3\nZ = 9\n", "A = 1\nZ = 0\n")  # one edit, never both
    refused = [
        r
        for r in fake_api.chat_requests
        if "is being edited by another agent (fixer)" in json.dumps(r.messages[2:])
    ]
    assert len(refused) == 1 and first_user(refused[0]).startswith("BRIEF-")


def test_a_trusted_repository_brings_its_agents(workspace: Path, fake_api: FakeDeepSeek) -> None:
    root = project(workspace)
    (root / ".v4code" / "agents").mkdir(parents=True)
    (root / ".v4code" / "agents" / "scout.md").write_text("---\nname: scout\n---\nSCOUT-ROLE\n")
    assert v4code(root, "trust", server=fake_api).returncode == 0
    fake_api.load([tool_call("task", brief="BRIEF-SCOUT: look.", agent="scout"), text("ok")])
    fake_api.route("BRIEF-SCOUT", [text("SCOUT-REPORT")])
    result, stderr = run_json(root, fake_api, "Scout.")
    assert result["status"] == "done", (result, stderr)
    scout = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-SCOUT")]
    assert "SCOUT-ROLE" in scout[0].messages[0]["content"]
    assert "SCOUT-REPORT" in json.dumps(fake_api.chat_requests[-1].messages)


def test_a_child_starts_no_children_and_stops_at_its_own_step_limit(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = project(workspace)
    fake_api.load([tool_call("task", brief="BRIEF-DEEP: go deeper."), text("Noted.")])
    fake_api.route("BRIEF-DEEP", [tool_call("task", brief="BRIEF-GRANDCHILD: deeper still.")])
    done = v4code(
        root, "run", "-o", "json", "Delegate.", server=fake_api,
        env={"V4CODE_SUBAGENT_MAX_STEPS": "1"},
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert result["status"] == "done", done.stderr
    assert not [r for r in fake_api.chat_requests if "BRIEF-GRANDCHILD" in first_user(r)]
    (child,) = result["subagents"]
    assert child["status"] == "limit" and child["steps"] == 1
    report = fake_api.chat_requests[-1].messages[-1]["content"]
    assert report.startswith("The sub-agent stopped before it finished (limit: step limit")
    log = list_sessions(root)[0].read_text()
    assert "There is no tool named 'task'" in log  # the child's own transcript


def test_jsonl_carries_the_children_and_a_resume_reads_only_the_session(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = project(workspace)
    fake_api.load([tool_call("task", brief="BRIEF-J: report."), text("Reported.")])
    fake_api.route("BRIEF-J", [text("J-REPORT", reasoning="J-THINKING")])
    done = v4code(root, "run", "-o", "jsonl", "Ask a child.", server=fake_api)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.index("subagent_started") < kinds.index("subagent_progress")
    finished = next(e for e in events if e["type"] == "subagent_finished")
    assert finished["status"] == "done" and finished["total_cost"] > finished["cost"] > 0
    assert events[-1]["subagents"][0]["id"] == finished["child"]

    session = events[-1]["session_id"]
    fake_api.load([text("Again.")])
    again = v4code(root, "run", "--resume", session, "And now?", server=fake_api)
    assert again.returncode == 0, again.stderr
    resumed = json.dumps(fake_api.chat_requests[-1].messages)
    assert "J-REPORT" in resumed  # the task's result, as the parent got it
    assert "J-THINKING" not in resumed and 'BRIEF-J: report."' not in resumed.split("task")[0]


def big_usage(tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": tokens,
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": tokens,
    }


def test_children_share_what_the_turns_cost_limit_leaves(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """Each child's first answer costs 0.6 USD on Flash: under a 1 USD turn the two cannot both
    go on, and the parent stops once the turn's limit is spent."""
    root = project(workspace)
    briefs = [("task", {"brief": f"BRIEF-{n}: read a.py."}) for n in (1, 2)]
    fake_api.load([tool_calls(briefs)])
    for n in (1, 2):
        costly = {**tool_call("read_file", path="a.py"), "usage": big_usage(4_000_000)}
        fake_api.route(f"BRIEF-{n}", [costly, {**text("cut short"), "hang": 10}])
    fake_api.allow_leftover = True
    done = v4code(
        root, "run", "-o", "json", "--max-cost", "1", "Split.", server=fake_api,
        env={"V4CODE_SUBAGENT_MAX_COST": "5"},
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert done.returncode == 4 and result["status"] == "limit", done.stdout
    assert [s["status"] for s in result["subagents"]] == ["limit", "limit"]
    children = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-")]
    # each child's first (costly) answer was sent: the cost above 1 USD is both of them; the
    # stream that crossed the limit may be dropped right after its usage, which is no matter
    firsts = [next(r for r in children if first_user(r).startswith(f"BRIEF-{n}")) for n in (1, 2)]
    assert all(r.answered for r in firsts)
    assert len(fake_api.chat_requests) == len(children) + 1 and result["cost_usd"] > 1


def test_a_child_stops_at_the_turns_time_limit(workspace: Path, fake_api: FakeDeepSeek) -> None:
    root = project(workspace)
    fake_api.load([tool_call("task", brief="BRIEF-SLOW: take your time.")])
    fake_api.route("BRIEF-SLOW", [{**text("too late"), "hang": 30}])
    done = v4code(root, "run", "-o", "json", "--max-time", "4", "Delegate.", server=fake_api)
    result = json.loads(done.stdout)
    assert done.returncode == 4 and result["status"] == "limit", done.stderr
    (child,) = result["subagents"]
    assert child["status"] == "limit" and "time limit" in child["reason"]


def test_under_a_cost_limit_a_child_on_a_model_with_no_price_is_not_started(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = project(workspace)
    fake_api.load([tool_call("task", brief="BRIEF-X: look."), text("Understood.")])
    done = v4code(
        root, "run", "-o", "json", "--max-cost", "1", "Delegate.", server=fake_api,
        env={"V4CODE_SUBAGENT_MODEL": "deepseek-chat"},
    )  # fmt: skip
    assert json.loads(done.stdout)["status"] == "done", done.stderr
    answer = fake_api.chat_requests[-1].messages[-1]["content"]
    assert answer == "Not started: deepseek-chat has no price, so --max-cost could not bound it."
    assert len(fake_api.chat_requests) == 2  # no child request was made


def test_an_unknown_agent_says_where_named_agents_are_read_from(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """A fixer saved in the wrong folder: the refusal names the folder v4code reads them from."""
    root = project(workspace)
    fake_api.load(
        [tool_call("task", brief="Set A to 3 in a.py.", agent="fixer"), text("No fixer.")]
    )
    result, stderr = run_json(root, fake_api, "Have the fixer set A.")
    assert result["status"] == "done", (result, stderr)
    said = fake_api.chat_requests[-1].messages[-1]["content"]
    assert "There is no agent named 'fixer' (named agents: none)" in said
    assert str(v4code_home / "agents") in said and ".v4code/agents/" in said


def test_the_users_after_tool_hook_sees_a_childs_calls_and_turn_end_only_the_sessions(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """A hook the user keeps as an audit trail (or a formatter) is not skipped by handing the
    work to a child."""
    root = project(workspace)
    audit = v4code_home / "audit.log"
    (v4code_home / "config.toml").write_text(
        f'[hooks]\nafter_tool = "cat >> {audit}; echo >> {audit}"\n'
        f'turn_end = "echo TURN-END >> {audit}"\n'
    )
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    fake_api.load(
        [tool_call("task", brief="BRIEF-FIX: set A to 3 in a.py.", agent="fixer"), text("Fixed.")]
    )
    fixer_edits(fake_api, "BRIEF-FIX", "A = 1", "A = 3", "FIX-REPORT: done.")
    result, stderr = run_json(root, fake_api, "Fix A.", "--permission-mode", "auto-edit")
    assert result["status"] == "done", (result, stderr)
    assert (root / "a.py").read_text() == "A = 3\n"
    seen = [json.loads(line) for line in audit.read_text().splitlines() if line.startswith("{")]
    assert [e["tool"] for e in seen] == ["edit_file", "task"]
    assert audit.read_text().count("TURN-END") == 1


def test_a_repositorys_agents_are_ignored_untrusted_and_as_changed_since_trust(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = project(workspace)
    agents = root / ".v4code" / "agents"
    agents.mkdir(parents=True)
    (agents / "scout.md").write_text("---\nname: scout\ntools: write_file\n---\nEVIL-ROLE\n")
    fake_api.load([tool_call("task", brief="BRIEF-EVIL: go.", agent="scout"), text("ok")])
    run_json(root, fake_api, "Scout.")
    assert not [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-EVIL")]
    assert "There is no agent named" in json.dumps(fake_api.chat_requests[-1].messages)
    (agents / "scout.md").write_text("---\nname: scout\n---\nSCOUT-ROLE\n")
    assert v4code(root, "trust", server=fake_api).returncode == 0
    (agents / "scout.md").write_text("---\nname: scout\ntools: write_file\n---\nEVIL-ROLE\n")
    fake_api.load([tool_call("task", brief="BRIEF-EVIL2: go.", agent="scout"), text("ok")])
    run_json(root, fake_api, "Scout.")
    assert all("EVIL-ROLE" not in json.dumps(r.messages) for r in fake_api.chat_requests)


def test_a_writing_agent_under_a_read_only_parent_writes_and_runs_nothing(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    (v4code_home / "agents").mkdir()
    writer = "---\nname: writer\ntools: write_file, run_command\n---\nWRITER\n"
    (v4code_home / "agents" / "writer.md").write_text(writer)
    fake_api.load([tool_call("task", brief="BRIEF-RO: write.", agent="writer"), text("ok")])
    fake_api.route(
        "BRIEF-RO",
        [
            tool_calls(
                [
                    ("write_file", {"path": "pwned.py", "content": "x = 1\n"}),
                    ("run_command", {"command": "touch ran.txt"}),
                ]
            ),
            text("tried"),
        ],
    )
    result, stderr = run_json(root, fake_api, "--permission-mode", "read-only", "Fix.")
    assert result["status"] in ("done", "denied", "failed"), (result, stderr)
    assert not (root / "pwned.py").exists() and not (root / "ran.txt").exists()
    child = [r for r in fake_api.chat_requests if first_user(r).startswith("BRIEF-RO")]
    assert "read-only" in json.dumps(child[-1].messages)  # refused as the parent's would be
