"""Plan mode and the todo list in the chat, in a real terminal (tmux) against the fake server.

1. `v4code --plan`: the model explores (an edit is refused), keeps its list, proposes; the
   person says no with a reason, the model revises, the person says yes; the plan is carried
   out under the chosen mode while the list updates on screen; `/todo` prints it.
2. `/plan TASK`, the question left unanswered, the chat left: `/resume` shows the list and
   the waiting plan, `/plan yes` carries it out.
Nothing is edited before the yes; every request carries the same tools and system prompt.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fake_api import start_subprocess_server, text, tool_call
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

CALC = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
STEPS = ["Fix the operator in add", "Check the result"]


def todo(*statuses: str) -> dict[str, Any]:
    return {"items": [{"step": s, "status": st} for s, st in zip(STEPS, statuses, strict=True)]}


def propose(summary: str) -> dict[str, Any]:
    return tool_call(
        "propose_plan", steps=STEPS, files=["calc.py"], checks=["read calc.py"], summary=summary
    )


def execution() -> list[dict[str, Any]]:
    return [
        tool_call("edit_file", **FIX),
        tool_call("update_plan", **todo("done", "in_progress")),
        tool_call("update_plan", **todo("done", "done")),
        text("Fixed add."),
    ]


def posts(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    chats = [r["body"] for r in requests if r["method"] == "POST"]
    for body in chats:  # one cache prefix: the same tools and system prompt every time
        assert json.dumps(body["tools"]) == json.dumps(chats[0]["tools"])
        assert body["messages"][0] == chats[0]["messages"][0]
    return chats


def test_plan_no_with_reason_then_yes_and_the_list_updating(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "calc.py").write_text(CALC)
    server = start_subprocess_server(
        [
            tool_call("update_plan", **todo("in_progress", "pending")),
            tool_call("edit_file", **FIX),
            propose("First idea."),
            propose("Second idea, with the check."),
            *execution(),
        ],
        tmp_path / "server",
    )
    args = ("--plan", "--permission-mode", "auto-edit")
    with chat_in_tmux("plan", workspace, v4code_home, server, height=50, args=args) as session:
        wait_for(session, "plan mode")
        send(session, "fix add", "Enter")
        screen = wait_for(session, r"Carry out this plan\?")
        assert "[>] Fix the operator in add" in screen
        assert "Refused while planning: edit_file changes files." in screen
        assert "Plan: First idea." in screen and "Files: calc.py" in screen
        assert (workspace / "calc.py").read_text() == CALC
        send(session, "n")  # one key; the reason goes on the line that opens
        wait_for(session, r"Why not\?")
        send(session, "say how you check it", "Enter")
        screen = wait_for(session, r"(?s)Second idea.*Carry out this plan\?")
        assert (workspace / "calc.py").read_text() == CALC  # still nothing before the yes
        send(session, "y")
        screen = wait_for(session, r"Fixed add\.")
        after = screen.rsplit("Second idea", 1)[1]
        assert "[x] Fix the operator in add" in after and "[>] Check the result" in after
        assert re.search(r"\[x\] Check the result", after)
        assert (workspace / "calc.py").read_text() == FIXED
        send(session, "/todo", "Enter")
        screen = wait_for(session, r"(?s)/todo.*\[x\] Check the result")
        leave(session)
    chats = posts(server.stop()[0])
    assert len(chats) == 8
    assert "say how you check it" in chats[3]["messages"][-1]["content"]
    assert chats[4]["messages"][-1]["content"].startswith("Yes: carry out the plan")
    assert "auto-edit" in chats[4]["messages"][-1]["content"]


def test_a_waiting_plan_survives_resume_and_plan_yes_carries_it_out(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "calc.py").write_text(CALC)
    server = start_subprocess_server(
        [tool_call("update_plan", **todo("pending", "pending")), propose("The idea.")],
        tmp_path / "server1",
    )
    with chat_in_tmux("plan1", workspace, v4code_home, server, height=40) as session:
        send(session, "/plan fix add", "Enter")
        wait_for(session, r"Carry out this plan\?")
        send(session, "C-c")
        wait_for(session, r"The plan waits for your answer")
        screen = leave(session)
    session_id = re.findall(r"v4code --resume (\S+)", screen)[-1]
    posts(server.stop()[0])
    assert (workspace / "calc.py").read_text() == CALC

    server = start_subprocess_server(execution(), tmp_path / "server2")
    with chat_in_tmux("plan2", workspace, v4code_home, server, height=40) as session:
        send(session, f"/resume {session_id}", "Enter")
        screen = wait_for(session, r"(?s)Resumed session.*The plan waits for your answer")
        assert "[ ] Fix the operator in add" in screen and "Plan: The idea." in screen
        send(session, "/mode auto-edit", "Enter")
        wait_for(session, "permission mode: auto-edit")
        send(session, "/plan yes", "Enter")
        wait_for(session, r"Fixed add\.")
        assert (workspace / "calc.py").read_text() == FIXED
        leave(session)
    chats = posts(server.stop()[0])
    assert chats[0]["messages"][-1]["content"].startswith("Yes: carry out the plan")
