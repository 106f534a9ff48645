"""Compaction keeps the model's todo list word for word (the summary may not), and `/todo`
still prints it afterwards."""

from __future__ import annotations

from pathlib import Path

from chat_harness import ENTER, chat
from fake_api import text, tool_call

ITEMS = [
    {"step": "Read the parser", "status": "done"},
    {"step": "Fix the off-by-one in tokenize", "status": "in_progress"},
    {"step": "Run the tests", "status": "pending"},
]


def test_compaction_keeps_the_todo_list_verbatim(workspace: Path, fake_api, monkeypatch) -> None:
    fake_api.load(
        [
            tool_call("update_plan", items=ITEMS),
            text("a1"),
            text("a2"),
            text("a3"),
            text("Earlier: a parser fix is under way."),  # the summary forgets the list
            text("Fourth answer."),
        ]
    )
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "/compact" + ENTER]
    screen = chat(workspace, fake_api, monkeypatch, [*keys, "four" + ENTER, "/todo" + ENTER])
    assert "Compacted" in screen
    first = fake_api.chat_requests[5].body["messages"][1]["content"]
    assert first.startswith("Summary of the earlier part")
    assert "[x] Read the parser\n[>] Fix the off-by-one in tokenize\n[ ] Run the tests" in first
    after_todo = screen.rsplit("Fourth answer.", 1)[1]  # what /todo printed after the last answer
    assert "  [>] Fix the off-by-one in tokenize\n  [ ] Run the tests" in after_todo
