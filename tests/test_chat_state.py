"""What the chat and a resumed session keep and tell: settings, totals, undo notes, the model
check, figures shown with one precision, an interrupted call's line, Ctrl-C feedback."""

from __future__ import annotations

import io
import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from fake_api import FakeDeepSeek, text, tool_call
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from scripted_backend import ScriptedBackend, reply, scripted_agent

from v4code.cancel import CancelToken
from v4code.compaction import SUMMARY_HEADER
from v4code.config import Settings
from v4code.events import ToolStarted, TurnFinished
from v4code.pricing import format_cost
from v4code.protocols import Approval, ApprovalRequest
from v4code.sessions import SessionLog
from v4code.toolkit import ToolRegistry
from v4code.types import Message, ToolCall, ToolSummary
from v4code.ui.render import TurnView, history_renderables
from v4code.ui.repl import run_repl

ENTER = "\r"


def chat(workspace: Path, server: FakeDeepSeek, monkeypatch, keys: list[str], **kw) -> str:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-chat")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    screen = io.StringIO()
    console = Console(file=screen, width=100, color_system=None, highlight=False)
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys) + "\x04" * 3)
        code = run_repl(flags={}, input=pipe, output=DummyOutput(), console=console, **kw)
    assert code == 0
    return screen.getvalue()


@pytest.fixture
def one_file(workspace: Path) -> Path:
    (workspace / "a.py").write_text("x = 1\n")
    return workspace


A_EDIT = {"path": "a.py", "old_string": "x = 1", "new_string": "x = 10"}


def notes_in(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "system"][1:]


# --- /model checks the server's list ----------------------------------------------------------


def test_model_typo_is_refused_by_the_servers_list(one_file, fake_api, monkeypatch):
    fake_api.load([text("hi")])
    screen = chat(
        one_file, fake_api, monkeypatch, ["/model deepseek-v5-typo" + ENTER, "hi" + ENTER]
    )
    assert "has no model 'deepseek-v5-typo'" in screen
    assert fake_api.chat_requests[0].body["model"] != "deepseek-v5-typo"


def test_model_is_taken_on_trust_when_the_server_lists_none() -> None:
    from v4code.ui.slash import cmd_model

    said: list[str] = []
    agent = SimpleNamespace(
        backend=SimpleNamespace(list_models=lambda: None),
        settings=Settings(),
        set_model=lambda name: setattr(agent, "settings", Settings(model=name)),
    )
    console = SimpleNamespace(print=lambda text, **kw: said.append(str(text)))
    chat = SimpleNamespace(
        agent=agent, console=console, say=lambda text, style=None: said.append(text)
    )
    cmd_model(chat, "my-engine-model")
    assert agent.settings.model == "my-engine-model"
    assert any("lists no models" in s for s in said)
    assert any("cost shows as unknown" in s for s in said)


# --- undo tells the model -----------------------------------------------------------------


def test_undo_in_the_chat_is_told_to_the_model_once(one_file, fake_api, monkeypatch):
    fake_api.load([tool_call("edit_file", **A_EDIT), text("done"), text("ok"), text("ok")])
    keys = ["bump" + ENTER, "y", "/undo" + ENTER, "next" + ENTER, "again" + ENTER]
    chat(one_file, fake_api, monkeypatch, keys)
    assert (one_file / "a.py").read_text() == "x = 1\n"
    third, fourth = fake_api.chat_requests[2].body, fake_api.chat_requests[3].body
    assert len(notes_in(third)) == 1 and "a.py" in notes_in(third)[0]
    assert third["messages"][-2]["role"] == "system"  # appended, right before the new prompt
    assert third["messages"][-1]["content"] == "next"
    assert notes_in(fourth) == notes_in(third)  # once, not again


def test_undo_from_the_command_line_reaches_the_resumed_session(one_file, fake_api, monkeypatch):
    from v4code.commands.undo import undo_command

    fake_api.load([tool_call("edit_file", **A_EDIT), text("done"), text("ok")])
    chat(one_file, fake_api, monkeypatch, ["bump" + ENTER, "y"])
    assert (one_file / "a.py").read_text() == "x = 10\n"
    undone = CliRunner().invoke(undo_command, ["-C", str(one_file)])
    assert undone.exit_code == 0, undone.output
    chat(one_file, fake_api, monkeypatch, ["next" + ENTER], continue_=True)
    note = notes_in(fake_api.chat_requests[2].body)
    assert len(note) == 1 and "a.py" in note[0] and "undid" in note[0]


# --- a resumed session goes on where it was ---------------------------------------------------


