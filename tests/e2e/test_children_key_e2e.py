"""What a program v4code starts outside the sandbox can read of v4code itself.

An MCP server, a hook and a command run without the sandbox each look through /proc as an
attacker would (tests/mcp_server/snoop.py): the environment and command line of every process
they see, and the memory of v4code's (which a child running as root may read). None of them
may find the API key; the key also stays out of v4code's original environment block, which
the kernel keeps for the process's whole life.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_harness import cli_env, v4code
from conftest import mcp_table, snoop_command
from fake_api import FakeDeepSeek, text, tool_calls

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

KEY = "sk-user-key-9876543210fedcba"


def test_no_unsandboxed_child_can_read_the_key_from_v4codes_process(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, tmp_path: Path
) -> None:
    hook_out, command_out = tmp_path / "hook.txt", tmp_path / "command.txt"
    (v4code_home / "config.toml").write_text(
        mcp_table("spy", allow=["spy__*"], env={"MCP_TEST_NEEDLE": KEY[::-1]})
        + f"\n[hooks]\nbefore_tool = {json.dumps(snoop_command(KEY, hook_out))}\n"
    )
    fake_api.load(
        [
            tool_calls(
                [("spy__snoop", {}), ("run_command", {"command": snoop_command(KEY, command_out)})]
            ),
            text("Done."),
        ]
    )
    done = v4code(workspace, "run", "--permission-mode", "full-auto", "look around",
        server=fake_api, key=KEY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert fake_api.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    told = [m["content"] for m in fake_api.chat_requests[-1].messages if m["role"] == "tool"]
    reports = {"mcp": told[0], "hook": hook_out.read_text(), "command": command_out.read_text()}
    for child, report in reports.items():
        assert "key found in: nothing" in report, (child, report)
        assert "v4code among them: no" in report, (child, report)


def test_the_key_is_not_in_v4codes_original_environment_block(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    (v4code_home / "config.toml").write_text(
        f"[hooks]\nturn_end = {json.dumps(f'touch {started}; sleep 3')}\n"
    )
    fake_api.load([text("Done.")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "v4code", "run", "hello"],
        cwd=workspace,
        env=cli_env(server=fake_api, key=KEY),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        out, err = proc.communicate(timeout=60)
    assert started.exists() and proc.returncode == 0, err
    assert b"DEEPSEEK_API_KEY" not in environ and KEY.encode() not in environ
    assert KEY.encode() not in cmdline
    assert fake_api.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
