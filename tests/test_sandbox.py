"""The bubblewrap sandbox: no network, no writes outside the workspace, nothing left running."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import needs_bwrap, program_on_path
from tool_harness import run_command

from v4code.errors import ToolError
from v4code.safety import sandbox
from v4code.safety.sandbox import SandboxUnavailable, bwrap_argv, check_sandbox
from v4code.toolkit import ToolContext


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


def test_repository_files_cannot_unmask_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `.git` file or a `pyvenv.cfg` in the repository names what the sandbox shows: a
    planted one pointing into the hidden home (at ~/.ssh) must not bind it in."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE\n")
    monkeypatch.setenv("HOME", str(home))
    repo = tmp_path / "repo"
    (repo / "venv").mkdir(parents=True)
    (repo / ".git").write_text(f"gitdir: {home / '.ssh'}\n")
    (repo / "venv" / "pyvenv.cfg").write_text(f"home = {home / '.ssh'}\n")
    argv = bwrap_argv(["bash", "-c", f"{repo}/venv/bin/python -V"], repo)
    shown = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    assert str((home / ".ssh").resolve()) not in shown


def test_missing_bwrap_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda *_: None)
    with pytest.raises(SandboxUnavailable) as info:
        check_sandbox(tmp_path)
    message = str(info.value)
    assert "not installed, so it was not run" in message
    assert "apt-get install bubblewrap" in message
    assert "--no-sandbox" in message


def test_bwrap_that_cannot_start_is_refused(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a container without user namespaces: bwrap exists but fails before running."""
    script = "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    program_on_path(monkeypatch, tmp_path / "fake-bin", "bwrap", script)
    with pytest.raises(ToolError, match="bubblewrap cannot start here") as info:
        run_command(workspace, sandboxed=True, command="touch ran")
    assert "No permissions to create new namespace" in str(info.value)
    assert not (workspace / "ran").exists()


@needs_bwrap
def test_workspace_is_writable(workspace: Path) -> None:
    out = run_command(
        workspace, sandboxed=True, command="echo data > made.txt && cat made.txt && pwd"
    )
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
def test_writes_outside_the_workspace_fail(workspace: Path, outside_dir: Path) -> None:
    probe = Path("/etc/v4code-sandbox-probe")
    try:
        out = run_command(
            workspace,
            sandboxed=True,
            command=f"touch {outside_dir}/x; echo rc=$?; touch {probe}; echo rc=$?",
        )
        assert out.text.count("rc=1") == 2, out.text
        assert out.text.count("Read-only file system") == 2, out.text
        assert not (outside_dir / "x").exists()
        assert not probe.exists()
    finally:
        probe.unlink(missing_ok=True)


@needs_bwrap
def test_existing_files_outside_cannot_be_changed(workspace: Path, outside_dir: Path) -> None:
    (outside_dir / "keep").write_text("original\n")
    out = run_command(
        workspace,
        sandboxed=True,
        command=f"echo changed > {outside_dir}/keep; rm -f {outside_dir}/keep; "
        f"cat {outside_dir}/keep",
    )
    assert out.text.splitlines()[-1] == "original"
    assert (outside_dir / "keep").read_text() == "original\n"


@needs_bwrap
def test_network_is_blocked(workspace: Path, listener: int) -> None:
    connect = f"echo > /dev/tcp/127.0.0.1/{listener} && echo connected"
    unconfined = run_command(workspace, sandboxed=False, command=connect)
    assert "connected" in unconfined.text  # the control: the listener is reachable
    confined = run_command(workspace, sandboxed=True, command=connect)
    assert "connected" not in confined.text
    assert confined.data["exit_code"] != 0


@needs_bwrap
def test_host_processes_are_invisible(workspace: Path) -> None:
    out = run_command(
        workspace, sandboxed=True, command=f"kill -0 {os.getpid()} 2>/dev/null; echo rc=$?"
    )
    assert "rc=1" in out.text


@needs_bwrap
def test_timeout_in_the_sandbox_leaves_nothing(workspace: Path) -> None:
    started = time.monotonic()
    out = run_command(workspace, sandboxed=True, timeout=1, command="sleep 3917 & sleep 3918")
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
            if cmdline[:2] in ([b"sleep", b"3917"], [b"sleep", b"3918"]) and state != "Z":
                found.append(entry.name)
    return found


# --- attacks as root ---------------------------------------------------------------------


@needs_bwrap
def test_remounting_root_read_write_fails(workspace: Path) -> None:
    probe = Path(f"/v4code-probe-{uuid.uuid4().hex}")
    try:
        out = run_command(
            workspace,
            sandboxed=True,
            command=f"mount -o remount,bind,rw /; echo mount=$?; echo x > {probe}; echo write=$?; "
            "grep CapEff /proc/self/status",
            timeout=60,
        )
        assert "mount=0" not in out.text and "write=0" not in out.text, out.text
        assert "CapEff:\t0000000000000000" in out.text
        assert not probe.exists()
    finally:
        probe.unlink(missing_ok=True)


