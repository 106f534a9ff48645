"""The turn loop with an in-process scripted backend: limits, approvals, bad calls, cancel."""

from __future__ import annotations

import json
from pathlib import Path

from scripted_backend import Recorder, ScriptedBackend, finish, reply, scripted_agent, tool_results

from v4code.agent import Agent
from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.errors import BackendError, ToolError
from v4code.events import ToolFinished
from v4code.protocols import Approval
from v4code.sessions import SessionLog, read_session
from v4code.toolkit import ToolContext, ToolRegistry, build_tool
from v4code.types import Message


def echo(ctx: ToolContext, text: str) -> str:
    """Echo the text back.

    Args:
        text: What to echo.
    """
    return f"echo: {text}"


def boom(ctx: ToolContext) -> str:
    """Always crashes."""
    raise RuntimeError("kaboom")


def shell(ctx: ToolContext, command: str) -> str:
    """Pretend to run a command.

    Args:
        command: The command.
    """
    (ctx.root / "ran.txt").write_text(command)
    return "exit code: 0"


def picky(ctx: ToolContext, n: int) -> str:
    """Needs a number.

    Args:
        n: A number.
    """
    if n < 0:
        raise ToolError("n must not be negative")
    return str(n)


def make_agent(
    tmp_path: Path, replies: list, *, mode: str = "full-auto", approver=None, **settings
) -> tuple[Agent, ScriptedBackend]:
    backend = ScriptedBackend(replies)
    registry = ToolRegistry(
        [
            build_tool(echo, "read"),
            build_tool(boom, "read"),
            build_tool(shell, "command"),
            build_tool(picky, "read"),
        ]
    )
    log = SessionLog.create(tmp_path, {"model": "m"})
    log.message(Message(role="system", content="sys"))
    settings = Settings(permission_mode=mode, **settings)
    return scripted_agent(tmp_path, backend, registry, settings, approver, log), backend


def test_tool_call_then_answer(tmp_path: Path) -> None:
    agent, backend = make_agent(
        tmp_path, [reply(calls=[("echo", {"text": "hi"})], reasoning="think"), reply("All done.")]
    )
    events = list(agent.submit("say hi"))
    done = finish(events)
    assert done.status == "done" and done.final_text == "All done." and done.steps == 2
    assert tool_results(agent) == ["echo: hi"]
    # The second request carries the first reply's reasoning and the tool result, appended.
    second = backend.requests[1].messages
    assert second[:2] == backend.requests[0].messages
    assert second[2].reasoning_content == "think"
    assert second[3].role == "tool" and second[3].tool_call_id == "call_0_echo"


def test_bad_calls_become_error_results(tmp_path: Path) -> None:
    agent, _ = make_agent(
        tmp_path,
        [
            reply(
                calls=[
                    ("nope", {}),
                    ("echo", '{"text": "unterminated'),
                    ("echo", {"wrong": 1}),
                    ("boom", {}),
                    ("picky", {"n": -1}),
                ]
            ),
            reply("ok"),
        ],
    )
    done = finish(list(agent.submit("x")))
    assert done.status == "done"
    results = tool_results(agent)
    assert "no tool named 'nope'" in results[0]
    assert "not valid JSON" in results[1]
    assert "Invalid arguments for echo" in results[2] and "wrong" in results[2]
    assert "boom failed: RuntimeError: kaboom" in results[3]
    assert results[4] == "n must not be negative"


def test_truncated_arguments_repaired_only_when_unambiguous(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, [reply(calls=[("echo", '{"text": "hi"')]), reply("ok")])
    finish(list(agent.submit("x")))
    assert tool_results(agent) == ["echo: hi"]


def test_step_limit(tmp_path: Path) -> None:
    replies = [reply(calls=[("echo", {"text": str(i)})]) for i in range(5)]
    agent, _ = make_agent(tmp_path, replies, max_steps=3)
    done = finish(list(agent.submit("loop")))
    assert done.status == "limit" and "step limit" in done.reason
    assert agent.conversation.pending_calls() == []


