"""The Python API as a program uses it: `import v4code`, a session in a git repository,
against the fake DeepSeek server; what the caller receives and what the server received."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from fake_api import FakeDeepSeek, text, tool_call

import v4code
from v4code.events import TextDelta, ToolFinished, ToolStarted, TurnFinished, TurnStarted

CALC = "def add(a, b):\n    return a - b\n"
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}


@pytest.fixture
def repo(workspace: Path, monkeypatch: pytest.MonkeyPatch, fake_api: FakeDeepSeek) -> Path:
    (workspace / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=workspace, check=True)
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-api-test-0123456789")
    monkeypatch.setenv("V4CODE_SANDBOX", "false")
    return workspace


def fix_script(fake_api: FakeDeepSeek) -> None:
    fake_api.load(
        [
            tool_call("read_file", path="calc.py"),
            tool_call("edit_file", **FIX),
            text("Fixed add."),
        ]
    )


def test_a_task_through_the_api_gives_its_events_in_order_and_the_result(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fix_script(fake_api)
    with v4code.open_session(repo, permission_mode="auto-edit", max_steps=10) as session:
        turn = session.send("fix add")
        events = list(turn)
        result = turn.result()
    kinds = [type(e) for e in events if isinstance(e, (TurnStarted, ToolStarted, TurnFinished))]
    assert kinds == [TurnStarted, ToolStarted, ToolStarted, TurnFinished]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Fixed add."
    assert [e.call.name for e in events if isinstance(e, ToolFinished)] == [
        "read_file",
        "edit_file",
    ]
    assert (result.status, result.exit_code) == ("done", 0)
    assert result.final_message == "Fixed add."
    assert result.files_changed == ["calc.py"]
    assert result.steps == 3 and result.usage.prompt_tokens > 0 and result.cost_usd is not None
    assert result.session_id == session.id
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert len(fake_api.requests) == 3
    assert fake_api.requests[0].messages[-1]["role"] == "user"
    assert "fix add" in str(fake_api.requests[0].messages[-1]["content"])


@pytest.mark.parametrize("answer", [False, True])
def test_approvals_are_asked_through_the_callback_and_the_answer_is_honoured(
    repo: Path, fake_api: FakeDeepSeek, answer: bool
) -> None:
    fix_script(fake_api)
    asked: list[v4code.ApprovalRequest] = []

    def approve(request: v4code.ApprovalRequest) -> bool:
        asked.append(request)
        return answer

    with v4code.open_session(repo, permission_mode="ask", approve=approve) as session:
        result = session.run("fix add")
    assert [(r.tool, r.risk) for r in asked] == [("edit_file", "edit")]
    assert asked[0].diff is not None and "+    return a + b" in asked[0].diff
    assert (repo / "calc.py").read_text() == (CALC.replace("-", "+") if answer else CALC)
    assert result.denied == ([] if answer else ["edit_file"])
    assert result.files_changed == (["calc.py"] if answer else [])
    edit_result = fake_api.requests[2].messages[-1]
    assert edit_result["role"] == "tool"
    assert ("Denied by the caller" in str(edit_result["content"])) is not answer


def test_without_a_callback_what_the_mode_asks_about_is_denied(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fix_script(fake_api)
    with v4code.open_session(repo, permission_mode="ask") as session:
        result = session.run("fix add")
    assert result.denied == ["edit_file"]
    assert (repo / "calc.py").read_text() == CALC


def test_the_async_form_streams_the_same_events_and_asks_an_async_callback(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    fix_script(fake_api)

    async def approve(request: v4code.ApprovalRequest) -> bool:
        await asyncio.sleep(0)
        return True

    async def main() -> tuple[list[str], v4code.Result]:
        session = await v4code.open_session_async(repo, permission_mode="ask", approve=approve)
        async with session:
            turn = session.send("fix add")
            kinds = [event.kind async for event in turn]
            return kinds, await turn.result()

    kinds, result = asyncio.run(main())
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    assert kinds.count("tool_finished") == 2
    assert result.status == "done" and result.files_changed == ["calc.py"]
    assert (repo / "calc.py").read_text() == CALC.replace("-", "+")


def test_an_async_turn_is_cancelled_through_its_session(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("A long answer that never ends. " * 50, chunk_size=8, delay=0.05)])

    async def main() -> v4code.Result:
        async with await v4code.open_session_async(repo) as session:
            turn = session.send("talk")
            async for event in turn:
                if isinstance(event, TextDelta):
                    session.cancel()
            return await turn.result()

    result = asyncio.run(main())
    assert result.status == "interrupted" and result.exit_code == 130


def test_a_session_is_resumed_by_its_id(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("The answer is 42."), text("You asked about the answer.")])
    with v4code.open_session(repo) as first:
        assert first.run("what is the answer?").status == "done"
        session_id = first.id
    with v4code.open_session(repo, resume=session_id) as again:
        assert again.resumed and again.id == session_id
        result = again.run("what did I ask?")
    assert result.final_message == "You asked about the answer."
    contents = [str(m.get("content")) for m in fake_api.requests[1].messages]
    assert any("what is the answer?" in c for c in contents)
    assert any("The answer is 42." in c for c in contents)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"permission_mode": "yolo"}, "permission_mode"),
        ({"max_steps": 0}, "max_steps"),
        ({"workspace": "no/such/dir"}, "not a directory"),
    ],
)
def test_a_bad_option_is_a_clear_error_and_writes_nothing(
    repo: Path, fake_api: FakeDeepSeek, v4code_home: Path, options: dict[str, object], said: str
) -> None:
    where = options.pop("workspace", repo)
    before = sorted(p.relative_to(v4code_home) for p in v4code_home.rglob("*"))
    with pytest.raises(v4code.V4codeError, match=said):
        v4code.open_session(where, **options)  # type: ignore[arg-type]
    assert sorted(p.relative_to(v4code_home) for p in v4code_home.rglob("*")) == before
    assert fake_api.requests == []
    assert (repo / "calc.py").read_text() == CALC


def test_import_v4code_loads_no_session_machinery() -> None:
    probe = (
        "import sys, v4code\n"
        "print(sorted(m for m in sys.modules if m.startswith('v4code.')))\n"
        "v4code.open_session\n"
        "print('v4code.api' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    assert first == "[]"
    assert second == "True"


def test_every_name_v4code_exports_is_the_apis_or_an_error() -> None:
    from v4code import api

    names = set(v4code.__all__) - {"__version__", "ConfigError", "V4codeError"}
    assert names == set(api.__all__)
    assert all(getattr(v4code, name) is not None for name in v4code.__all__)
    with pytest.raises(AttributeError):
        v4code.start  # noqa: B018  (the API's own helper is not exported)
