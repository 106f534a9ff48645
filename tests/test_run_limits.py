"""`v4code run` limits and exit codes against a live fake server: a limit holds inside a
response and across retries, a failure still gives a script its result object."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import cli_harness
import pytest
from cli_harness import DEFAULT_KEY
from fake_api import FakeDeepSeek, fault, text

from v4code.sessions import list_sessions, read_session


def v4code(
    root: Path, base_url: str | None, *args: str, key: str | None = DEFAULT_KEY
) -> subprocess.CompletedProcess[str]:
    """The real command line with the default retry and timeout settings (no test shortcuts)."""
    return cli_harness.v4code(root, *args, base_url=base_url, key=key, fast_retries=False)


# --- limits that hold mid-stream ------------------------------------------------------------


def test_max_time_ends_an_endless_stream_with_exit_4(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    endless = {**text("word " * 4000), "chunk_size": 5, "delay": 0.05}  # 200 s of streaming
    fake_api.load([endless])
    fake_api.allow_leftover = True
    started = time.monotonic()
    done = v4code(workspace, fake_api.base_url, "run", "--max-time", "3", "-o", "json", "talk")
    assert time.monotonic() - started < 60  # generous: the stream alone lasts 200 s
    assert done.returncode == 4, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "limit" and "time limit" in data["reason"]
    assert data["final_message"].startswith("word word")
    session = read_session(list_sessions(workspace)[0])
    said = session.messages[-1]
    assert said.role == "assistant" and (said.content or "").startswith("word word")


def test_max_time_ends_a_request_the_server_never_answers(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([{"hang": 300}])
    fake_api.allow_leftover = True
    started = time.monotonic()
    done = v4code(workspace, fake_api.base_url, "run", "--max-time", "3", "-o", "json", "hello")
    assert time.monotonic() - started < 60  # the defaults wait 600 s per attempt, 6 attempts
    assert done.returncode == 4, done.stderr
    assert json.loads(done.stdout)["status"] == "limit"


def test_max_cost_with_no_price_for_the_model_refuses_to_start(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.configure(accepted_models=None)
    done = v4code(
        workspace, fake_api.base_url, "run", "-m", "my-local-model", "--max-cost", "0.1", "hi"
    )
    assert done.returncode == 2
    assert "no price is known for model 'my-local-model'" in done.stderr
    assert '[prices."my-local-model"]' in done.stderr
    assert fake_api.chat_requests == []


def test_a_fallback_price_lets_max_cost_limit_any_model(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text(
        '[prices."*"]\nhit = 1000.0\nmiss = 1000.0\noutput = 1000.0\n'
    )
    fake_api.configure(accepted_models=None)
    done = v4code(
        workspace, fake_api.base_url, "run", "-m", "my-local-model", "--max-cost", "0.01",
        "-o", "json", "hi",
    )  # fmt: skip
    data = json.loads(done.stdout)
    # priced by the fallback, the first request is estimated above the cap: never sent
    assert data["status"] == "limit" and done.returncode == 4
    assert "cost limit" in data["reason"] and fake_api.chat_requests == []


def test_unknown_price_shows_as_unknown_not_zero(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.configure(accepted_models=None)
    fake_api.load([text("free?"), text("free?")])
    done = v4code(workspace, fake_api.base_url, "run", "-m", "my-local-model", "-o", "json", "hi")
    data = json.loads(done.stdout)
    assert data["cost_usd"] is None and data["cost_note"] == "no price for my-local-model"
    shown = v4code(workspace, fake_api.base_url, "run", "-m", "my-local-model", "hi")
    assert "cost unknown (no price for my-local-model)" in shown.stderr


# --- what the result says ---------------------------------------------------------------------


@pytest.mark.parametrize("output", ["json", "jsonl"])
def test_result_names_the_served_model_and_prices_by_it(
    workspace: Path, fake_api: FakeDeepSeek, output: str
) -> None:
    fake_api.configure(served_model="deepseek-v4-flash")
    usage = {
        "prompt_tokens": 1_000_000,
        "completion_tokens": 0,
        "prompt_cache_miss_tokens": 1_000_000,
    }
    fake_api.load([{**text("ok"), "usage": usage}])
    done = v4code(workspace, fake_api.base_url, "run", "-m", "deepseek-v4-pro", "-o", output, "hi")
    data = json.loads(done.stdout.splitlines()[-1] if output == "jsonl" else done.stdout)
    assert data["model"] == "deepseek-v4-flash"
    assert data["cost_usd"] in (0.15, 0.3)  # flash's miss price (x2 at peak), not pro's 0.66


def test_costs_in_json_have_no_float_noise(workspace: Path, fake_api: FakeDeepSeek) -> None:
    usage = {"prompt_tokens": 2519, "completion_tokens": 7, "prompt_cache_miss_tokens": 2519}
    fake_api.load([{**text("ok"), "usage": usage}])
    done = v4code(workspace, fake_api.base_url, "run", "-o", "jsonl", "hi")
    for line in done.stdout.splitlines():
        event = json.loads(line)
        for key in ("cost", "total_cost", "cost_usd"):
            if key in event:
                assert event[key] == round(event[key], 6)
                assert len(repr(event[key])) <= 10, event


# --- exit codes as the README says ----------------------------------------------------------


def test_a_rejected_key_exits_2(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([fault(401)])
    done = v4code(workspace, fake_api.base_url, "run", "-o", "json", "hi")
    assert done.returncode == 2
    data = json.loads(done.stdout)
    assert data["status"] == "error" and data["exit_code"] == 2
    assert "API key was rejected" in data["reason"]
    fake_api.load([fault(401)])
    shown = v4code(workspace, fake_api.base_url, "run", "hi")
    assert shown.returncode == 2 and shown.stderr.count("API key was rejected") == 1  # once


def test_resuming_a_session_that_does_not_exist_exits_2(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    done = v4code(workspace, fake_api.base_url, "run", "--resume", "NOSUCH", "hi")
    assert done.returncode == 2 and "NOSUCH" in done.stderr and "Traceback" not in done.stderr


def test_json_output_without_a_key_still_prints_the_result(workspace: Path) -> None:
    done = v4code(workspace, None, "run", "-o", "json", "hi", key=None)
    assert done.returncode == 2
    data = json.loads(done.stdout)
    assert data["status"] == "error" and data["exit_code"] == 2
    assert "DEEPSEEK_API_KEY" in data["reason"]


def test_print_flag_takes_run_options(workspace: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([text("printed")])
    done = v4code(workspace, fake_api.base_url, "-p", "x", "-o", "json", "--max-steps", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_message"] == "printed"


def test_chat_takes_base_url_dialect_and_effort(workspace: Path) -> None:
    done = v4code(workspace, None, "--help")
    for flag in ("--base-url", "--dialect", "--effort"):
        assert flag in done.stdout


# --- headless progress ----------------------------------------------------------------------


def test_progress_shows_what_the_chat_shows_and_errors_once(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    from fake_api import tool_call

    (workspace / "a.py").write_text("needle = 1\nneedle = 2\n")
    fake_api.load(
        [
            tool_call("grep", pattern="needle"),
            tool_call("run_command", command="exit 1"),
            text("done"),
        ]
    )
    done = v4code(workspace, fake_api.base_url, "run", "hi")
    assert done.returncode == 0, done.stderr
    assert "• grep 'needle' 2 matches" in done.stderr
    assert "• run exit 1  exit 1" in done.stderr
    assert "done: 3 steps" in done.stderr
    fake_api.load([text("one")])
    once = v4code(workspace, fake_api.base_url, "run", "hi")
    assert "done: 1 step," in once.stderr
