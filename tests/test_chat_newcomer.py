"""What a newcomer following the README met in the chat, driven as they typed it (prompt-toolkit
pipe input against the fake DeepSeek server), asserting what they saw.

- `/details` after a turn that kept a todo list shows the list's items (it crashed on them);
  `run -o jsonl` and the session log carry them as objects, not as their repr.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from chat_harness import CTRL_C, ENTER, Screen, chat, sigint
from cli_harness import session_logs, v4code
from fake_api import text, tool_call

ITEMS = [
    {"step": "Fix add", "status": "in_progress"},
    {"step": "Run the tests", "status": "pending"},
]


def test_details_after_update_plan_shows_the_items(workspace: Path, fake_api, monkeypatch):
    fake_api.load([tool_call("update_plan", items=ITEMS), text("Listed.")])
    keys = ["make a list" + ENTER, "/details" + ENTER]
    screen = chat(workspace, fake_api, monkeypatch, keys)
    assert "internal error" not in screen
    assert '"step": "Fix add", "status": "in_progress"' in screen
    assert "Todo list updated (0 of 2 done)." in screen.split("1. ", 1)[1]


def test_jsonl_and_the_session_log_carry_todo_items_as_objects(workspace: Path, fake_api):
    fake_api.load([tool_call("update_plan", items=ITEMS), text("Listed.")])
    done = v4code(workspace, "run", "-o", "jsonl", "make a list", server=fake_api)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    started = next(e for e in events if e["type"] == "tool_started")
    assert started["args"] == {"items": ITEMS}
    logged = [json.loads(line) for line in session_logs().splitlines()]
    args = [r["event"]["args"] for r in logged if r.get("event", {}).get("type") == "tool_started"]
    assert args == [{"items": ITEMS}]


def test_lsp_says_a_start_count_only_for_a_server_that_ran(
    workspace: Path, fake_api, monkeypatch, v4code_home: Path
):
    monkeypatch.delenv("V4CODE_DIAGNOSTICS")  # the user's config says (conftest turns it off)
    (v4code_home / "config.toml").write_text('lsp_python = "no-such-language-server --stdio"\n')
    (workspace / "calc.py").write_text("X = 1\n")
    fake_api.load([tool_call("read_file", path="calc.py"), text("Read it.")])
    screen = chat(workspace, fake_api, monkeypatch, ["read calc.py" + ENTER, "/lsp" + ENTER])
    line = next(s for s in screen.split("/lsp", 1)[-1].splitlines() if s.startswith("python"))
    assert line.endswith("basedpyright: its command was not found"), line
    assert "started" not in line


def test_a_mention_that_looks_like_a_path_but_names_no_file_is_said(
    workspace: Path, fake_api, monkeypatch
):
    (workspace / "calc.py").write_text("X = 1\n")
    fake_api.load([text("Sure.")])
    typed = "make @nothere.py a frozen @dataclass like @app.route in @src/gone.txt"
    screen = chat(workspace, fake_api, monkeypatch, [typed + ENTER])
    notices = [line for line in screen.splitlines() if "not attached" in line]
    assert notices == ["no such file here, not attached: @nothere.py, @src/gone.txt (sent as text)"]
    assert fake_api.chat_requests[0].messages[-1]["content"] == typed


# --- yes-or-no questions: one key answers, nothing typed after it is lost -----------------

STEPS = ["Fix the operator in add"]


def propose(summary: str) -> dict:
    return tool_call("propose_plan", steps=STEPS, files=["calc.py"], checks=[], summary=summary)


def test_plan_no_then_the_reason_typed_straight_on_and_ctrl_c_leaves_it_waiting(
    workspace: Path, fake_api, monkeypatch
):
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    fake_api.load([propose("First idea."), propose("Second idea.")])
    keys = ["/plan fix add" + ENTER, "nnot now" + ENTER, CTRL_C, "/mode auto-edit" + ENTER]
    screen = chat(workspace, fake_api, monkeypatch, keys)
    assert "Answer y or n" not in screen
    assert "My reason: not now." in fake_api.chat_requests[1].messages[-1]["content"]
    assert "The plan waits for your answer" in screen
    assert "permission mode: auto-edit" in screen.rsplit("The plan waits for your answer", 1)[1]
    assert len(fake_api.chat_requests) == 2


def test_no_to_attaching_a_secret_file_keeps_the_next_message(
    workspace: Path, fake_api, monkeypatch
):
    (workspace / ".env").write_text("TOKEN=hunter2-secret\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("X = 1\n")
    fake_api.load([text("No env then."), text("Listed.")])
    keys = ["check @.env" + ENTER, "n", "list @src/ please" + ENTER]
    screen = chat(workspace, fake_api, monkeypatch, keys)
    first, second = (r.messages[-1]["content"] for r in fake_api.chat_requests)
    assert "(a secret file: not attached)" in first and "hunter2" not in first
    assert second.startswith("list @src/ please") and "src/app.py" in second
    assert "Listed." in screen


def test_enter_at_attach_takes_the_default_no(workspace: Path, fake_api, monkeypatch):
    (workspace / ".env").write_text("TOKEN=hunter2-secret\n")
    fake_api.load([text("No env then.")])
    chat(workspace, fake_api, monkeypatch, ["check @.env" + ENTER, ENTER])
    assert "(a secret file: not attached)" in fake_api.chat_requests[0].messages[-1]["content"]


def test_no_to_trust_and_the_first_message_typed_straight_on(
    workspace: Path, fake_api, monkeypatch
):
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text('model = "deepseek-v4-flash"\n')
    fake_api.load([text("Hello.")])
    screen = chat(workspace, fake_api, monkeypatch, ["nhi" + ENTER])
    assert "Answer y or n" not in screen
    assert [r.messages[-1]["content"] for r in fake_api.chat_requests] == ["hi"]
    assert fake_api.chat_requests[0].body["model"] != "deepseek-v4-flash"  # not trusted


def test_ctrl_c_mid_answer_counts_what_streamed_and_says_it_is_estimated(
    workspace: Path, fake_api, monkeypatch
):
    paragraphs = "".join(f"Paragraph {i} of a long answer.\n\n" for i in range(200))
    fake_api.load([{**text(paragraphs), "chunk_size": 8, "delay": 0.005}])
    pressed = []

    def on_write(so_far: str) -> None:  # the person presses Ctrl-C once the answer is flowing
        if "Paragraph 3 " in so_far and not pressed:
            pressed.append(True)
            sigint()

    screen = chat(workspace, fake_api, monkeypatch, ["long" + ENTER], screen=Screen(on_write))
    (summary,) = [line for line in screen.splitlines() if line.endswith("· interrupted")]
    assert pressed and "$0.0000" not in summary
    assert re.search(r"^≈[\d,]+ in \(\d+% cached\) · [\d,]+ out · ≈\$0\.\d{4} · ", summary), summary
