"""run_command: exit codes, timeouts that leave nothing behind, bounded output, cancel."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from tool_harness import run_command

from v4code import assets
from v4code.cancel import CancelToken
from v4code.config import Settings
from v4code.errors import Cancelled, ToolError
from v4code.safety.process import OutputBuffer, run_process
from v4code.toolkit import ToolContext, ToolRegistry


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([assets.tools_dir()])


def live_pids(pids: list[int]) -> list[int]:
    """The pids that still run (zombies waiting for a reaper do not count)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def running_with_cmdline(cmdline: bytes) -> list[int]:
    """The live processes whose command line is `cmdline` (arguments NUL-separated)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().rstrip(b"\x00") == cmdline:
                    found.append(int(entry.name))
            except OSError:
                continue
    return live_pids(found)


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[2] == str(pgid) and fields[0] != "Z":
                members.append(int(entry.name))
    return members


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_loading_never_creates_a_top_level_tools_module(registry: ToolRegistry) -> None:
    assert "run_command" in registry.names()
    assert registry.get("run_command").risk == "command"  # type: ignore[union-attr]
    assert "tools" not in sys.modules


def test_output_and_exit_code(workspace: Path) -> None:
    out = run_command(workspace, command="echo one; echo two >&2; echo three; exit 3")
    assert out.text == "exit code: 3\none\ntwo\nthree"
    assert out.data["exit_code"] == 3
    assert out.data["timed_out"] is False
    assert out.data["command"].startswith("echo one")
    assert not out.is_error  # a failing command is a result, not a failed call
    ok = run_command(workspace, command="true")
    assert ok.text == "exit code: 0\n(no output)"


def test_runs_in_the_workspace_with_no_input(workspace: Path) -> None:
    out = run_command(workspace, command="pwd; cat; test -t 0 || echo no-tty")
    assert out.text == f"exit code: 0\n{os.path.realpath(workspace)}\nno-tty"


def test_environment_is_non_interactive_and_has_no_api_key(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-1234567890")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = run_command(
        workspace,
        command='echo "$PAGER $GIT_PAGER ${DEEPSEEK_API_KEY:-nokey} ${FORCE_COLOR:-nocolor}"',
    )
    assert out.text.splitlines()[1] == "cat cat nokey nocolor"


def test_api_key_is_redacted_from_output(workspace: Path) -> None:
    (workspace / ".env").write_text("KEY=sk-secret-abcdef123456\n")
    settings = Settings(api_key="sk-secret-abcdef123456")
    out = run_command(ToolContext.for_session(workspace, settings), command="cat .env")
    assert "sk-secret" not in out.text
    assert "KEY=[redacted]" in out.text


@linux_only
def test_timeout_kills_the_whole_process_group(workspace: Path) -> None:
    started = time.monotonic()
    out = run_command(
        workspace,
        timeout=1,
        command="(sleep 307 & wait) & sleep 308",
    )
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert out.text.startswith("timed out after 1 s; the process group was killed.")
    assert out.data["timed_out"] is True
    assert out.is_error
    # the command runs in a PID namespace of its own: find its processes by command line
    assert running_with_cmdline(b"sleep\x00307") == []
    assert running_with_cmdline(b"sleep\x00308") == []


@linux_only
def test_sigterm_ignoring_command_is_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_process(
        ["bash", "-c", "trap '' TERM; echo $$ > pid; while :; do sleep 0.1; done"],
        cwd=tmp_path,
        timeout=0.5,
        grace=0.5,
    )
    assert result.timed_out
    assert time.monotonic() - started < 4
    assert group_members(int((tmp_path / "pid").read_text())) == []


@linux_only
def test_background_processes_are_stopped_when_the_command_exits(workspace: Path) -> None:
    started = time.monotonic()
    out = run_command(workspace, command="sleep 309 & echo started")
    assert time.monotonic() - started < 5
    # unsandboxed commands run in a PID namespace of their own, which ends with the command
    # (no notice then); without one, v4code stops the group itself and says so
    lines = out.text.splitlines()
    assert lines[0] == "exit code: 0" and lines[-1] == "started"
    assert running_with_cmdline(b"sleep\x00309") == []


def test_huge_output_is_capped_quickly(workspace: Path) -> None:
    started = time.monotonic()
    out = run_command(workspace, command="yes | head -c 50000000; echo; echo THE-END")
    assert time.monotonic() - started < 10
    assert len(out.text) <= 30_000
    assert out.text.startswith("exit code: 0\ny\ny\n")
    assert out.text.endswith("y\n\nTHE-END")
    assert "bytes of output omitted" in out.text


def test_output_buffer_memory_is_bounded() -> None:
    buf = OutputBuffer(head=1000, tail=2000)
    chunk = b"0123456789" * 6553
    for _ in range(800):  # ~52 MB
        buf.write(chunk)
    buf.write(b"\nlast line\n")
    assert len(buf._head) == 1000 and len(buf._tail) == 2000
    assert buf.total == 800 * len(chunk) + 11
    assert buf.dropped == buf.total - 3000
    text = buf.text()
    assert text.startswith("0123456789")
    assert text.endswith("\nlast line\n")
    assert f"[... {buf.dropped:,} bytes of output omitted ...]" in text


def test_output_buffer_without_overflow_is_exact() -> None:
    buf = OutputBuffer(head=4, tail=4)
    buf.write("héllo".encode())
    assert buf.text() == "héllo" and buf.dropped == 0


@linux_only
def test_cancel_mid_command(workspace: Path) -> None:
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_command(
            ToolContext(root=workspace, cancel=token), command="echo $$ > leader; sleep 300"
        )
    assert time.monotonic() - started < 5
    assert group_members(int((workspace / "leader").read_text())) == []


def test_a_command_that_closes_its_output_still_honours_cancel(tmp_path: Path) -> None:
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    result = run_process(
        ["bash", "-c", "exec >&- 2>&-; sleep 300"], cwd=tmp_path, timeout=60, cancel=token
    )
    assert result.cancelled
    assert time.monotonic() - started < 5


def test_killed_by_signal_is_described(workspace: Path) -> None:
    out = run_command(workspace, command="kill -9 $$")
    assert out.text.startswith("exit code: 137 (killed by SIGKILL)")  # via its namespace's init


@pytest.mark.parametrize("timeout", [0, -5, 3601])
def test_timeout_bounds(workspace: Path, timeout: int) -> None:
    with pytest.raises(ToolError, match="timeout must be between 1 and 3600 seconds"):
        run_command(workspace, command="true", timeout=timeout)


def test_bad_arguments(workspace: Path) -> None:
    with pytest.raises(ToolError, match="The command is empty"):
        run_command(workspace, command="  ")
    with pytest.raises(ToolError, match="Invalid arguments for run_command"):
        run_command(workspace, command="true", timeout="soon")


def test_sandbox_required_but_missing_refuses(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolError, match=r"bubblewrap \(`bwrap`\) is not installed") as info:
        run_command(ToolContext(root=workspace, sandbox=True), command="touch ran")
    assert "apt-get install bubblewrap" in str(info.value)
    assert not (workspace / "ran").exists()


def test_encoded_keys_and_keys_from_the_environment_are_redacted(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V4CODE_API_KEY", "v4-env-secret-987654")
    settings = Settings(api_key="sk-secret-abcdef123456", command_timeout=120)
    command = (
        "printf 'sk-secret-abcdef123456' | base64; printf 'sk-secret-abcdef123456' | xxd -p; "
        "echo v4-env-secret-987654 ${V4CODE_API_KEY:-dropped}"
    )
    out = run_command(ToolContext.for_session(workspace, settings), command=command)
    assert "secret" not in out.text and "c2stc2VjcmV0" not in out.text
    assert out.text.count("[redacted]") == 3 and "dropped" in out.text


def test_the_configured_command_timeout_is_the_default(workspace: Path) -> None:
    settings = Settings(api_key=None, command_timeout=1)
    out = run_command(ToolContext.for_session(workspace, settings), command="sleep 30")
    assert out.text.startswith("timed out after 1 s")
    longer = run_command(
        ToolContext.for_session(workspace, settings), command="sleep 1.5; echo done", timeout=5
    )
    assert "exit code: 0" in longer.text and "done" in longer.text
    with pytest.raises(ToolError, match="between 1 and 3600"):
        run_command(ToolContext.for_session(workspace, settings), command="true", timeout=7200)