def test_resume_keeps_settings_and_totals(one_file, fake_api, monkeypatch):
    usage = {"prompt_tokens": 40_000, "completion_tokens": 10, "prompt_cache_miss_tokens": 40_000}
    fake_api.load([{**text("first"), "usage": usage}, text("second")])
    keys = ["/model deepseek-flash" + ENTER, "/think off" + ENTER, "/mode auto-edit" + ENTER]
    chat(one_file, fake_api, monkeypatch, [*keys, "hi" + ENTER])
    screen = chat(
        one_file, fake_api, monkeypatch, ["/cost" + ENTER, "more" + ENTER], continue_=True
    )
    body = fake_api.chat_requests[1].body
    assert body["model"] == "deepseek-flash"
    assert body.get("thinking", {}).get("type") != "enabled"
    cost_line = next(line for line in screen.splitlines() if "this session:" in line)
    assert "40,000 tokens in" in cost_line and "$0.0000" not in cost_line


def test_resumed_compaction_summary_shows_as_a_summary() -> None:
    history = [
        Message("user", f"{SUMMARY_HEADER}\n\nWe fixed the parser."),
        Message("assistant", "Understood; I will continue from there."),
        Message("user", "and now the tests"),
    ]
    console = Console(file=io.StringIO(), width=100, color_system=None)
    for item in history_renderables(history):
        console.print(item)
    shown = console.file.getvalue()
    assert "compacted into a summary" in shown and "› Summary of" not in shown
    assert "› and now the tests" in shown


# --- figures ----------------------------------------------------------------------------------


def test_costs_show_with_one_precision() -> None:
    assert [format_cost(c) for c in (0.0095, 0.0101, 0.5, 1.234)] == [
        "$0.0095",
        "$0.0101",
        "$0.5000",
        "$1.23",
    ]
    assert format_cost(None, "x-model") == "cost unknown (no price for x-model)"


class Deny:
    def decide(self, request: ApprovalRequest) -> Approval:
        return Approval(False, reason="not now")


def test_a_denied_turn_says_denied_once(tmp_path: Path) -> None:
    from v4code.toolkit import ToolContext, build_tool

    def shell(ctx: ToolContext, command: str) -> str:
        """Run.

        Args:
            command: The command.
        """
        return "ran"

    backend = ScriptedBackend([reply(calls=[("shell", {"command": "ls"})]), reply("gave up")])
    registry = ToolRegistry([build_tool(shell, "command")])
    settings = Settings(permission_mode="ask", sandbox=False)
    agent = scripted_agent(tmp_path, backend, registry, settings, approver=Deny())
    done = list(agent.submit("x"))[-1]
    assert isinstance(done, TurnFinished) and done.status == "denied"
    assert not done.reason.startswith("denied")
    screen = io.StringIO()
    view = TurnView(Console(file=screen, width=120, color_system=None))
    view.handle(done)
    assert "denied: denied" not in screen.getvalue() and "denied:" in screen.getvalue()


# --- Ctrl-C ----------------------------------------------------------------------------------


def test_an_interrupted_tools_line_stays_in_the_chat() -> None:
    screen = io.StringIO()
    view = TurnView(Console(file=screen, width=120, color_system=None))
    call = ToolCall("c1", "run_command", '{"command": "sleep 60"}')
    view.handle(ToolStarted(call, {"command": "sleep 60"}, ToolSummary("run sleep 60")))
    view.handle(TurnFinished("interrupted", reason="interrupted by the user"))
    shown = screen.getvalue()
    assert "sleep 60" in shown and "interrupted" in shown


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_first_ctrl_c_says_stopping_at_once() -> None:
    from v4code.ui.interrupt import sigint_cancels

    said: list[str] = []
    token = CancelToken()
    with sigint_cancels(token, lambda: said.append("stopping…")):
        os.kill(os.getpid(), signal.SIGINT)
        assert token.wait(10)
    assert said == ["stopping…"]


def test_resume_restores_the_context_gauge_and_totals(tmp_path: Path) -> None:
    from v4code.notes import restore
    from v4code.sessions import read_session, resume_state

    log = SessionLog.create(tmp_path, {"model": "deepseek-v4-pro"})
    usage = {"prompt_tokens": 12_000, "completion_tokens": 345, "cache_miss_tokens": 12_000}
    log.event(
        {"type": "usage_reported", "usage": usage, "cost": 0.01, "total_usage": usage}
        | {"total_cost": 0.0123, "model": "deepseek-v4-pro", "priced": True}
    )
    log.event({"type": "settings_changed", "model": "deepseek-flash", "thinking": False})
    agent = scripted_agent(
        tmp_path, ScriptedBackend([]), ToolRegistry([]), Settings(), approver=Deny(), session=log
    )
    restore(agent, resume_state(read_session(log.path)))
    assert agent.last_prompt_tokens == 12_345 and agent.total_cost == 0.0123
    assert agent.total_usage.prompt_tokens == 12_000
    assert agent.settings.model == "deepseek-flash" and agent.settings.thinking is False
