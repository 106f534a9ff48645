"""`v4code run` over the default transport: complete output and session, the right exit code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_harness import v4code
from fake_api import FakeDeepSeek, garbage, text, tool_call

from v4code.sessions import list_sessions, read_session


def run_v4code(
    root: Path,
    base_url: str,
    *args: str,
    python_flags: tuple[str, ...] = (),
    transport: str = "stdlib",
) -> subprocess.CompletedProcess[str]:
    return v4code(
        root,
        "run",
        *args,
        base_url=base_url,
        env={"V4CODE_TRANSPORT": transport},
        python_flags=python_flags,
    )


def test_run_output_and_session_are_complete_at_exit(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [
            tool_call("read_file", reasoning="Look first.", path="README.md"),
            text("The README has a title. " * 2000, reasoning="Done."),
        ]
    )
    result = run_v4code(
        workspace,
        fake_api.base_url,
        "--output",
        "json",
        "describe",
        python_flags=("-X", "importtime"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    assert data["status"] == "done" and data["final_message"] == "The README has a title. " * 2000
    session = read_session(list_sessions(workspace)[0])
    assert [m.role for m in session.messages][-3:] == ["assistant", "tool", "assistant"]
    assert session.messages[-1].content == data["final_message"]
    # The default transport never loads the openai SDK on the request path.
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "openai" not in imported and "v4code.backends.transports" in imported
    assert len({r.connection for r in fake_api.chat_requests}) == 1  # one kept-alive connection


@pytest.mark.parametrize("transport", ["stdlib", "sdk"])
def test_run_ends_with_exit_3_on_a_garbled_stream(
    workspace: Path, fake_api: FakeDeepSeek, transport: str
) -> None:
    fake_api.load([garbage(1, content="abc"), garbage(0, "json", content="abc")])
    result = run_v4code(workspace, fake_api.base_url, "hello", transport=transport)
    assert result.returncode == 3
    assert "malformed" in result.stderr and "Traceback" not in result.stderr


def test_run_with_nothing_listening_says_so(workspace: Path) -> None:
    result = run_v4code(workspace, "http://127.0.0.1:9", "hello")
    assert result.returncode == 3
    assert "nothing listens" in result.stderr and "Traceback" not in result.stderr
