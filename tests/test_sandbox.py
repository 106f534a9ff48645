"""The bubblewrap sandbox: no network, no writes outside the workspace, nothing left running."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from v4code import assets
from v4code.errors import ToolError
from v4code.safety import sandbox
from v4code.safety.sandbox import SandboxUnavailable, bwrap_argv, check_sandbox
from v4code.toolkit import ToolContext, ToolOutput, ToolRegistry


def _sandbox_works() -> bool:
    try:
        check_sandbox(Path.cwd())
    except SandboxUnavailable:
        return False
    return True


needs_bwrap = pytest.mark.skipif(not _sandbox_works(), reason="bubblewrap cannot run here")


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([assets.tools_dir()])


def run(registry: ToolRegistry, root: Path, *, sandbox: bool = True, **args: Any) -> ToolOutput:
    tool = registry.get("run_command")
    assert tool is not None
    out = tool.run(ToolContext(root=root, sandbox=sandbox), tool.parse_arguments(json.dumps(args)))
    assert isinstance(out, ToolOutput)
    return out


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on the loopback interface (no real network is touched)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_argv_layout(tmp_path: Path) -> None:
    argv = bwrap_argv(["bash", "-c", "make"], tmp_path, bwrap="/usr/bin/bwrap")
    root = str(tmp_path.resolve())
    assert argv[0] == "/usr/bin/bwrap"
    assert "--unshare-net" in argv and "--die-with-parent" in argv and "--unshare-pid" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and "--new-session" in argv
    assert argv[argv.index("--ro-bind") : argv.index("--ro-bind") + 3] == ["--ro-bind", "/", "/"]
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert binds == [root]
    assert argv.index("--bind") > argv.index("/tmp")  # over the private /tmp that hides it
    assert argv[-3:] == ["bash", "-c", "make"]
    assert "--unshare-net" not in bwrap_argv(["true"], tmp_path, network=True)


def test_missing_bwrap_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(SandboxUnavailable) as info:
        check_sandbox(tmp_path)
    message = str(info.value)
    assert "not installed, so it was not run" in message
    assert "apt-get install bubblewrap" in message
    assert "--no-sandbox" in message


def test_bwrap_that_cannot_start_is_refused(
    registry: ToolRegistry, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a container without user namespaces: bwrap exists but fails before running."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ToolError, match="bubblewrap cannot start here") as info:
        run(registry, workspace, command="touch ran")
    assert "No permissions to create new namespace" in str(info.value)
    assert not (workspace / "ran").exists()


@needs_bwrap
def test_workspace_is_writable(registry: ToolRegistry, workspace: Path) -> None:
    out = run(registry, workspace, command="echo data > made.txt && cat made.txt && pwd")
    assert out.text.splitlines() == [
        "exit code: 0",
        "(ran in the sandbox: no network; writes only to the workspace, outside .git/)",
        "data",
        os.path.realpath(workspace),
    ]
    assert (workspace / "made.txt").read_text() == "data\n"


@pytest.fixture
def outside_dir() -> Iterator[Path]:
    """A directory outside the workspace and outside /tmp (which the sandbox leaves writable)."""
    base = Path("/var/tmp")
    if not base.is_dir() or not os.access(base, os.W_OK):
        pytest.skip("needs a writable /var/tmp")
    path = Path(tempfile.mkdtemp(prefix="v4code-sandbox-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_bwrap
def test_writes_outside_the_workspace_fail(
    registry: ToolRegistry, workspace: Path, outside_dir: Path
) -> None:
    probe = Path("/etc/v4code-sandbox-probe")
    try:
        out = run(
            registry,
            workspace,
            command=f"touch {outside_dir}/x; echo rc=$?; touch {probe}; echo rc=$?",
        )
        assert out.text.count("rc=1") == 2, out.text
        assert out.text.count("Read-only file system") == 2, out.text
        assert not (outside_dir / "x").exists()
        assert not probe.exists()
    finally:
        probe.unlink(missing_ok=True)


@needs_bwrap
def test_existing_files_outside_cannot_be_changed(
    registry: ToolRegistry, workspace: Path, outside_dir: Path
) -> None:
    (outside_dir / "keep").write_text("original\n")
    out = run(
        registry,
        workspace,
        command=f"echo changed > {outside_dir}/keep; rm -f {outside_dir}/keep; "
        f"cat {outside_dir}/keep",
    )
    assert out.text.splitlines()[-1] == "original"
    assert (outside_dir / "keep").read_text() == "original\n"


@needs_bwrap
def test_network_is_blocked(registry: ToolRegistry, workspace: Path, listener: int) -> None:
    connect = f"echo > /dev/tcp/127.0.0.1/{listener} && echo connected"
    unconfined = run(registry, workspace, sandbox=False, command=connect)
    assert "connected" in unconfined.text  # the control: the listener is reachable
    confined = run(registry, workspace, command=connect)
    assert "connected" not in confined.text
    assert confined.data["exit_code"] != 0


@needs_bwrap
def test_host_processes_are_invisible(registry: ToolRegistry, workspace: Path) -> None:
    out = run(registry, workspace, command=f"kill -0 {os.getpid()} 2>/dev/null; echo rc=$?")
    assert "rc=1" in out.text


@needs_bwrap
def test_timeout_in_the_sandbox_leaves_nothing(registry: ToolRegistry, workspace: Path) -> None:
    started = time.monotonic()
    out = run(registry, workspace, timeout=1, command="sleep 300 & sleep 301")
    assert time.monotonic() - started < 6
    assert out.data["timed_out"] is True
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _sleepers():
        time.sleep(0.1)
    assert _sleepers() == []


def _sleepers() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if cmdline[:2] in ([b"sleep", b"300"], [b"sleep", b"301"]) and state != "Z":
                found.append(entry.name)
    return found
