"""`v4code acp` as an editor drives it: the Agent Client Protocol SDK's own client side talks
to a real `v4code acp` process over stdio, against the fake DeepSeek server; what the editor
receives (session updates, permission requests, stop reasons) and what the server received."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_harness import DEFAULT_KEY
from fake_api import FakeDeepSeek, text, tool_call

acp = pytest.importorskip("acp")
from acp_editor import Editor, drive  # noqa: E402

CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("-", "+")
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=workspace, check=True)
    return workspace


def fix_script(server: FakeDeepSeek) -> None:
    server.load(
        [
            tool_call("read_file", path="calc.py", reasoning="Look at calc.py first."),
            tool_call("edit_file", **FIX),
            text("Fixed add."),
        ]
    )


async def one_turn(conn: Any, repo: Path, task: str = "fix add") -> tuple[str, str]:
    session = await conn.new_session(cwd=str(repo), mcp_servers=[])
    response = await conn.prompt(session_id=session.session_id, prompt=[acp.text_block(task)])
    return session.session_id, response.stop_reason


def test_a_full_turn_streams_thinking_tools_diff_permission_and_answer(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fix_script(fake_api)
    editor = Editor("allow_once")
    _, stop = drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert stop == "end_turn"
    assert (repo / "calc.py").read_text() == FIXED
    assert editor.text("agent_thought_chunk") == "Look at calc.py first."
    assert editor.text() == "Fixed add."
    starts = [u for u in editor.updates if u.session_update == "tool_call"]
    assert [(u.kind, u.status) for u in starts] == [
        ("read", "in_progress"),
        ("edit", "in_progress"),
    ]
    done = [u for u in editor.updates if u.session_update == "tool_call_update"]
    assert [u.status for u in done] == ["completed", "completed"]
    assert "return a - b" in done[0].content[0].content.text  # the file as read
    [(call, options)] = editor.asked
    assert call.tool_call_id == starts[1].tool_call_id and call.kind == "edit"
    [diff] = call.content
    assert (diff.type, diff.path, diff.old_text, diff.new_text) == ("diff", "calc.py", CALC, FIXED)
    assert [o.kind for o in options] == ["allow_once", "allow_always", "reject_once"]
    assert len(fake_api.requests) == 3
    assert "fix add" in str(fake_api.requests[0].messages[-1]["content"])
    assert "return a - b" in str(fake_api.requests[1].messages[-1]["content"])
    assert DEFAULT_KEY not in str(editor.updates)


def test_a_rejected_permission_changes_nothing_and_tells_the_model(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fix_script(fake_api)
    editor = Editor("reject_once")
    _, stop = drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert stop == "end_turn"
    assert (repo / "calc.py").read_text() == CALC
    edits = [u for u in editor.updates if u.session_update == "tool_call_update"]
    assert [u.status for u in edits] == ["completed", "failed"]
    edit_result = fake_api.requests[2].messages[-1]
    assert edit_result["role"] == "tool" and "denied" in str(edit_result["content"]).lower()


def test_always_allows_the_tool_for_the_rest_of_the_session(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    second = {"path": "calc.py", "old_string": "def add", "new_string": "def plus"}
    fake_api.load(
        [tool_call("edit_file", **FIX), tool_call("edit_file", **second), text("Both done.")]
    )
    editor = Editor("allow_always")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert len(editor.asked) == 1  # the second edit was not asked about
    assert (repo / "calc.py").read_text() == FIXED.replace("def add", "def plus")


def test_cancel_mid_stream_ends_the_turn_cancelled(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("A long answer that never ends. " * 50, chunk_size=8, delay=0.05)])
    editor = Editor()

    async def script(conn: Any) -> str:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])

        async def cancel_on_text(update: Any) -> None:
            if update.session_update == "agent_message_chunk":
                editor.on_update = None
                await conn.cancel(session_id=session.session_id)

        editor.on_update = cancel_on_text
        prompt = [acp.text_block("talk")]
        response = await conn.prompt(session_id=session.session_id, prompt=prompt)
        return str(response.stop_reason)

    assert drive(repo, fake_api, editor, script) == "cancelled"
    assert len(editor.text()) < len("A long answer that never ends. " * 50)


def test_a_session_is_loaded_with_its_history_and_continued(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([text("The answer is 42.")])
    first = Editor()
    session_id, _ = drive(repo, fake_api, first, lambda conn: one_turn(conn, repo, "what is it"))
    fake_api.load([text("You asked what it is.")])
    editor = Editor()

    async def script(conn: Any) -> str:
        await conn.load_session(cwd=str(repo), session_id=session_id, mcp_servers=[])
        replayed = [k for k in editor.kinds() if k.endswith("message_chunk")]
        response = await conn.prompt(session_id=session_id, prompt=[acp.text_block("again?")])
        assert replayed == ["user_message_chunk", "agent_message_chunk"]
        return str(response.stop_reason)

    assert drive(repo, fake_api, editor, script) == "end_turn"
    assert editor.text() == "The answer is 42.You asked what it is."
    sent = str(fake_api.requests[-1].messages)
    assert "what is it" in sent and "The answer is 42." in sent and "again?" in sent


def test_an_unknown_session_to_load_is_a_clear_error(repo: Path, fake_api: FakeDeepSeek) -> None:
    async def script(conn: Any) -> str:
        with pytest.raises(acp.RequestError) as caught:
            await conn.load_session(cwd=str(repo), session_id="nope", mcp_servers=[])
        return str(caught.value.data)

    assert "nope" in drive(repo, fake_api, Editor(), script)
    assert fake_api.requests == []


def test_the_api_key_never_reaches_the_editor(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text(f"Your key is {DEFAULT_KEY}.", reasoning=f"It is {DEFAULT_KEY}.")])
    editor = Editor()
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    shown = editor.text() + editor.text("agent_thought_chunk")
    assert "Your key is" in shown and DEFAULT_KEY not in shown


def test_a_second_prompt_while_one_runs_is_refused(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("Slow answer. " * 40, chunk_size=8, delay=0.02)])

    async def script(conn: Any) -> tuple[str, str]:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        prompt = [acp.text_block("talk")]
        first = asyncio.ensure_future(conn.prompt(session_id=session.session_id, prompt=prompt))
        await asyncio.sleep(0.3)
        with pytest.raises(acp.RequestError) as caught:
            await conn.prompt(session_id=session.session_id, prompt=prompt)
        return str((await first).stop_reason), str(caught.value.data)

    stop, refused = drive(repo, fake_api, Editor(), script)
    assert stop == "end_turn" and "already running" in refused
    assert len(fake_api.requests) == 1


def test_the_permission_modes_are_the_sessions_modes(repo: Path, fake_api: FakeDeepSeek) -> None:
    fix_script(fake_api)
    editor = Editor()

    async def script(conn: Any) -> tuple[str, list[str], str]:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        modes = session.modes
        await conn.set_session_mode(session_id=session.session_id, mode_id="read-only")
        response = await conn.prompt(session_id=session.session_id, prompt=[acp.text_block("fix")])
        ids = [m.id for m in modes.available_modes]
        return modes.current_mode_id, ids, str(response.stop_reason)

    current, ids, stop = drive(repo, fake_api, editor, script)
    assert current == "ask" and ids == ["read-only", "ask", "auto-edit", "full-auto", "plan"]
    assert stop == "end_turn" and editor.asked == []  # read-only refuses without asking
    assert (repo / "calc.py").read_text() == CALC


def test_a_command_is_asked_with_the_chats_always_for_its_prefix(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [
            tool_call("run_command", command="echo hello"),
            tool_call("run_command", command="echo one && echo two"),
            text("Ran them."),
        ]
    )
    editor = Editor("allow_once")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    (simple, simple_options), (compound, compound_options) = editor.asked
    assert simple.kind == "execute" and "$ echo hello" in simple.content[0].content.text
    assert [o.name for o in simple_options][1] == "Always allow `echo` this session"
    assert [o.kind for o in compound_options] == ["allow_once", "reject_once"]
    outputs = [u for u in editor.updates if u.session_update == "tool_call_update"]
    assert "hello" in outputs[0].content[0].content.text
    assert "one" in str(fake_api.requests[2].messages[-1]["content"])


def test_the_api_key_in_a_tool_call_or_the_todo_list_never_reaches_the_editor(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [
            tool_call("update_plan", items=[{"step": f"Use {DEFAULT_KEY}", "status": "pending"}]),
            tool_call("run_command", command=f"echo {DEFAULT_KEY}"),
            text("Done."),
        ]
    )
    editor = Editor("allow_once")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert "plan" in editor.kinds() and len(editor.asked) == 1
    assert DEFAULT_KEY not in str(editor.updates) and DEFAULT_KEY not in str(editor.asked)


def test_the_permission_card_keeps_the_tool_calls_one_line_title(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    """The card asking about an edit or a command is titled as its tool call is (`edit
    calc.py`, `run echo hello`), not with the raw arguments (`old_string='...'`)."""
    fake_api.load(
        [tool_call("edit_file", **FIX), tool_call("run_command", command="echo hello"), text("ok")]
    )
    editor = Editor("allow_once")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    starts = [u.title for u in editor.updates if u.session_update == "tool_call"]
    asked = [call.title for call, _ in editor.asked]
    assert asked == starts == ["edit calc.py", "run echo hello"]


def test_the_api_key_in_a_calls_arguments_or_the_plan_never_reaches_the_editor(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    """Everything an update carries is scrubbed: the raw arguments of a call and of an
    approval, the plan's steps, not only the text and the titles."""
    plan = [{"step": f"send {DEFAULT_KEY}", "status": "in_progress"}]
    fake_api.load(
        [
            tool_call("update_plan", items=plan),
            tool_call("run_command", command=f"echo {DEFAULT_KEY} > k.txt"),
            text("Done."),
        ]
    )
    editor = Editor(choice="reject_once")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    sent = [u.model_dump_json() for u in editor.updates]
    sent += [call.model_dump_json() for call, _ in editor.asked]
    assert editor.asked and any("send" in s for s in sent), sent
    assert not [s for s in sent if DEFAULT_KEY in s]