def test_cost_limit(tmp_path: Path) -> None:
    from v4code.types import Usage

    big = Usage(prompt_tokens=1_000_000, cache_miss_tokens=1_000_000, completion_tokens=0)
    agent, _ = make_agent(
        tmp_path, [reply(calls=[("echo", {"text": "a"})], usage=big), reply("never")], max_cost=0.1
    )
    done = finish(list(agent.submit("spend")))
    assert done.status == "limit" and "cost limit" in done.reason


def test_repeated_identical_call_stops(tmp_path: Path) -> None:
    replies = [reply(calls=[("echo", {"text": "same"})]) for _ in range(5)]
    agent, _ = make_agent(tmp_path, replies, repeat_limit=3)
    done = finish(list(agent.submit("x")))
    assert done.status == "failed" and "same arguments 3 times" in done.reason
    assert agent.conversation.pending_calls() == []


def test_denied_command_in_ask_mode_is_reported(tmp_path: Path) -> None:
    approver = Recorder(Approval(False, reason="not now"))
    agent, _ = make_agent(
        tmp_path,
        [reply(calls=[("shell", {"command": "rm -rf x"})]), reply("gave up")],
        mode="ask",
        approver=approver,
    )
    events = list(agent.submit("x"))
    done = finish(events)
    assert done.status == "denied"
    assert not (tmp_path / "ran.txt").exists()
    assert approver.requests[0].command == "rm -rf x"
    assert "Their reason: not now" in tool_results(agent)[0]
    assert any(isinstance(e, ToolFinished) and e.denied for e in events)


def test_read_only_mode_denies_without_asking(tmp_path: Path) -> None:
    approver = Recorder(Approval(True))
    agent, _ = make_agent(
        tmp_path,
        [reply(calls=[("shell", {"command": "ls"})]), reply("ok")],
        mode="read-only",
        approver=approver,
    )
    done = finish(list(agent.submit("x")))
    assert done.status == "denied" and approver.requests == []
    assert not (tmp_path / "ran.txt").exists()


def test_always_allow_prefix_is_remembered(tmp_path: Path) -> None:
    approver = Recorder(Approval(True, remember="prefix"))
    replies = [
        reply(calls=[("shell", {"command": "pytest -q"})]),
        reply(calls=[("shell", {"command": "pytest -q tests"})]),
        reply("ok"),
    ]
    agent, _ = make_agent(tmp_path, replies, mode="ask", approver=approver)
    assert finish(list(agent.submit("x"))).status == "done"
    assert len(approver.requests) == 1


def test_backend_error_ends_turn_with_error(tmp_path: Path) -> None:
    agent, _ = make_agent(tmp_path, [BackendError("Insufficient balance (402)", status=402)])
    done = finish(list(agent.submit("x")))
    assert done.status == "error" and "402" in done.reason


def test_cancel_mid_stream_keeps_partial_and_session_continues(tmp_path: Path) -> None:
    from v4code.events import TextDelta

    def slow(request, cancel: CancelToken):
        yield TextDelta("partial answer")
        cancel.cancel()
        cancel.raise_if_cancelled()

    agent, _ = make_agent(tmp_path, [slow, reply("second turn works")])
    done = finish(list(agent.submit("first")))
    assert done.status == "interrupted"
    assert agent.conversation.history[-1].content == "partial answer"
    assert finish(list(agent.submit("again"))).final_text == "second turn works"


def test_session_file_holds_everything(tmp_path: Path) -> None:
    agent, _ = make_agent(
        tmp_path, [reply(calls=[("echo", {"text": "hi"})], reasoning="r"), reply("bye")]
    )
    list(agent.submit("hello"))
    data = read_session(agent.session.path)
    roles = [m.role for m in data.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    kinds = [e["type"] for e in data.events]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    assert "tool_finished" in kinds and "usage_reported" in kinds
    assert (agent.session.path.stat().st_mode & 0o777) == 0o600
    assert json.loads(agent.session.path.read_text().splitlines()[0])["type"] == "meta"
