"""Text a server or a repository chose never reaches the terminal raw: a model id with OSC 52
(clipboard write), OSC 8 (hyperlink) or CSI 2J (clear screen) in `engine probe` and in `run`'s
summary, a server's error, and bidi controls in what an approval line shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chat_harness import ENTER, chat
from cli_harness import v4code
from fake_api import FakeDeepSeek, fault, text, tool_call

from v4code.ui import approval

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x9b2J"
HOSTILE_ID = f"v4{OSC52}{OSC8}{CLEAR}\u202eflash"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f"


def raw_controls(shown: str) -> list[str]:
    """The characters a terminal would obey or that reorder a line, as they were printed."""
    return [c for c in shown if c in "\x1b\x07\x9b" or c in BIDI]


def test_engine_probe_shows_a_model_id_with_escapes_escaped(fake_api: FakeDeepSeek) -> None:
    fake_api.configure(require_auth=False, served_model=HOSTILE_ID, accepted_models=None)
    fake_api.allow_leftover = True
    fake_api.load([text("It works.")] * 5)
    result = v4code(Path.cwd(), "engine", "probe", fake_api.base_url, "--dialect", "deepseek")
    shown = result.stdout + result.stderr
    assert "flash" in shown
    assert raw_controls(shown) == []
    assert "\\x1b]52" in shown


def test_run_summary_shows_the_response_model_escaped(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    fake_api.configure(served_model=HOSTILE_ID, accepted_models=None)
    fake_api.load([text("Done.")])
    result = v4code(workspace, "run", "-m", "house-model", "say done", server=fake_api)
    assert result.returncode == 0, result.stderr
    assert "no price" in result.stderr  # the summary names the response's model
    assert raw_controls(result.stderr) == []
    assert "\\x1b]52" in result.stderr


def test_a_server_error_is_shown_escaped(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([fault(400, message=f"bad request {OSC52}{CLEAR}\u202e")])
    result = v4code(workspace, "run", "hi", server=fake_api)
    assert result.returncode != 0
    assert "bad request" in result.stderr
    assert raw_controls(result.stderr) == []


def test_an_approval_question_shows_a_prefix_with_bidi_controls_as_escapes(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_api.load([tool_call("run_command", command="ls\u202e -la"), text("ok")])
    asked: list[str] = []
    real_decide = approval.ChatApprover.decide

    def recording(ask: Callable[[str], str]) -> Callable[[str], str]:
        def ask_and_record(question: str) -> str:
            asked.append(question)
            return ask(question)

        return ask_and_record

    def decide(self: approval.ChatApprover, request: Any) -> Any:
        for name in ("ask", "ask_key"):  # a line or a single key: whichever asks
            ask = getattr(self, name, None)
            if ask is not None and not getattr(ask, "recorded", False):
                wrapped = recording(ask)
                wrapped.recorded = True  # type: ignore[attr-defined]
                setattr(self, name, wrapped)
        return real_decide(self, request)

    monkeypatch.setattr(approval.ChatApprover, "decide", decide)
    chat(workspace, fake_api, monkeypatch, ["list it" + ENTER, "n" + ENTER, ENTER])
    assert asked and raw_controls("".join(asked)) == []
    assert "\\u202e" in asked[0]


@pytest.mark.parametrize("control", list(BIDI))
def test_an_approval_line_shows_bidi_controls_as_escapes(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, control: str
) -> None:
    command = f"echo safe {control}# && rm -rf ~"
    fake_api.load([tool_call("run_command", command=command), text("ok")])
    screen = chat(workspace, fake_api, monkeypatch, ["run it" + ENTER, "n" + ENTER, ENTER])
    assert "Run echo safe" in screen
    assert raw_controls(screen) == []
    assert f"\\u{ord(control):04x}" in screen


WORKFLOW_COMMANDS = (
    "Done.\n::add-mask::Done\n  ::error file=setup.py,line=1::forged\n"
    "\t::stop-commands::token\nthe end ::notice:: mid-line"
)


def test_under_github_actions_no_printed_line_is_a_workflow_command(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    # Streamed in small chunks, so a line's `::` arrives split across writes too.
    fake_api.load([text(WORKFLOW_COMMANDS, chunk_size=1), text(WORKFLOW_COMMANDS)])
    env = {"GITHUB_ACTIONS": "true"}
    result = v4code(workspace, "run", "hi", server=fake_api, env=env)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "add-mask::Done" in shown and "forged" in shown and "mid-line" in shown
    commands = [line for line in shown.splitlines() if line.lstrip().startswith("::")]
    assert commands == []
    assert "the end ::notice:: mid-line" in shown  # only a line's start is changed
    elsewhere = v4code(workspace, "run", "hi", server=fake_api, env={"GITHUB_ACTIONS": None})
    assert "\n::add-mask::Done\n" in elsewhere.stdout  # outside Actions, printed as it came