@needs_bwrap
def test_sysctls_are_read_only(workspace: Path) -> None:
    out = run_command(
        workspace,
        sandboxed=True,
        command="echo 0 > /proc/sys/kernel/hostname; echo rc=$?",
        timeout=60,
    )
    assert "rc=1" in out.text and "Read-only file system" in out.text


def _unix_listener(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    return server


CONNECT = (
    f'{sys.executable} -c "import socket, sys; s = socket.socket(socket.AF_UNIX); '
    "s.connect(sys.argv[1]); print('connected')\" "
)


@needs_bwrap
def test_host_unix_sockets_are_unreachable(
    workspace: Path,
    outside_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A daemon socket in /run (docker.sock, D-Bus) and one in $XDG_RUNTIME_DIR (ssh-agent)."""
    if not os.access("/run", os.W_OK):
        pytest.skip("needs a writable /run")
    run_dir = Path(tempfile.mkdtemp(prefix="v4code-test-", dir="/run"))
    runtime = outside_dir / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    servers = [_unix_listener(run_dir / "daemon.sock"), _unix_listener(runtime / "agent.sock")]
    try:
        for sock in (run_dir / "daemon.sock", runtime / "agent.sock"):
            control = run_command(workspace, sandboxed=False, command=CONNECT + str(sock))
            assert "connected" in control.text  # reachable outside the sandbox
            out = run_command(workspace, sandboxed=True, command=CONNECT + str(sock), timeout=60)
            assert "connected" not in out.text and out.data["exit_code"] != 0, out.text
            assert "No such file or directory" in out.text
    finally:
        for server in servers:
            server.close()
        shutil.rmtree(run_dir, ignore_errors=True)


@needs_bwrap
def test_home_is_empty_except_what_the_user_allows(
    workspace: Path, outside_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from v4code.config import Settings

    home = outside_dir / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    (home / "shared").mkdir()
    (home / "shared" / "data.txt").write_text("allowed data\n")
    (home / "bin").mkdir()  # on PATH: visible itself, without unmasking the rest of $HOME
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}")
    settings = Settings(sandbox_allow_read=("~/shared",))
    out = run_command(
        dataclasses.replace(ToolContext.for_session(workspace, settings), sandbox=True),
        sandboxed=True,
        command="cat ~/.ssh/id_rsa; echo key=$?; ls -A ~; cat ~/shared/data.txt; "
        "echo more >> ~/shared/data.txt; echo append=$?",
        timeout=60,
    )
    assert "secret" not in out.text and "key=1" in out.text
    assert "allowed data" in out.text and "append=1" in out.text
    assert (home / "shared" / "data.txt").read_text() == "allowed data\n"


@needs_bwrap
def test_v4code_home_and_git_are_protected_but_the_workspace_is_writable(
    workspace: Path, outside_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v4home = outside_dir / "v4code-home"
    (v4home / "sessions").mkdir(parents=True)
    (v4home / "sessions" / "other.jsonl").write_text('{"secret": "another session"}\n')
    monkeypatch.setenv("V4CODE_HOME", str(v4home))
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text("model = 'x'\n")
    head = (workspace / ".git" / "HEAD").read_text()
    out = run_command(
        workspace,
        sandboxed=True,
        command=f"cat {v4home}/sessions/other.jsonl; echo config=sandbox=false >> {v4home}/config.toml; "
        "echo 'ref: refs/heads/evil' > .git/HEAD; touch .git/hooks/pre-commit; "
        "echo sandbox = false >> .v4code/config.toml; "
        "echo made > made.txt && mkdir -p src && echo ok > src/new.py && echo wrote",
        timeout=60,
    )
    assert "another session" not in out.text
    assert out.text.count("Read-only file system") >= 3, out.text
    assert not (v4home / "config.toml").exists()
    assert (workspace / ".git" / "HEAD").read_text() == head
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
    assert (workspace / ".v4code" / "config.toml").read_text() == "model = 'x'\n"
    assert "wrote" in out.text and (workspace / "made.txt").read_text() == "made\n"
    assert (workspace / "src" / "new.py").read_text() == "ok\n"


@needs_bwrap
def test_tmp_is_private(workspace: Path) -> None:
    name = f"/tmp/v4code-probe-{uuid.uuid4().hex}"
    host = Path(f"/tmp/v4code-host-{uuid.uuid4().hex}")
    host.write_text("host scratch\n")
    try:
        out = run_command(
            workspace,
            sandboxed=True,
            command=f"echo x > {name} && cat {name} && ls -A /tmp",
            timeout=60,
        )
    finally:
        host.unlink()
    assert out.data["exit_code"] == 0 and "x" in out.text
    assert not Path(name).exists()
    assert host.name not in out.text


def _venv(path: Path) -> Path:
    """A virtualenv that sees this test run's packages (pytest) through a .pth file."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python*/site-packages"))
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path


PYTEST_FILE = "def test_ok():\n    assert sum([1, 2]) == 3\n"


@needs_bwrap
def test_venv_in_tmp_outside_the_workspace_still_runs(workspace: Path, tmp_path: Path) -> None:
    venv = _venv(tmp_path / "venvs" / "tool")
    (workspace / "test_ok.py").write_text(PYTEST_FILE)
    out = run_command(
        workspace,
        sandboxed=True,
        command=f"{venv}/bin/python -c 'import sys; print(sys.prefix)' && "
        f"{venv}/bin/python -m pytest -q -p no:cacheprovider test_ok.py",
        timeout=60,
    )
    assert out.data["exit_code"] == 0, out.text
    assert str(venv) in out.text and "1 passed" in out.text


@needs_bwrap
def test_python_under_home_on_path_still_runs(
    workspace: Path, outside_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with pyenv: a shim directory on PATH and the versions it points to, under $HOME."""
    home = outside_dir / "home"
    version = _venv(home / ".pyenv" / "versions" / "3.x")
    shim = f'#!/bin/sh\nexec "{version}/bin/python" "$@"\n'
    program_on_path(monkeypatch, home / ".pyenv" / "shims", "python", shim)
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text("secret\n")
    monkeypatch.setenv("HOME", str(home))
    (workspace / "test_ok.py").write_text(PYTEST_FILE)
    out = run_command(
        workspace,
        sandboxed=True,
        command="python -c 'import sys; print(sys.prefix)' && "
        "python -m pytest -q -p no:cacheprovider test_ok.py; cat ~/.ssh/id_rsa",
        timeout=60,
    )
    assert str(version) in out.text and "1 passed" in out.text, out.text
    assert "secret" not in out.text


FORK_BOMB = (
    f'{sys.executable} -c "\n'
    "import os, time\n"
    "n = 0\n"
    "try:\n"
    "    for _ in range(20000):\n"
    "        if os.fork() == 0:\n"
    "            time.sleep(60)\n"
    "            os._exit(0)\n"
    "        n += 1\n"
    "except OSError as exc:\n"
    "    print('stopped after', n, exc.strerror)\n"
    '"'
)


@needs_bwrap
def test_fork_bomb_is_stopped_by_the_process_limit(workspace: Path) -> None:
    if os.geteuid() == 0:
        group = sandbox._pids_cgroup()
        if group is None:
            pytest.skip("no pids cgroup can be made here, and no rlimit binds uid 0")
        sandbox._remove_cgroup(group)
    out = run_command(workspace, sandboxed=True, command=FORK_BOMB, timeout=120)
    assert "stopped after" in out.text, out.text
    forked = int(out.text.split("stopped after")[1].split()[0])
    assert forked <= sandbox.MAX_PROCESSES


@needs_bwrap
def test_file_size_is_limited(workspace: Path) -> None:
    out = run_command(workspace, sandboxed=True, command="ulimit -f", timeout=60)
    assert out.text.splitlines()[-1] == str(sandbox.MAX_FILE_BYTES // 1024)


def test_user_may_run_unsandboxed_when_bubblewrap_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda *_: None)
    with sandbox.sandboxed(["true"], tmp_path, allow_unsandboxed=True) as argv:
        # unconfined (no read-only system), in a PID namespace of its own where one can be had
        assert argv == ["true"] or (argv[-2:] == ["--", "true"] and "--ro-bind" not in argv)
    with pytest.raises(SandboxUnavailable), sandbox.sandboxed(["true"], tmp_path):
        pass


def test_a_repository_cannot_turn_the_sandbox_off(workspace: Path, v4code_home: Path) -> None:
    from v4code.config import load_settings
    from v4code.safety.trust import grant

    (v4code_home / "config.toml").write_text("sandbox = false\n")
    assert load_settings(workspace).settings.sandbox is False  # the user may
    (v4code_home / "config.toml").unlink()
    (workspace / ".v4code").mkdir()
    for line in ("sandbox = false", "sandbox-allow-read = ['/']", "allow_destructive = true"):
        (workspace / ".v4code" / "config.toml").write_text(line + "\n")
        grant(workspace)  # even a trusted repository
        loaded = load_settings(workspace)
        assert loaded.settings.sandbox is True
        assert not loaded.settings.allow_destructive and not loaded.settings.sandbox_allow_read
        assert any("ignored" in n for n in loaded.notices), loaded.notices


@needs_bwrap
def test_git_works_read_only_in_a_worktree_whose_repository_is_hidden(
    workspace: Path, outside_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worktree's `.git` file points into the main checkout, here under a hidden $HOME."""
    home = outside_dir / "home"
    main = home / "src" / "app"
    main.parent.mkdir(parents=True)
    shutil.copytree(workspace, main)
    tree = main.parent / "app-wt"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "wt", str(tree)], cwd=main, check=True)
    monkeypatch.setenv("HOME", str(home))
    out = run_command(
        tree,
        sandboxed=True,
        command="git log --oneline | wc -l; git status --short; echo rc=$?",
        timeout=60,
    )
    assert "rc=0" in out.text and out.text.splitlines()[2].strip() == "1", out.text
