"""Child agents in the chat (tmux): one live line each, and Ctrl-C stops them all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text, tool_call, tool_calls
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_each_child_has_a_live_line_and_ctrl_c_stops_them_all(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "a.py").write_text("A = 1\n")
    briefs = [("task", {"brief": f"BRIEF-{n}: read a.py and wait."}) for n in (1, 2)]
    child = [tool_call("read_file", path="a.py"), {**text("never"), "hang": 60}]
    server = start_subprocess_server(
        [tool_calls(briefs), text("Second answer.")],
        tmp_path / "server",
        routes={"BRIEF-1": child, "BRIEF-2": child},
    )
    with chat_in_tmux("children", workspace, v4code_home, server, height=30) as session:
        send(session, "split it", "Enter")
        line = r"agent task · step 2 · read a\.py · \$\d"  # what it did last, its cost
        screen = wait_for(session, f"(?s){line}.*{line}")  # one line per child
        send(session, "C-c")
        # each child's line says so once it has stopped (the two may end a moment apart)
        screen = wait_for(session, r"(?s)agent task interrupted.*agent task interrupted")
        assert screen.count("agent task interrupted") == 2
        send(session, "/cost", "Enter")
        wait_for(session, r"(?s)this session:.*agent task interrupted.*agent task interrupted")
        send(session, "again", "Enter")
        wait_for(session, r"Second answer\.")
        leave(session)
    requests, violations = server.stop()
    assert violations == []
    chats = [r for r in requests if r["method"] == "POST"]
    firsts = [next(m for m in r["body"]["messages"] if m["role"] == "user") for r in chats]
    assert sum(1 for m in firsts if m["content"].startswith("BRIEF-")) == 4  # no more after C-c
    answered = [m for m in chats[-1]["body"]["messages"] if m["role"] == "tool"]
    assert len(answered) == 2 and all("Interrupted" in m["content"] for m in answered)
    assert "never" not in json.dumps(chats[-1]["body"]["messages"])


FIXER = "---\nname: fixer\ntools: read_file, edit_file\n---\nMake the change.\n"


def test_questions_from_parallel_children_come_one_at_a_time(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    (workspace / "b.py").write_text("y = 2\n")
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    routes = {
        f"BRIEF-{path}": [
            tool_call("edit_file", path=path, old_string=old, new_string=new),
            text(f"{path} edited."),
        ]
        for path, old, new in (("a.py", "x = 1", "x = 10"), ("b.py", "y = 2", "y = 20"))
    }
    briefs = [("task", {"brief": key, "agent": "fixer"}) for key in routes]
    server = start_subprocess_server(
        [tool_calls(briefs), text("Both edited.")], tmp_path / "server", routes=routes
    )
    with chat_in_tmux("child-asks", workspace, v4code_home, server, height=50) as session:
        send(session, "bump both", "Enter")
        screen = wait_for(session, r"Apply\?")
        assert screen.count("Apply?") == 1  # the other child waits for this answer
        send(session, "y")
        screen = wait_for(session, r"(?s)Apply\?.*Apply\?")
        send(session, "y")
        screen = wait_for(session, r"Both edited\.(.|\n)*in \(\d+% cached\)")
        assert screen.count("agent fixer done") == 2
        leave(session)
    assert (workspace / "a.py").read_text() == "x = 10\n"
    assert (workspace / "b.py").read_text() == "y = 20\n"
    _, violations = server.stop()
    assert violations == []
