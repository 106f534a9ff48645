"""`run --max-time` and `--max-cost` bound everything under them: a command, a hook and an MCP
call stop when the run's time is up (their process group with them), and a first request that
would cost more than the cap is never sent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import v4code
from conftest import http_mcp
from fake_api import FakeDeepSeek, text, tool_call

from v4code.sessions import list_sessions, read_session


def tool_results(root: Path) -> list[str]:
    session = read_session(list_sessions(root)[0])
    return [m.content or "" for m in session.messages if m.role == "tool"]


def test_max_time_stops_a_long_command_and_its_process_group(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([tool_call("run_command", command="sleep 30 && touch late", timeout=600)])
    result = v4code(workspace, "run", "--max-time", "3", "wait for it", server=fake_api)
    assert result.returncode == 4, result.stderr
    assert "time limit" in result.stderr
    time.sleep(0.5)
    assert not (workspace / "late").exists()  # the whole group was stopped, not left behind
    assert "time limit ran out" in tool_results(workspace)[0]


def test_max_time_stops_a_hook(workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path) -> None:
    late = workspace.parent / "hook-late"
    (v4code_home / "config.toml").write_text(
        f"[hooks]\ntimeout = 600\nbefore_tool = {json.dumps(f'sleep 30 && touch {late}')}\n"
    )
    fake_api.load([tool_call("run_command", command="true")])
    result = v4code(workspace, "run", "--max-time", "3", "go", server=fake_api)
    assert result.returncode == 4, result.stderr
    time.sleep(0.5)
    assert not late.exists()


@pytest.fixture
def http_mcp_server() -> Iterator[str]:
    with http_mcp() as url:
        yield url


def test_max_time_cuts_an_mcp_call(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, http_mcp_server: str
) -> None:
    (v4code_home / "config.toml").write_text(
        f"[mcp.servers.t]\nurl = {json.dumps(http_mcp_server)}\ntimeout = 600\n"
        'allow = ["t__slow"]\n'
    )
    fake_api.load([tool_call("t__slow", seconds=60)])
    result = v4code(workspace, "run", "--max-time", "15", "be slow", server=fake_api, timeout=90)
    assert result.returncode == 4, result.stderr
    (shown,) = tool_results(workspace)
    assert "time limit ran out" in shown
    assert "slept" not in shown


def test_max_cost_refuses_a_first_request_that_would_pass_the_cap(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.allow_leftover = True
    fake_api.load([text("Done.")])
    result = v4code(workspace, "run", "--max-cost", "0.0005", "say done", server=fake_api)
    assert result.returncode == 4, result.stderr
    assert "cost limit" in result.stderr
    assert fake_api.chat_requests == []


def test_max_cost_lets_a_first_request_within_the_cap_through(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([text("Done.")])
    result = v4code(workspace, "run", "--max-cost", "0.05", "say done", server=fake_api)
    assert result.returncode == 0, result.stderr
    assert len(fake_api.chat_requests) == 1


def test_an_mcp_schema_that_fans_out_is_bounded_with_a_notice(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    fake_api.load([tool_call("t__deep", root={"a": {"b": {}}}), text("Done.")])
    with http_mcp(MCP_TEST_FANOUT="18") as url:
        (v4code_home / "config.toml").write_text(
            f'[mcp.servers.t]\nurl = {json.dumps(url)}\nallow = ["t__*"]\n'
        )
        result = v4code(workspace, "run", "use the tree tool", server=fake_api, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "MCP tool t__deep" in result.stderr and "32,000 characters" in result.stderr
    first = fake_api.chat_requests[0]
    (deep,) = [t for t in first.tools if t["function"]["name"] == "t__deep"]
    assert len(json.dumps(deep)) < 32_000
    assert len(json.dumps(first.tools)) < 200_000  # the other tools are untouched
    assert "deep ok" in tool_results(workspace)[0]  # the simplified tool still works
