"""What the model is given beyond the messages: compaction near the context window, and
AGENTS.md files of subfolders, attached once to the first tool result that touches them."""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_harness import ENTER, chat, ctrl_c_when_requested
from fake_api import text, tool_call

from v4code.sessions import list_sessions, read_session

BIG = {"prompt_tokens": 19_000, "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 19_000}


def contents(request) -> list[str]:
    return [m.get("content") for m in request.body["messages"][1:]]


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "a.py").write_text("x = 1\n")
    return workspace


# --- compaction ---------------------------------------------------------------------------


def test_compact_on_demand_keeps_recent_turns_and_resume_rebuilds_it(repo, fake_api, monkeypatch):
    fake_api.load(
        [text("a1"), text("a2"), text("a3"), text("Earlier: the user said one, two."), text("a4")]
    )
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "/compact" + ENTER, "four" + ENTER]
    screen = chat(repo, fake_api, monkeypatch, keys)
    assert "Compacted 2 older messages" in screen
    summary_request = fake_api.chat_requests[3].body
    assert "tools" not in summary_request and summary_request["thinking"] == {"type": "disabled"}
    assert (
        "You summarise the earlier part of a coding session"
        in (summary_request["messages"][0]["content"])
    )
    assert "USER: one" in summary_request["messages"][1]["content"]
    after = contents(fake_api.chat_requests[4])
    assert after[0].endswith("Earlier: the user said one, two.")
    assert after[2:] == ["two", "a2", "three", "a3", "four"]
    resumed = read_session(list_sessions(repo)[0])
    assert [m.content for m in resumed.messages[3:]] == ["two", "a2", "three", "a3", "four", "a4"]


def test_compact_with_too_little_history_says_so(repo, fake_api, monkeypatch):
    fake_api.load([text("a1")])
    screen = chat(repo, fake_api, monkeypatch, ["one" + ENTER, "/compact" + ENTER])
    assert "Nothing to compact yet" in screen and len(fake_api.chat_requests) == 1


def test_automatic_compaction_near_the_context_window(repo, fake_api, monkeypatch):
    monkeypatch.setenv("V4CODE_CONTEXT_WINDOW", "20000")
    fake_api.load(
        [
            {**text("a1"), "usage": BIG},
            {**text("a2"), "usage": BIG},
            {**text("a3"), "usage": BIG},
            text("summary of one"),
            text("Fourth answer."),
        ]
    )
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "four" + ENTER]
    screen = chat(repo, fake_api, monkeypatch, keys)
    assert "% full; summarising older turns" in screen and "Compacted 2 older messages" in screen
    after = contents(fake_api.chat_requests[4])
    assert after[0].endswith("summary of one")
    assert after[1:] == [
        "Understood; I will continue from there.",
        "two",
        "a2",
        "three",
        "a3",
        "four",
    ]
    assert screen.index("Compacted") < screen.index("Fourth answer.")


def test_automatic_compaction_inside_a_long_turn(repo, fake_api, monkeypatch):
    monkeypatch.setenv("V4CODE_CONTEXT_WINDOW", "20000")
    monkeypatch.setenv("V4CODE_PERMISSION_MODE", "auto-edit")
    fake_api.load(
        [
            text("first answer " * 20),
            text("second answer " * 20),
            {**tool_call("read_file", path="a.py"), "usage": BIG},
            text("summary"),
            text("done"),
        ]
    )
    chat(repo, fake_api, monkeypatch, ["one" + ENTER, "two" + ENTER, "three" + ENTER])
    last = fake_api.chat_requests[4].body["messages"]
    assert last[1]["content"].endswith("summary")
    assert [m["role"] for m in last[3:]] == ["user", "assistant", "user", "assistant", "tool"]
    assert last[-1]["content"].startswith("     1\tx = 1")  # the turn in progress, verbatim


def test_ctrl_c_during_compaction_leaves_the_conversation_unchanged(repo, fake_api, monkeypatch):
    fake_api.load([text("a1"), text("a2"), text("a3"), {**text("slow"), "hang": 30}, text("a4")])
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "/compact" + ENTER, "four" + ENTER]
    ctrl_c_when_requested(fake_api, 4)
    screen = chat(repo, fake_api, monkeypatch, keys)
    assert "Compaction cancelled" in screen and "Compacted" not in screen
    assert contents(fake_api.chat_requests[-1]) == ["one", "a1", "two", "a2", "three", "a3", "four"]


# --- nested AGENTS.md ---------------------------------------------------------------------


def test_nested_agents_md_beyond_the_prompt_budget_comes_with_the_first_read_there(
    repo, fake_api, monkeypatch
):
    # the root file fills the system prompt's instruction budget, so pkg/AGENTS.md is left out
    (repo / "AGENTS.md").write_text("Root rule: be brief.\n" + "Background. " * 4000)
    pkg = repo / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (repo / "pkg" / "AGENTS.md").write_text("In pkg: use tabs.\n")
    (pkg / "mod.py").write_text("y = 2\n")
    (pkg / "other.py").write_text("z = 3\n")
    fake_api.load(
        [
            tool_call("read_file", path="a.py"),
            tool_call("read_file", path="pkg/sub/mod.py"),
            tool_call("read_file", path="pkg/sub/other.py"),
            text("read them"),
            tool_call("grep", pattern="z", path="pkg"),
            text("again"),
        ]
    )
    screen = chat(repo, fake_api, monkeypatch, ["read" + ENTER])
    system = fake_api.chat_requests[0].body["messages"][0]["content"]
    assert "Root rule: be brief." in system and "use tabs" not in system
    results = [m for m in fake_api.chat_requests[3].body["messages"] if m["role"] == "tool"]
    assert "use tabs" not in results[0]["content"]
    assert results[1]["content"].endswith(
        "[Project instructions from pkg/AGENTS.md, for the files under pkg/]\nIn pkg: use tabs."
    )
    assert "use tabs" not in results[2]["content"]
    assert "Read pkg/AGENTS.md" in screen
    # the system prompt never changed, so every request shares the cached prefix
    assert {r.body["messages"][0]["content"] for r in fake_api.chat_requests} == {system}

    # a resumed session knows the model has seen it already
    chat(repo, fake_api, monkeypatch, ["more" + ENTER], continue_=True)
    last = [m for m in fake_api.chat_requests[-1].body["messages"] if m["role"] == "tool"][-1]
    assert "use tabs" not in last["content"]
