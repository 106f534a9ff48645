"""What a newcomer following the README met in the chat, in a real terminal (tmux): keys arrive
one by one, as a person types them, so completion menus and questions are on screen between
them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text
from tmux_harness import chat_in_tmux, leave, send, wait_for

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
