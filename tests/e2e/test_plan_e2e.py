"""Plan mode and the todo list through `v4code run`, against the fake DeepSeek server.

What a user sees (the plan on stdout, the list on stderr, `-o json` / `-o jsonl`), what stays
on disk before the yes, and what the server received: effects refused while planning with a
one-line reason, one tools array and one system prompt for every request of the session.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call

from v4code.sessions import list_sessions, read_session

CALC = "def add(a, b):\n    return a - b\n"
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
STEPS = ["Fix the operator in add", "Run the tests"]
PLAN = {
    "steps": STEPS,
    "files": ["calc.py"],
    "checks": ["python -m pytest -q"],
    "summary": "add subtracts; make it add.",
}


def project(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=workspace, check=True)
    return workspace


def todo(*statuses: str) -> dict[str, Any]:
    return {"items": [{"step": s, "status": st} for s, st in zip(STEPS, statuses, strict=True)]}


def planning_script() -> list[dict[str, Any]]:
    """Read, try an edit (refused), keep the list, propose."""
    return [
        tool_call("read_file", path="calc.py"),
        tool_call("edit_file", **FIX),
        tool_call("update_plan", **todo("in_progress", "pending")),
        tool_call("propose_plan", **PLAN),
    ]


def assert_one_prefix(requests: list[Any]) -> None:
    """Every request carries the same tools and system prompt, planning or not."""
    first = requests[0]
    for request in requests:
        assert json.dumps(request.tools) == json.dumps(first.tools)
        assert request.messages[0] == first.messages[0]
    assert "Plan mode" not in first.messages[0]["content"]
    names = [t["function"]["name"] for t in first.tools]
    assert {"update_plan", "propose_plan", "edit_file", "run_command"} <= set(names)


def tool_results(request: Any) -> list[str]:
    return [str(m["content"]) for m in request.messages if m["role"] == "tool"]


def test_run_plan_prints_the_plan_refuses_edits_and_exits_0(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(planning_script())
    result = v4code(root, "run", "--plan", "fix add", server=fake_api)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "Plan: add subtracts; make it add.",
        "  1. Fix the operator in add",
        "  2. Run the tests",
    ]
    assert "Files: calc.py" in result.stdout and "Check: python -m pytest -q" in result.stdout
    assert "[>] Fix the operator in add" in result.stderr  # the list, in the progress
    assert "Refused while planning: edit_file changes files." in result.stderr
    assert (root / "calc.py").read_text() == CALC

    chats = fake_api.chat_requests
    assert len(chats) == 4
    assert_one_prefix(chats)
    refused = tool_results(chats[2])[-1]
    assert refused.startswith("Refused while planning: edit_file changes files.")
    assert "\n" not in refused
    # plan mode was said in the conversation, before the task
    notes = [m["content"] for m in chats[0].messages if m["role"] == "system"][1:]
    assert any(n.startswith("Plan mode:") for n in notes)


def test_run_plan_json_carries_the_plan_and_the_list(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(planning_script())
    result = v4code(root, "run", "--plan", "-o", "json", "fix add", server=fake_api)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "done" and data["denied"] == []
    assert data["plan"] == PLAN
    assert data["todo"] == [{"step": s, "status": "pending"} for s in STEPS]
    assert (root / "calc.py").read_text() == CALC


def test_run_plan_without_a_plan_fails_with_a_notice_and_executes_nothing(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """The model answered (a question, say) instead of proposing: `done`, exit 0 and
    `plan: null` read as success to a script that wanted a plan."""
    root = project(workspace)
    fake_api.load([tool_call("read_file", path="calc.py"), text("Which add do you mean?")])
    result = v4code(root, "run", "--plan", "-o", "json", "fix add", server=fake_api)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert (data["status"], data["exit_code"], data["plan"]) == ("failed", 1, None)
    assert data["reason"] == "the model ended without proposing a plan"
    assert data["final_message"] == "Which add do you mean?"
    assert data["notices"] == [
        "the model ended without proposing a plan; its answer is the final message, "
        "and nothing was carried out"
    ]

    fake_api.load([text("Which add do you mean?")])
    shown = v4code(root, "run", "--plan", "--execute", "fix add", server=fake_api)
    assert shown.returncode == 1
    assert "the model ended without proposing a plan" in shown.stderr
    assert shown.stdout == "Which add do you mean?\n"
    assert len(fake_api.chat_requests) == 3  # no second turn carried anything out
    assert (root / "calc.py").read_text() == CALC


def test_run_plan_execute_jsonl_events_then_the_edit(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(
        [
            *planning_script(),
            tool_call("edit_file", **FIX),
            tool_call("update_plan", **todo("done", "in_progress")),
            tool_call("update_plan", **todo("done", "done")),
            text("Fixed add."),
        ]
    )
    result = v4code(
        root,
        "run",
        "--plan",
        "--execute",
        "--permission-mode",
        "auto-edit",
        "-o",
        "jsonl",
        "fix add",
        server=fake_api,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    updates = [e["items"] for e in events if e["type"] == "plan_updated"]
    assert updates[0] == todo("in_progress", "pending")["items"]
    assert updates[-1] == todo("done", "done")["items"]
    assert kinds.count("plan_proposed") == 1 and kinds.count("turn_finished") == 2
    proposed = kinds.index("plan_proposed")
    edits = [
        i
        for i, e in enumerate(events)
        if e["type"] == "tool_finished" and e["call"]["name"] == "edit_file"
    ]
    assert len(edits) == 2 and edits[0] < proposed < edits[1]  # refused before, applied after
    final = events[-1]
    assert final["type"] == "result" and final["status"] == "done"
    assert final["files_changed"] == ["calc.py"] and final["todo"] == updates[-1]
    assert (root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"

    chats = fake_api.chat_requests
    assert len(chats) == 8
    assert_one_prefix(chats)
    approval = chats[4].messages[-1]
    assert approval["role"] == "user" and approval["content"].startswith("Yes: carry out the plan")
    assert "auto-edit permission mode" in approval["content"]

    session = read_session(list_sessions(root)[0])  # the plan and the answer are in the log
    logged = {e["type"]: e for e in session.events}
    assert logged["plan_proposed"]["files"] == ["calc.py"]
    assert logged["plan_answer"] == {"type": "plan_answer", "approved": True, "mode": "auto-edit"}


def test_plan_survives_resume_and_stays_in_plan_mode(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(
        [
            *planning_script(),
            tool_call("edit_file", **FIX),  # resumed, still planning: refused again
            text("Still waiting for your answer on the plan."),
        ]
    )
    first = v4code(root, "run", "--plan", "-o", "json", "fix add", server=fake_api)
    session_id = json.loads(first.stdout)["session_id"]
    again = v4code(
        root, "run", "--resume", session_id, "-o", "json", "where are we?", server=fake_api
    )
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["todo"] == [{"step": s, "status": "pending"} for s in STEPS]
    assert (root / "calc.py").read_text() == CALC
    chats = fake_api.chat_requests
    assert tool_results(chats[-1])[-1].startswith("Refused while planning")
    assert_one_prefix(chats)

    session = read_session(list_sessions(root)[0])
    kinds = [e.get("type") for e in session.events]
    assert "plan_mode" in kinds and "plan_proposed" in kinds and "plan_updated" in kinds


def test_propose_plan_outside_plan_mode_is_refused(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load([tool_call("propose_plan", **PLAN), text("Doing it instead.")])
    result = v4code(root, "run", "-o", "json", "fix add", server=fake_api)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["plan"] is None
    assert tool_results(fake_api.chat_requests[-1])[-1].startswith("Refused: propose_plan")


def test_execute_needs_plan(workspace: Path, v4code_home: Path) -> None:
    result = v4code(workspace, "run", "--execute", "fix add")
    assert result.returncode == 2
    assert "--execute carries out a plan: give --plan too" in result.stderr


def test_update_plan_allows_one_item_in_progress(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(
        [
            tool_call("update_plan", **todo("in_progress", "in_progress")),
            tool_call("update_plan", **todo("in_progress", "pending")),
            text("Listed."),
        ]
    )
    result = v4code(root, "run", "-o", "json", "list the steps", server=fake_api)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["todo"] == todo("in_progress", "pending")["items"]
    said = tool_results(fake_api.chat_requests[1])[-1]
    assert said == "Only one item may be in_progress at a time; mark the others pending."


def test_counts_in_the_progress_lines_read_as_english(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """One step, one file, one match: `plan 1 step, 1 file`, never `1 steps, 1 files`."""
    project(workspace)
    one = {**PLAN, "steps": STEPS[:1]}
    fake_api.load(
        [
            tool_call("grep", pattern="return a - b"),
            tool_call("list_files", pattern="calc.py"),
            tool_call("propose_plan", **one),
        ]
    )
    done = v4code(workspace, "run", "--plan", "make add add", server=fake_api)
    assert done.returncode == 0, done.stderr
    assert "1 match" in done.stderr and "1 matches" not in done.stderr
    assert "plan 1 step, 1 file" in done.stderr
    assert "plan proposed: 1 step, 1 file" in done.stderr
    assert "1 files" not in done.stderr and "1 steps" not in done.stderr
