"""`v4code acp`: what the editor may choose (session config options: mode, model, thinking;
the session modes, plan mode among them) and the slash commands it is offered, each driven
through the protocol by the SDK's client side against a real `v4code acp` process."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from fake_api import FakeDeepSeek, text, tool_call

acp = pytest.importorskip("acp")
from acp_editor import Editor, drive  # noqa: E402

CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("-", "+")
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
PLAN = {"steps": ["Fix add"], "files": ["calc.py"], "checks": ["python -c 'import calc'"]}


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=workspace, check=True)
    return workspace


async def ask(conn: Any, session_id: str, words: str) -> str:
    response = await conn.prompt(session_id=session_id, prompt=[acp.text_block(words)])
    return str(response.stop_reason)


def test_model_and_thinking_are_config_options_the_next_request_follows(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([text("first"), text("second")])

    async def script(conn: Any) -> tuple[dict[str, str], list[str], Any]:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        first = {o.id: o.current_value for o in session.config_options}
        await ask(conn, session.session_id, "one")
        sid = session.session_id
        await conn.set_config_option(config_id="model", session_id=sid, value="deepseek-flash")
        changed = await conn.set_config_option(
            config_id="thought_level", session_id=sid, value="none"
        )
        await ask(conn, sid, "two")
        with pytest.raises(acp.RequestError):
            await conn.set_config_option(config_id="model", session_id=sid, value="gpt-9")
        return first, [o.current_value for o in changed.config_options], session.config_options

    first, changed, options = drive(repo, fake_api, Editor(), script)
    assert first == {"mode": "ask", "model": "deepseek-v4-pro", "thought_level": "high"}
    assert [o.category for o in options] == ["mode", "model", "thought_level"]
    assert changed == ["ask", "deepseek-flash", "none"]
    before, after = fake_api.requests[0].body, fake_api.requests[1].body
    assert before["model"] == "deepseek-v4-pro" and after["model"] == "deepseek-flash"
    assert before.get("thinking", {}).get("type") != "disabled"
    assert after.get("thinking", {}).get("type") == "disabled"
    assert len(fake_api.requests) == 2  # the refused model asked the server nothing


def test_read_only_chosen_as_a_config_option_refuses_an_edit(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([tool_call("edit_file", **FIX), text("could not")])
    editor = Editor()

    async def script(conn: Any) -> str:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        sid = session.session_id
        await conn.set_config_option(config_id="mode", session_id=sid, value="read-only")
        return await ask(conn, sid, "fix add")

    assert drive(repo, fake_api, editor, script) == "end_turn"
    assert editor.asked == [] and (repo / "calc.py").read_text() == CALC
    told = [u.current_mode_id for u in editor.updates if u.session_update == "current_mode_update"]
    assert told == ["read-only"]
    assert "not allowed in read-only mode" in str(fake_api.requests[1].messages[-1]["content"])


def test_plan_mode_reads_only_until_the_person_approves_then_carries_it_out(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [
            tool_call("edit_file", **FIX),  # refused while planning
            tool_call("propose_plan", **PLAN),
            tool_call("edit_file", **FIX),  # after the yes
            text("Done as planned."),
        ]
    )
    editor = Editor("allow_once")

    async def script(conn: Any) -> str:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        await conn.set_session_mode(session_id=session.session_id, mode_id="plan")
        return await ask(conn, session.session_id, "fix add")

    assert drive(repo, fake_api, editor, script) == "end_turn"
    refused = str(fake_api.requests[1].messages[-1]["content"])
    assert "refused while planning" in refused.lower()
    (plan_call, plan_options), (edit_call, _) = editor.asked
    assert plan_call.title == "Carry out this plan?"
    assert [o.name for o in plan_options][0] == "Yes, carry it out (ask)"
    assert edit_call.kind == "edit"
    assert (repo / "calc.py").read_text() == FIXED
    modes = [u.current_mode_id for u in editor.updates if u.session_update == "current_mode_update"]
    assert modes == ["plan", "ask"]
    assert "plan" in editor.kinds()


def test_a_rejected_plan_waits_and_the_next_message_says_why(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([tool_call("propose_plan", **PLAN), text("Revised.")])
    editor = Editor("reject_once")

    async def script(conn: Any) -> None:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        await conn.set_session_mode(session_id=session.session_id, mode_id="plan")
        await ask(conn, session.session_id, "fix add")
        await ask(conn, session.session_id, "also test it")

    drive(repo, fake_api, editor, script)
    assert len(editor.asked) == 1
    last = str(fake_api.requests[-1].messages[-1]["content"])
    assert "revise the plan" in last and "also test it" in last
    assert (repo / "calc.py").read_text() == CALC


def test_slash_commands_are_advertised_and_answered_without_the_model(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [
            tool_call("update_plan", items=[{"step": "Fix add", "status": "done"}]),
            tool_call("edit_file", **FIX),
            text("Fixed."),
        ]
    )
    editor = Editor("allow_once")

    async def script(conn: Any) -> list[str]:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        sid = session.session_id
        await ask(conn, sid, "fix add")
        said = []
        for command in ("/todo", "/diff", "/cost", "/undo"):
            start = len(editor.updates)
            assert await ask(conn, sid, command) == "end_turn"
            said.append(
                "".join(
                    u.content.text
                    for u in editor.updates[start:]
                    if u.session_update == "agent_message_chunk"
                )
            )
        return said

    todo, diff, cost, undo = drive(repo, fake_api, editor, script)
    [advertised] = [u for u in editor.updates if u.session_update == "available_commands_update"]
    names = [c.name for c in advertised.available_commands]
    assert names == ["plan", "todo", "diff", "undo", "cost"]
    assert "[x] Fix add" in todo
    assert "-    return a - b" in diff and "+    return a + b" in diff
    assert "tokens in" in cost
    assert "calc.py" in undo and (repo / "calc.py").read_text() == CALC
    assert len(fake_api.requests) == 3  # the commands asked the model nothing
