"""What a newcomer following the README met in the chat, in a real terminal (tmux): keys arrive
one by one, as a person types them, so completion menus and questions are on screen between
them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text, tool_call
from tmux_harness import SOCKET, chat_in_tmux, leave, send, start_v4code, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_tab_with_a_single_match_inserts_it_and_one_enter_sends(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "parser.py").write_text("X = 1\n")
    server = start_subprocess_server([text("Read the parser.")], tmp_path / "server")
    with chat_in_tmux("tab", workspace, v4code_home, server, height=30) as session:
        send(session, "look at @pa")
        wait_for(session, r"src/parser\.py")  # the menu, opened while typing
        send(session, "Tab")
        wait_for(session, r"› look at @src/parser\.py")
        send(session, "Enter")
        screen = wait_for(session, r"Read the parser\.", timeout=15)
        assert "attached src/parser.py" in screen
        leave(session)
    posts = [r for r in server.stop()[0] if r["method"] == "POST"]
    assert (
        len(posts) == 1
        and '<file path="src/parser.py">' in posts[0]["body"]["messages"][-1]["content"]
    )


def test_one_key_answers_trust_esc_leaves_a_plan_waiting_and_nothing_typed_is_lost(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text('model = "deepseek-v4-flash"\n')
    plan = tool_call(
        "propose_plan", steps=["Fix add"], files=["calc.py"], checks=[], summary="The idea."
    )
    server = start_subprocess_server([plan], tmp_path / "server")
    session = f"v4code-trustkeys-{os.getpid()}"
    start_v4code(session, workspace, v4code_home, server.base_url, height=40)
    try:
        wait_for(session, r"(?m)trust\? \[y/N\]$")
        send(session, "n/plan fix add")  # the answer, and the first message typed straight on
        wait_for(session, r"(?m)trust\? \[y/N\] n$")  # the key, echoed
        wait_for(session, r"› /plan fix add")
        send(session, "Enter")
        wait_for(session, r"(?m)Carry out this plan\? \[y\]es / \[n\]o:$")
        send(session, "Escape")
        wait_for(session, r"The plan waits for your answer")
        send(session, "/plan off", "Enter")
        screen = wait_for(session, r"Plan mode off")
        assert "Answer y or n" not in screen and "Trusted" not in screen
        leave(session)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True)
    posts = [r for r in server.stop()[0] if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["body"]["model"] != "deepseek-v4-flash"  # untrusted
