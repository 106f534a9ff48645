"""`v4code run` as a user runs it: a subprocess in a git repo, against the fake DeepSeek server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_harness import start_v4code, v4code
from fake_api import FakeDeepSeek, fault, text, tool_call, tool_calls

from v4code.sessions import list_sessions, read_session

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def run_v4code(
    root: Path, server: FakeDeepSeek, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return v4code(root, "run", *args, server=server, stdin=stdin, timeout=timeout, sandbox=True)


def project(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(CALC)
    (workspace / "test_calc.py").write_text(TEST_CALC)
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=workspace, check=True)
    return workspace


def assert_prefix_stable(requests: list[Any]) -> None:
    """Each request's messages are a byte-for-byte prefix of the next request's."""
    for earlier, later in zip(requests, requests[1:], strict=False):
        a = [json.dumps(m, ensure_ascii=False) for m in earlier.messages]
        b = [json.dumps(m, ensure_ascii=False) for m in later.messages]
        assert b[: len(a)] == a
        assert json.dumps(earlier.tools) == json.dumps(later.tools)


def test_fix_a_bug_end_to_end(workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path) -> None:
    root = project(workspace)
    fake_api.load(
        [
            tool_call("read_file", reasoning="Let me look at calc.py first.", path="calc.py"),
            tool_calls(
                [
                    (
                        "edit_file",
                        {
                            "path": "calc.py",
                            "old_string": "return a - b",
                            "new_string": "return a + b",
                        },
                    ),
                    (
                        "edit_file",
                        {
                            "path": "README.md",
                            "old_string": "# project",
                            "new_string": "# project\n\nAdds numbers.",
                        },
                    ),
                ],
                reasoning="The operator is wrong; fix it and document.",
            ),
            tool_call(
                "run_command",
                reasoning="Now run the tests.",
                command=f"{sys.executable} -m pytest -q -p no:cacheprovider",
            ),
            text("Fixed `add` and documented it; the tests pass.", reasoning="All green."),
        ]
    )
    result = run_v4code(
        root, fake_api, "--output", "json", "fix the add function and make the tests pass"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "done"
    assert data["final_message"] == "Fixed `add` and documented it; the tests pass."
    assert data["files_changed"] == ["calc.py", "README.md"]
    assert data["steps"] == 4
    assert data["usage"]["cache_hit_tokens"] > 0 and data["usage"]["reasoning_tokens"] > 0
    assert data["cost_usd"] > 0 and data["session_id"]

    assert (root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (root / "README.md").read_text() == "# project\n\nAdds numbers.\n"

    chats = fake_api.chat_requests
    assert len(chats) == 4 and fake_api.problems() == []
    assert_prefix_stable(chats)
    test_output = chats[3].messages[-1]["content"]
    assert "1 passed" in test_output and "exit code: 0" in test_output
    # Every assistant message carried its reasoning back (the server enforces it too).
    assert [m["reasoning_content"] for m in chats[3].messages if m["role"] == "assistant"] == [
        "Let me look at calc.py first.",
        "The operator is wrong; fix it and document.",
        "Now run the tests.",
    ]

    session = read_session(list_sessions(root)[0])
    assert session.session_id == data["session_id"]
    assert [m.role for m in session.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert "sk-test-key-0123456789" not in session.path.read_text()


def test_jsonl_streams_events_and_resume_continues(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("first answer", reasoning="r1"), text("second answer")])
    first = run_v4code(workspace, fake_api, "--output", "jsonl", "hello")
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert (
        kinds[0] == "turn_started"
        and "text_delta" in kinds
        and kinds[-2:] == ["turn_finished", "result"]
    )
    session_id = lines[-1]["session_id"]

    second = run_v4code(workspace, fake_api, "--resume", session_id, "and again")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "second answer"
    resumed = fake_api.chat_requests[1].messages
    assert [m["role"] for m in resumed] == ["system", "user", "assistant", "user"]
    assert resumed[2]["content"] == "first answer" and resumed[3]["content"] == "and again"


def test_task_from_stdin_and_text_output(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("the answer")])
    result = run_v4code(workspace, fake_api, "-", stdin="what is it?\n")
    assert result.returncode == 0
    assert result.stdout == "the answer\n"
    assert "done: 1 step," in result.stderr
    assert fake_api.chat_requests[0].messages[1]["content"] == "what is it?\n"


@pytest.mark.parametrize(
    ("step", "code", "message"),
    [
        (fault(401), 2, "DEEPSEEK_API_KEY"),  # a rejected key is configuration
        (fault(402), 3, "balance"),
    ],
)
def test_backend_errors_exit_with_advice(
    workspace: Path, fake_api: FakeDeepSeek, step: dict, code: int, message: str
) -> None:
    fake_api.load([step])
    result = run_v4code(workspace, fake_api, "do it")
    assert result.returncode == code
    assert message in result.stderr
    assert len(fake_api.chat_requests) == 1  # never retried


def test_faults_are_survived(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load(
        [
            fault(429, retry_after=0),
            fault(500),
            fault(503),
            {**tool_call("list_files"), "cut_after": 3},
            {**tool_call("list_files"), "keepalive": True},
            text("survived", reasoning="ok"),
        ]
    )
    result = run_v4code(workspace, fake_api, "--output", "json", "list the files")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["final_message"] == "survived"
    session = read_session(list_sessions(workspace)[0])
    assert [e["type"] for e in session.events].count("retrying") == 4
    assert [m.role for m in session.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


def test_permission_denied_exit_code(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load(
        [
            tool_call(
                "edit_file", path="README.md", old_string="# project", new_string="# changed"
            ),
            text("I could not edit."),
        ]
    )
    result = run_v4code(
        workspace, fake_api, "--permission-mode", "read-only", "--output", "json", "edit"
    )
    assert result.returncode == 5
    data = json.loads(result.stdout)
    assert data["status"] == "denied" and data["denied"] == ["edit_file"]
    assert (workspace / "README.md").read_text() == "# project\n"
    denial = fake_api.chat_requests[1].messages[-1]
    assert denial["role"] == "tool" and "not allowed in read-only mode" in denial["content"]


def test_step_limit_exit_code(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([tool_call("list_files", path=str(i)) for i in range(2)])
    fake_api.allow_leftover = True
    result = run_v4code(workspace, fake_api, "--max-steps", "2", "--output", "json", "loop")
    assert result.returncode == 4
    assert "step limit" in json.loads(result.stdout)["reason"]


def test_unknown_model_is_reported(workspace: Path, fake_api: FakeDeepSeek) -> None:
    result = run_v4code(workspace, fake_api, "--model", "deepseek-v9-ultra", "hi")
    assert result.returncode == 3
    assert "'deepseek-v9-ultra' is not served" in result.stderr and "--model" in result.stderr
    assert len(fake_api.chat_requests) == 1
    fake_api.violations.clear()  # the server rejected the model on purpose


def test_ctrl_c_stops_a_running_command_and_keeps_the_session(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    import signal
    import time

    fake_api.load(
        [
            tool_call(
                "run_command", reasoning="Run the slow thing.", command="touch started; sleep 60"
            )
        ]
    )
    proc = start_v4code(workspace, "run", "--output", "json", "do the slow thing", server=fake_api)
    fake_api.wait_for_requests(1, timeout=30)
    limit = time.monotonic() + 30
    while not (workspace / "started").exists() and time.monotonic() < limit:
        time.sleep(0.02)  # polls for the command's own sign that it runs
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.count("stopping…") == 1  # said at once, on the first Ctrl-C
    assert time.monotonic() - started < 10
    data = json.loads(out)
    assert data["status"] == "interrupted"
    session = read_session(list_sessions(workspace)[0])
    assert [m.role for m in session.messages] == ["system", "user", "assistant", "tool"]
    assert "interrupted" in (session.messages[-1].content or "").lower()
    assert session.events[-1]["type"] == "turn_finished"


def test_piped_and_dash_p_behave_like_run(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("piped answer"), text("flag answer")])
    piped = v4code(workspace, server=fake_api, stdin="what?\n")
    assert piped.returncode == 0 and piped.stdout == "piped answer\n"
    flagged = v4code(workspace, "-p", "and now?", server=fake_api)
    assert flagged.returncode == 0 and flagged.stdout == "flag answer\n"
    assert [r.messages[1]["content"] for r in fake_api.chat_requests] == ["what?\n", "and now?"]
