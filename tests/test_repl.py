"""The chat driven through prompt-toolkit pipe input against the fake DeepSeek server.

Keys are queued before the chat starts; prompt-toolkit keeps what one prompt did not read for the
next one, so a queue plays a whole conversation: the request, the approval answers, commands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_harness import CTRL_C, ENTER, Screen, chat, ctrl_c_when_requested, sigint
from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

from v4code.ui.repl import history_path


def edit(path: str, old: str, new: str) -> dict[str, str]:
    return {"path": path, "old_string": old, "new_string": new}


A_EDIT = edit("a.py", "x = 1", "x = 10")
B_EDIT = edit("b.py", "y = 2", "y = 20")


def files(workspace: Path) -> tuple[str, str]:
    return (workspace / "a.py").read_text(), (workspace / "b.py").read_text()


def last_message(server: FakeDeepSeek, request: int) -> dict:
    return server.chat_requests[request].body["messages"][-1]


@pytest.fixture
def two_files(workspace: Path) -> Path:
    (workspace / "a.py").write_text("x = 1\n")
    (workspace / "b.py").write_text("y = 2\n")
    return workspace


# --- approvals ---------------------------------------------------------------------------


def test_one_batch_across_two_files_is_one_diff_and_one_yes(two_files, fake_api, monkeypatch):
    fake_api.load(
        [
            tool_call("apply_edits", reasoning="Both need bumping.", edits=[A_EDIT, B_EDIT]),
            text("Both bumped.", reasoning="Done."),
        ]
    )
    screen = chat(two_files, fake_api, monkeypatch, ["bump both" + ENTER, "y"])
    assert files(two_files) == ("x = 10\n", "y = 20\n")
    assert "Edit 2 files: a.py (+1 -1), b.py (+1 -1)" in screen
    assert screen.count("Edit ") == 1
    for line in ("--- a/a.py", "-x = 1", "+x = 10", "--- a/b.py", "-y = 2", "+y = 20"):
        assert line in screen
    assert screen.count("+y = 20") == 1  # shown for approval, not again after it
    assert "• edit a.py, b.py +2 -2" in screen
    assert "▸ thought for" in screen and "Both bumped." in screen
    assert "cached)" in screen and "$" in screen  # the turn's summary line


def test_two_edit_calls_are_asked_one_by_one(two_files, fake_api, monkeypatch):
    fake_api.load([tool_calls([("edit_file", A_EDIT), ("edit_file", B_EDIT)]), text("ok")])
    screen = chat(two_files, fake_api, monkeypatch, ["bump" + ENTER, "y", "Y"])
    assert files(two_files) == ("x = 10\n", "y = 20\n")
    assert screen.count("Edit 1 file: ") == 2


def test_rejection_with_a_reason_reaches_the_model_and_changes_nothing(
    two_files, fake_api, monkeypatch
):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("Understood.")])
    keys = ["bump" + ENTER, "n", "use a constant" + ENTER]
    screen = chat(two_files, fake_api, monkeypatch, keys)
    assert files(two_files) == ("x = 1\n", "y = 2\n")
    result = last_message(fake_api, 1)
    assert result["role"] == "tool" and "denied" in result["content"]
    assert "use a constant" in result["content"]
    assert "• edit a.py  denied" in screen and "Understood." in screen


def test_other_keys_do_nothing_and_n_opens_the_reason_line(two_files, fake_api, monkeypatch):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("ok")])
    keys = ["bump" + ENTER, "m", ENTER, "N", "keep it at 1" + ENTER]
    screen = chat(two_files, fake_api, monkeypatch, keys)
    assert "Press y" not in screen  # ignored, not refused
    assert "keep it at 1" in last_message(fake_api, 1)["content"]
    assert files(two_files) == ("x = 1\n", "y = 2\n")


def test_always_allows_the_tool_for_the_session(two_files, fake_api, monkeypatch):
    fake_api.load([tool_call("edit_file", **A_EDIT), tool_call("edit_file", **B_EDIT), text("ok")])
    screen = chat(two_files, fake_api, monkeypatch, ["go" + ENTER, "a"])
    assert files(two_files) == ("x = 10\n", "y = 20\n")
    assert screen.count("Edit 1 file: ") == 1
    assert "+y = 20" in screen  # applied without asking: its diff follows its tool line


def test_command_shows_directory_and_sandbox_and_always_covers_its_prefix(
    two_files, fake_api, monkeypatch
):
    fake_api.load(
        [
            tool_call("run_command", command="git status"),
            tool_call("run_command", command="git status --short"),
            text("ran"),
        ]
    )
    screen = chat(two_files, fake_api, monkeypatch, ["run" + ENTER, "a"])
    assert "Run git status" in screen and f"in {two_files}" in screen
    words = " ".join(screen.split())  # the header wraps where a long workspace path ends
    assert "not sandboxed" in words and "Run git status --short" not in screen
    assert "• run git status  exit 0" in screen and "• run git status --short  exit 0" in screen
    assert "?? a.py" in last_message(fake_api, 2)["content"]


# --- commands that change the next request --------------------------------------------------


def test_think_off_disables_thinking_in_the_next_request(two_files, fake_api, monkeypatch):
    fake_api.load([text("plain")])
    screen = chat(two_files, fake_api, monkeypatch, ["/think off" + ENTER, "hi" + ENTER])
    body = fake_api.chat_requests[0].body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body
    assert "thinking off" in screen


def test_think_max_sets_the_effort(two_files, fake_api, monkeypatch):
    fake_api.load([text("deep", reasoning="hm")])
    chat(two_files, fake_api, monkeypatch, ["/think max" + ENTER, "hi" + ENTER])
    body = fake_api.chat_requests[0].body
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "max"


def test_mode_read_only_refuses_an_edit(two_files, fake_api, monkeypatch):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("I cannot edit in read-only mode.")])
    screen = chat(two_files, fake_api, monkeypatch, ["/mode read-only" + ENTER, "bump" + ENTER])
    assert files(two_files) == ("x = 1\n", "y = 2\n")
    assert "not allowed in read-only mode" in last_message(fake_api, 1)["content"]
    assert "permission mode: read-only" in screen and "Edit 1 file" not in screen
    assert "denied" in screen


def test_model_switch_reaches_the_request(two_files, fake_api, monkeypatch):
    fake_api.load([text("fast")])
    screen = chat(two_files, fake_api, monkeypatch, ["/model deepseek-flash" + ENTER, "hi" + ENTER])
    assert fake_api.chat_requests[0].body["model"] == "deepseek-flash"
    assert "model: deepseek-flash" in screen


# --- undo, diff, cost, details -------------------------------------------------------------


def test_undo_restores_the_last_batch_and_diff_shows_the_session(two_files, fake_api, monkeypatch):
    (two_files / "README.md").write_text("changed before the session\n")  # not the session's
    fake_api.load(
        [tool_call("edit_file", **A_EDIT), tool_call("edit_file", **B_EDIT), text("done")]
    )
    keys = ["bump" + ENTER, "y", "y", "/diff" + ENTER, "/undo" + ENTER]
    screen = chat(two_files, fake_api, monkeypatch, keys)
    assert files(two_files) == ("x = 10\n", "y = 2\n")  # the last batch (b.py) is undone
    after_diff = screen.split("/diff", 1)[-1] if "/diff" in screen else screen
    tail = screen[screen.rindex("done") :]
    assert "-x = 1" in tail and "+y = 20" in tail and "README" not in after_diff
    assert "Undid batch" in screen and "b.py" in screen.split("Undid batch", 1)[1]


def test_cost_and_details_and_thinking(two_files, fake_api, monkeypatch):
    (two_files / "notes.txt").write_text("alpha\nbeta\n")
    fake_api.load(
        [
            tool_call("read_file", reasoning="Let me look at the notes first.", path="notes.txt"),
            text("Two lines.", reasoning="They have two lines."),
        ]
    )
    keys = ["read notes" + ENTER, "/cost" + ENTER, "/details" + ENTER, "/thinking" + ENTER]
    screen = chat(two_files, fake_api, monkeypatch, keys)
    assert "• read notes.txt 1-2" in screen
    assert "this session:" in screen and "cache hits" in screen
    details = screen.split("1. ", 1)[1]
    assert "1  alpha" in details and '"path": "notes.txt"' in details
    assert "Let me look at the notes first." in screen.split("/thinking", 1)[-1] or (
        "Let me look at the notes first." in screen and "They have two lines." in screen
    )
    assert screen.index("They have two lines.") > screen.index("this session:")


def test_details_shows_what_an_edit_wrote(two_files, fake_api, monkeypatch):
    wrote = "x = 10  # the new limit\nLIMIT = x"
    fake_api.load([tool_call("edit_file", **edit("a.py", "x = 1", wrote)), text("Bumped.")])
    screen = chat(two_files, fake_api, monkeypatch, ["bump" + ENTER, "y", "/details" + ENTER])
    details = screen.split("1. ", 1)[1]
    assert '"path": "a.py"' in details
    assert "old_string:\n     x = 1\n" in details
    assert "new_string:\n     x = 10  # the new limit\n     LIMIT = x\n" in details


# --- Ctrl-C -------------------------------------------------------------------------------


def test_ctrl_c_mid_stream_cancels_the_turn_and_the_next_prompt_works(
    two_files, fake_api, monkeypatch
):
    paragraphs = "".join(f"Paragraph {i} of a long answer.\n\n" for i in range(200))
    fake_api.load([{**text(paragraphs), "chunk_size": 8, "delay": 0.005}, text("second answer")])
    sent = []

    def on_write(so_far: str) -> None:  # the person presses Ctrl-C once the answer is flowing
        if "Paragraph 3 " in so_far and not sent:
            sent.append(True)
            sigint()

    screen = chat(
        two_files, fake_api, monkeypatch, ["long" + ENTER, "again" + ENTER], screen=Screen(on_write)
    )
    assert sent and "interrupted" in screen and "second answer" in screen
    assert "Paragraph 199" not in screen
    second = fake_api.chat_requests[1].body["messages"]
    assert second[-1]["content"] == "again"
    kept = second[-2]
    assert kept["role"] == "assistant" and kept["content"].startswith("Paragraph 0 of")


def test_ctrl_c_stops_a_hung_request(two_files, fake_api, monkeypatch):
    fake_api.load([{**text("never sent"), "hang": 30}, text("back")])
    ctrl_c_when_requested(fake_api, 1)
    screen = chat(two_files, fake_api, monkeypatch, ["wait" + ENTER, "again" + ENTER])
    assert "interrupted" in screen and "back" in screen
    assert last_message(fake_api, 1)["content"] == "again"


def test_ctrl_c_at_an_approval_cancels_the_turn_and_changes_nothing(
    two_files, fake_api, monkeypatch
):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("fine")])
    screen = chat(two_files, fake_api, monkeypatch, ["bump" + ENTER, CTRL_C, "next" + ENTER])
    assert files(two_files) == ("x = 1\n", "y = 2\n")
    assert "Cancelled; nothing was changed." in screen and "interrupted" in screen
    assert len(fake_api.chat_requests) == 2 and "fine" in screen


def test_ctrl_c_clears_the_line_and_twice_on_an_empty_one_leaves(two_files, fake_api, monkeypatch):
    screen = chat(two_files, fake_api, monkeypatch, ["half typed", CTRL_C, CTRL_C], end=CTRL_C)
    assert fake_api.chat_requests == []
    assert screen.count("Ctrl-C again") == 1


# --- input --------------------------------------------------------------------------------


def test_unknown_command_gets_a_suggestion_and_no_model_call(two_files, fake_api, monkeypatch):
    screen = chat(two_files, fake_api, monkeypatch, ["/undoo" + ENTER, "/help" + ENTER])
    assert "Unknown command /undoo. Did you mean /undo?" in screen
    assert "/think" in screen and "/compact" in screen
    assert fake_api.chat_requests == []


def test_a_message_starting_with_a_path_is_not_a_command(two_files, fake_api, monkeypatch):
    fake_api.load([text("it is")])
    chat(two_files, fake_api, monkeypatch, ["/usr/bin/env missing?" + ENTER])
    assert last_message(fake_api, 0)["content"] == "/usr/bin/env missing?"


def test_mention_attaches_the_file_and_backslash_continues_the_line(
    two_files, fake_api, monkeypatch
):
    fake_api.load([text("seen")])
    screen = chat(two_files, fake_api, monkeypatch, ["look at @a.py\\" + ENTER + "please" + ENTER])
    user = last_message(fake_api, 0)["content"]
    assert user.startswith("look at @a.py\nplease")
    assert '<file path="a.py">\nx = 1\n</file>' in user
    assert "attached a.py" in screen


def test_pasted_lines_and_alt_enter_stay_one_message(two_files, fake_api, monkeypatch):
    fake_api.load([text("one message")])
    paste = "\x1b[200~first line\r\nsecond line\x1b[201~"
    chat(two_files, fake_api, monkeypatch, [paste, "\x1b\r", "third" + ENTER])
    assert last_message(fake_api, 0)["content"] == "first line\nsecond line\nthird"
    assert len(fake_api.chat_requests) == 1


def test_history_is_kept_per_repository(two_files, fake_api, monkeypatch):
    fake_api.load([text("a")])
    chat(two_files, fake_api, monkeypatch, ["remember this prompt" + ENTER])
    assert "remember this prompt" in history_path(two_files).read_text()


# --- sessions -----------------------------------------------------------------------------


def test_continue_shows_the_history_and_keeps_the_cache_prefix(two_files, fake_api, monkeypatch):
    fake_api.load([tool_call("read_file", path="a.py"), text("first answer"), text("second")])
    chat(two_files, fake_api, monkeypatch, ["one" + ENTER])
    screen = chat(two_files, fake_api, monkeypatch, ["two" + ENTER], continue_=True)
    first, second = (r.body["messages"] for r in fake_api.chat_requests[1:])
    assert second[: len(first)] == first  # byte-identical prefix: the cache keeps hitting
    assert "› one" in screen and "• read a.py" in screen and "first answer" in screen
    assert "Resumed session" in screen
    assert fake_api.chat_requests[2].body["messages"][-1]["content"] == "two"


def test_resume_picker_and_clear(two_files, fake_api, monkeypatch):
    fake_api.load([text("from the first"), text("from the second"), text("back in the first")])
    chat(two_files, fake_api, monkeypatch, ["first session" + ENTER])
    chat(two_files, fake_api, monkeypatch, ["/clear" + ENTER, "second session" + ENTER])
    # newest first: 1 is "second session", 2 the first one (the empty one /clear left is not shown)
    screen = chat(two_files, fake_api, monkeypatch, ["2" + ENTER, "more" + ENTER], resume="")
    picker = screen.split("› first session")[0]
    assert "1  " in picker and "second session" in picker and "  3  " not in picker
    messages = fake_api.chat_requests[2].body["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["first session", "more"]


def test_sessions_lists_this_repository(two_files, fake_api, monkeypatch):
    fake_api.load([text("ok")])
    screen = chat(two_files, fake_api, monkeypatch, ["listed prompt" + ENTER, "/sessions" + ENTER])
    assert "* " in screen and "listed prompt" in screen.split("/sessions")[-1]


# --- piped use ----------------------------------------------------------------------------


def test_piped_task_runs_like_run(two_files, fake_api):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("Bumped.")])
    done = v4code(two_files, server=fake_api, stdin="bump x\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Bumped." and files(two_files)[0] == "x = 10\n"


def test_print_flag_and_exit_codes(two_files, fake_api):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("Cannot.")])
    done = v4code(two_files, "-p", "bump x", "--permission-mode", "read-only", server=fake_api)
    assert done.returncode == 5 and files(two_files)[0] == "x = 1\n"


def test_no_terminal_and_nothing_piped_never_waits(two_files, fake_api):
    done = v4code(two_files, server=fake_api, stdin="")
    assert done.returncode == 2 and "no task" in done.stderr


def test_thinking_on_streams_it_in_full(two_files, fake_api, monkeypatch):
    fake_api.load([text("Answer.", reasoning="First I consider the options carefully.")])
    screen = chat(two_files, fake_api, monkeypatch, ["/thinking on" + ENTER, "hi" + ENTER])
    assert "First I consider the options carefully." in screen
    assert (
        screen.index("First I consider") < screen.index("▸ thought for") < screen.index("Answer.")
    )


def test_init_writes_agents_md_through_the_agent(two_files, fake_api, monkeypatch):
    fake_api.load(
        [
            tool_calls(
                [("write_file", {"path": "AGENTS.md", "content": "# Agents\n\nRun `pytest`.\n"})]
            ),
            text("Wrote AGENTS.md."),
        ]
    )
    screen = chat(two_files, fake_api, monkeypatch, ["/init" + ENTER, "y"])
    task = fake_api.chat_requests[0].body["messages"][-1]["content"]
    assert task.startswith("Write an AGENTS.md at the repository root")
    assert (two_files / "AGENTS.md").read_text() == "# Agents\n\nRun `pytest`.\n"
    assert "Edit 1 file: AGENTS.md (new, +3)" in screen


def test_compound_command_is_not_offered_always(two_files, fake_api, monkeypatch):
    from v4code.ui.approval import prefix_covers

    assert prefix_covers("run_command", "pytest -q tests")
    assert not prefix_covers("run_command", "sleep 2; rm -rf build")
    fake_api.load(
        [
            tool_call("run_command", command="echo a; echo b"),
            tool_call("run_command", command="echo a; echo b"),
            text("ok"),
        ]
    )
    screen = chat(two_files, fake_api, monkeypatch, ["run" + ENTER, "a", "y", "y"])
    assert "Press y or n" in screen  # "a" is not an answer here
    assert screen.count("Run echo a; echo b") == 2  # asked again the second time
