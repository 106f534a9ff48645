"""`v4code` in a real terminal (tmux) against the standalone fake server.

1. Type a request, see the proposed diff, approve it, read the turn's cost line and the file.
2. What only a terminal shows: the live area redraws in place, so the scrollback must hold every
   paragraph of a long answer exactly once; keys typed while the model streams are not echoed
   into the answer but wait at the next prompt (an Enter typed ahead sends them when the
   answer ends); Ctrl-C stops the stream, the next prompt works.

Every wait polls the screen against a deadline; nothing sleeps a fixed time and hopes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

LOREM = "lorem ipsum dolor sit amet " * 6


def test_request_diff_approval_cost_line_and_file(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    (workspace / "b.py").write_text("y = 2\n")
    edits = [
        {"path": "a.py", "old_string": "x = 1", "new_string": "x = 10"},
        {"path": "b.py", "old_string": "y = 2", "new_string": "y = 20"},
    ]
    server = start_subprocess_server(
        [
            {
                **text("", reasoning="Both constants need bumping."),
                "tool_calls": [{"name": "apply_edits", "arguments": {"edits": edits}}],
            },
            text("Bumped **x** and **y**.", reasoning="Done."),
        ],  # fmt: skip
        tmp_path / "server",
    )
    with chat_in_tmux("chat", workspace, v4code_home, server, height=40) as session:
        send(session, "bump x and y", "Enter")
        screen = wait_for(session, r"Apply\?")
        for line in ("Edit 2 files: a.py (+1 -1), b.py (+1 -1)", "-x = 1", "+x = 10", "+y = 20"):
            assert line in screen
        assert (workspace / "a.py").read_text() == "x = 1\n"  # nothing before the answer
        send(session, "y")  # one key, no Enter
        screen = wait_for(session, r"in \(\d+% cached\) · .* · \$\d+\.\d+ · \d+\.\d+s")
        assert "this session: y" in screen  # the key pressed is echoed after the question
        assert "• edit a.py, b.py +2 -2" in screen and "Bumped x and y." in screen
        assert (workspace / "a.py").read_text() == "x = 10\n"
        assert (workspace / "b.py").read_text() == "y = 20\n"
        leave(session)
    requests, violations = server.stop()
    assert violations == []
    assert len([r for r in requests if r["method"] == "POST"]) == 2


def test_approval_keys_n_opens_the_reason_line_and_a_needs_no_enter(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    edit = {"path": "a.py", "old_string": "x = 1", "new_string": "x = 10"}
    server = start_subprocess_server(
        [
            {**text(""), "tool_calls": [{"name": "edit_file", "arguments": edit}]},
            {**text(""), "tool_calls": [{"name": "edit_file", "arguments": edit}]},
            text("Done."),
        ],
        tmp_path / "server",
    )
    with chat_in_tmux("keys", workspace, v4code_home, server, height=40) as session:
        send(session, "bump x", "Enter")
        wait_for(session, r"Apply\?")
        send(session, "Enter", "q")  # neither is an answer: nothing happens
        send(session, "n")
        wait_for(session, r"Why not\?")
        assert (workspace / "a.py").read_text() == "x = 1\n"
        send(session, "keep it at one", "Enter")
        screen = wait_for(session, r"(?s)Why not.*Apply\?")
        send(session, "a")
        wait_for(session, r"Done\.(.|\n)*in \(\d+% cached\)")
        assert (workspace / "a.py").read_text() == "x = 10\n"
        leave(session)
    requests, _ = server.stop()
    posts = [r for r in requests if r["method"] == "POST"]
    assert "keep it at one" in str(posts[1]["body"]["messages"][-1]["content"])
    assert "[n]o (+ reason)" not in screen


def paragraphs(n: int, tag: str) -> str:
    return "\n\n".join(f"{tag} {i}: {LOREM}" for i in range(n))


def test_stream_type_ahead_and_ctrl_c(workspace: Path, tmp_path: Path, v4code_home: Path) -> None:
    server = start_subprocess_server(
        [
            {
                **text(paragraphs(40, "Para"), reasoning="Thinking it over. " * 30),
                "chunk_size": 12,
                "delay": 0.004,
            },
            {**text(paragraphs(400, "Slow")), "chunk_size": 8, "delay": 0.01},
            text("Second answer."),
        ],  # fmt: skip
        tmp_path / "server",
    )
    server.allow_leftover = True
    with chat_in_tmux("stream", workspace, v4code_home, server, height=20) as session:
        send(session, "explain", "Enter")
        wait_for(session, r"Para 3:")
        send(session, "typed ahead")  # while the answer streams
        screen = wait_for(session, r"cached\)")
        for i in range(40):  # redrawn in place: each paragraph once in the scrollback
            assert screen.count(f"Para {i}: ") == 1, (
                f"Para {i} shown {screen.count(f'Para {i}: ')}x"
            )
        assert "▸ thought for" in screen and "Thinking it over" not in screen
        screen = wait_for(session, r"› typed ahead")  # waited for the prompt, not echoed
        assert screen.count("typed ahead") == 1

        send(session, "Enter")
        wait_for(session, r"Slow 5:")
        send(session, "C-c")
        screen = wait_for(session, r"interrupted")
        assert "Slow 399" not in screen
        send(session, "again", "Enter")
        wait_for(session, r"Second answer\.")
        leave(session)
    requests, violations = server.stop()
    assert violations == []
    chats = [r for r in requests if r["method"] == "POST"]
    assert len(chats) == 3
    assert chats[1]["body"]["messages"][-1]["content"] == "typed ahead"
    assert chats[2]["body"]["messages"][-1]["content"] == "again"


def test_enter_typed_ahead_sends_the_message_when_the_turn_ends(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    """A message typed and sent with Enter while the model still answers goes out once the
    answer ends, as it was typed (not a line break left waiting in the prompt)."""
    server = start_subprocess_server(
        [
            {**text(paragraphs(60, "Para")), "chunk_size": 8, "delay": 0.01},
            text("Second answer."),
        ],  # fmt: skip
        tmp_path / "server",
    )
    with chat_in_tmux("ahead", workspace, v4code_home, server, height=20) as session:
        send(session, "explain", "Enter")
        wait_for(session, r"Para 3:")
        send(session, "and then?", "Enter")  # while the answer streams
        screen = wait_for(session, r"Second answer\.")
        assert screen.count("and then?") == 1
        leave(session)
    requests, violations = server.stop()
    assert violations == []
    chats = [r for r in requests if r["method"] == "POST"]
    assert len(chats) == 2
    assert chats[1]["body"]["messages"][-1]["content"] == "and then?"


def test_ctrl_d_typed_while_the_answer_streams_ends_the_chat_at_the_prompt(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    """Ctrl-D pressed before the next prompt shows (the turn still running) is kept for the
    prompt, where it ends the chat as it does when typed there: not lost as an end-of-file
    the terminal gives to nobody."""
    server = start_subprocess_server(
        [{**text(paragraphs(30, "Para")), "chunk_size": 8, "delay": 0.01}], tmp_path / "server"
    )
    with chat_in_tmux("eof", workspace, v4code_home, server, height=20) as session:
        send(session, "explain", "Enter")
        wait_for(session, r"Para 3:")
        send(session, "C-d")  # while the answer streams
        screen = wait_for(session, r"Session saved: v4code --resume \S+")
        assert "Para 29:" in screen
