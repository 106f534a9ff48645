"""The interactive chat driven through prompt-toolkit pipe input against the fake server."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from fake_api import FakeDeepSeek, text, tool_call, tool_calls
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from v4code.ui.interactive import run_interactive

ENTER = "\r"


def chat(
    workspace: Path,
    server: FakeDeepSeek,
    monkeypatch: pytest.MonkeyPatch,
    keys: list[str],
    on_agent=None,
) -> str:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    monkeypatch.setenv("V4CODE_SANDBOX", "false")
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, highlight=False)
    with create_pipe_input() as pipe:
        for chunk in keys:
            pipe.send_text(chunk)
        pipe.send_text("\x04")  # Ctrl-D leaves
        code = run_interactive(
            continue_=False,
            resume=None,
            flags={},
            input=pipe,
            output=DummyOutput(),
            console=console,
            on_agent=on_agent,
        )
    assert code == 0
    return out.getvalue()


EDITS = [
    ("edit_file", {"path": "a.py", "old_string": "x = 1", "new_string": "x = 10"}),
    ("edit_file", {"path": "b.py", "old_string": "y = 2", "new_string": "y = 20"}),
]


def files(workspace: Path) -> tuple[str, str]:
    return (workspace / "a.py").read_text(), (workspace / "b.py").read_text()


@pytest.fixture
def two_files(workspace: Path) -> Path:
    (workspace / "a.py").write_text("x = 1\n")
    (workspace / "b.py").write_text("y = 2\n")
    return workspace


def test_edit_two_files_with_approval(two_files: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    fake_api.load(
        [tool_calls(EDITS, reasoning="two edits"), text("Both bumped.", reasoning="done")]
    )
    screen = chat(two_files, fake_api, monkeypatch, ["bump both" + ENTER, "y" + ENTER, "y" + ENTER])
    assert files(two_files) == ("x = 10\n", "y = 20\n")
    assert "-x = 1" in screen and "+y = 20" in screen and "Proposed edit: a.py" in screen
    assert "Both bumped." in screen and "cached" in screen and "thought for" in screen


def test_rejected_edit_with_reason(two_files: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    fake_api.load([tool_call("edit_file", **EDITS[0][1]), text("Understood.")])
    chat(two_files, fake_api, monkeypatch, ["bump" + ENTER, "n" + ENTER, "use a constant" + ENTER])
    assert files(two_files) == ("x = 1\n", "y = 2\n")
    last = fake_api.chat_requests[1].body["messages"][-1]
    assert last["role"] == "tool" and "use a constant" in last["content"]


def test_always_remembers_the_tool(two_files: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    fake_api.load(
        [tool_call("edit_file", **EDITS[0][1]), tool_call("edit_file", **EDITS[1][1]), text("ok")]
    )
    chat(two_files, fake_api, monkeypatch, ["go" + ENTER, "a" + ENTER])
    assert files(two_files) == ("x = 10\n", "y = 20\n")


def test_think_off_and_mode_read_only(two_files: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    fake_api.load([tool_call("edit_file", **EDITS[0][1]), text("Cannot edit in read-only mode.")])
    screen = chat(
        two_files,
        fake_api,
        monkeypatch,
        ["/think off" + ENTER, "/mode read-only" + ENTER, "bump" + ENTER],
    )
    body = fake_api.chat_requests[0].body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body
    assert files(two_files) == ("x = 1\n", "y = 2\n")
    assert (
        "not allowed in read-only mode" in fake_api.chat_requests[1].body["messages"][-1]["content"]
    )
    assert "permission mode: read-only" in screen


def test_undo_restores_the_last_batch(two_files: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    fake_api.load([tool_call("edit_file", **EDITS[0][1]), text("done")])
    chat(two_files, fake_api, monkeypatch, ["bump" + ENTER, "y" + ENTER, "/undo" + ENTER])
    assert files(two_files) == ("x = 1\n", "y = 2\n")


def test_ctrl_c_mid_stream_keeps_the_session(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    fake_api.load([{**text("word " * 400), "chunk_size": 5, "delay": 0.01}, text("second answer")])
    fake_api.allow_leftover = True

    def cancel_soon(agent) -> None:
        threading.Timer(0.3, agent.cancel.cancel).start()

    screen = chat(
        two_files, fake_api, monkeypatch, ["long" + ENTER, "again" + ENTER], on_agent=cancel_soon
    )
    assert "interrupted" in screen and "second answer" in screen
    second = fake_api.chat_requests[1].body["messages"]
    assert second[-1]["content"] == "again" and second[-2]["role"] == "assistant"


def test_unknown_command_suggests_and_calls_nothing(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    screen = chat(two_files, fake_api, monkeypatch, ["/undoo" + ENTER, "/help" + ENTER])
    assert "Did you mean /undo?" in screen and "/think" in screen
    assert fake_api.chat_requests == []


def test_mention_attaches_the_file_and_multiline(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    fake_api.load([text("seen")])
    chat(two_files, fake_api, monkeypatch, ["look at @a.py\\" + ENTER + "please" + ENTER])
    user = fake_api.chat_requests[0].body["messages"][1]["content"]
    assert user.startswith("look at @a.py\nplease") and '<file path="a.py">\nx = 1' in user


def test_continue_resumes_with_the_same_prefix(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    fake_api.load([text("first"), text("second")])
    chat(two_files, fake_api, monkeypatch, ["one" + ENTER])
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("two" + ENTER + "\x04")
        run_interactive(
            continue_=True,
            resume=None,
            flags={},
            input=pipe,
            output=DummyOutput(),
            console=Console(file=out, width=100, color_system=None),
        )
    first, second = (r.body["messages"] for r in fake_api.chat_requests)
    assert second[: len(first)] == first
    assert "› one" in out.getvalue() and "resumed session" in out.getvalue()


def test_compact_on_demand_and_resume_rebuilds_it(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    fake_api.load(
        [text("a1"), text("a2"), text("a3"), text("Earlier: the user said one, two."), text("a4")]
    )
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "/compact" + ENTER, "four" + ENTER]
    screen = chat(two_files, fake_api, monkeypatch, keys)
    assert "Compacted" in screen
    summary_request = fake_api.chat_requests[3].body
    assert (
        "tools" not in summary_request and "USER: one" in summary_request["messages"][1]["content"]
    )
    after = [m["content"] for m in fake_api.chat_requests[4].body["messages"][1:]]
    assert after[0].endswith("Earlier: the user said one, two.")
    assert after[2:] == ["two", "a2", "three", "a3", "four"]

    from v4code.sessions import list_sessions, read_session

    resumed = read_session(list_sessions(two_files)[0])
    assert [m.content for m in resumed.messages[3:]] == ["two", "a2", "three", "a3", "four", "a4"]


def test_auto_compaction_near_the_context_window(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    monkeypatch.setenv("V4CODE_CONTEXT_WINDOW", "1000")
    big = {"prompt_tokens": 950, "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 950}
    fake_api.load(
        [
            {**text("a1"), "usage": big},
            {**text("a2"), "usage": big},
            {**text("a3"), "usage": big},
            text("summary"),
            text("a4"),
        ]
    )
    screen = chat(
        two_files,
        fake_api,
        monkeypatch,
        ["one" + ENTER, "two" + ENTER, "three" + ENTER, "four" + ENTER],
    )
    assert "Compacted" in screen
    assert fake_api.chat_requests[4].body["messages"][1]["content"].endswith("summary")


def test_details_show_the_full_tool_output(
    two_files: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    fake_api.load([tool_call("read_file", path="a.py"), text("read it")])
    screen = chat(two_files, fake_api, monkeypatch, ["read a" + ENTER, "/details" + ENTER])
    before, _, after = screen.partition("cached")
    assert "• read a.py 1-1" in before and "x = 1" not in before  # one compact line
    assert "• read a.py 1-1" in after and "1  x = 1" in after  # the full output on demand
