"""What the sandbox shows of the host, attacked through the real CLI.

A prompt-injected model (scripted on the test server) runs commands in `full-auto` with the
sandbox on, trying to make the *next* command's sandbox show it something of the host: a link
in the workspace's PATH folder, a `.git` file naming a folder, toolchain folders that hold
credentials, the v4code home around a batch unit's worktree, a host Unix socket. Each test
looks at what came back to the model. A virtualenv whose python lives in a pyenv under
`$HOME` keeps running pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import plan_each, v4code
from conftest import git, needs_bwrap
from fake_api import FakeDeepSeek, text, tool_call

pytestmark = needs_bwrap

SECRET = "PRIVATE-KEY-0f3a9c"


def home() -> Path:
    return Path(os.environ["HOME"])


def ssh_key() -> Path:
    key = home() / ".ssh" / "id_rsa"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text(SECRET + "\n")
    return key


def commands(
    root: Path, server: FakeDeepSeek, *lines: str, env: dict[str, str] | None = None
) -> str:
    """`run --permission-mode full-auto` with the sandbox, the model running `lines` one
    command a step; what the commands printed."""
    server.load([*(tool_call("run_command", command=line) for line in lines), text("Done.")])
    done = v4code(
        root, "run", "--permission-mode", "full-auto", "go", server=server, env=env, sandbox=True
    )
    assert done.returncode == 0, done.stderr
    return results(server)


def results(server: FakeDeepSeek) -> str:
    """The tool results the model was sent (what the commands printed)."""
    last = server.chat_requests[-1].messages
    return json.dumps([m.get("content") for m in last if m.get("role") == "tool"])


def with_venv_on_path(root: Path) -> dict[str, str]:
    (root / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def test_a_link_planted_in_the_workspaces_path_folder_shows_nothing_of_home(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    key = ssh_key()
    seen = commands(
        workspace,
        fake_api,
        f"ln -s {key} .venv/bin/k",
        f"cat {key}; echo tried",
        env=with_venv_on_path(workspace),
    )
    assert "tried" in seen and SECRET not in seen


def fake_pyenv(version_dir: Path) -> Path:
    """A Python installed as pyenv installs it, under `version_dir` (in $HOME): its own
    executable, the standard library beside it (linked to this interpreter's)."""
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (version_dir / "bin").mkdir(parents=True)
    (version_dir / "lib").mkdir()
    shutil.copy2(os.path.realpath(sys.executable), version_dir / "bin" / name)
    (version_dir / "bin" / "python3").symlink_to(name)
    (version_dir / "lib" / name).symlink_to(Path(sys.base_prefix) / "lib" / name)
    return version_dir / "bin" / "python3"


def test_a_venv_whose_python_lives_in_a_pyenv_under_home_still_runs_pytest(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    python = fake_pyenv(home() / ".pyenv" / "versions" / "3.x")
    venv = workspace / ".venv"
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # pytest
    (workspace / "test_ok.py").write_text("def test_ok():\n    assert sum([1, 2]) == 3\n")
    env = with_venv_on_path(workspace) | {"VIRTUAL_ENV": str(venv)}
    ssh_key()
    seen = commands(
        workspace,
        fake_api,
        "python -c 'import sys; print(sys.base_prefix)' && "
        f"python -m pytest -q -p no:cacheprovider test_ok.py; cat {home()}/.ssh/id_rsa",
        env=env,
    )
    assert str(home() / ".pyenv" / "versions" / "3.x") in seen and "1 passed" in seen, seen
    assert SECRET not in seen


def test_a_git_file_written_in_a_plain_folder_binds_nothing_of_home(
    tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    key = ssh_key()
    seen = commands(
        root,
        fake_api,
        f"mkdir -p fake/objects && touch fake/HEAD && echo {key.parent} > fake/commondir"
        " && echo 'gitdir: fake' > .git",
        f"cat {key}; echo tried",
    )
    assert "tried" in seen and SECRET not in seen


def test_toolchain_folders_under_home_show_the_tools_but_not_credentials(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    cargo, local = home() / ".cargo", home() / ".local"
    for folder, tool in ((cargo / "bin", "cargo-tool"), (local / "bin", "local-tool")):
        folder.mkdir(parents=True)
        (folder / tool).write_text("#!/bin/sh\necho tool ran\n")
        (folder / tool).chmod(0o755)
    (cargo / "credentials.toml").write_text('[registry]\ntoken = "CARGO-TOKEN-77"\n')
    (local / "share" / "keyrings").mkdir(parents=True)
    (local / "share" / "keyrings" / "login.keyring").write_text("KEYRING-SECRET-88\n")
    (local / "lib" / "python3.x" / "site-packages").mkdir(parents=True)
    (local / "lib" / "python3.x" / "site-packages" / "mod.py").write_text("USER-PACKAGE\n")
    path = f"{cargo / 'bin'}{os.pathsep}{local / 'bin'}{os.pathsep}{os.environ['PATH']}"
    seen = commands(
        workspace,
        fake_api,
        f"cargo-tool; local-tool; cat {local}/lib/python3.x/site-packages/mod.py; "
        f"cat {cargo}/credentials.toml {local}/share/keyrings/login.keyring; echo tried",
        env={"PATH": path},
    )
    assert seen.count("tool ran") == 2 and "USER-PACKAGE" in seen and "tried" in seen
    assert "CARGO-TOKEN" not in seen and "KEYRING-SECRET" not in seen


@pytest.fixture
def v4code_home_in_var(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A v4code home outside both $HOME and /tmp (the sandbox masks those anyway)."""
    folder = Path(tempfile.mkdtemp(prefix="v4code-home-", dir="/var/tmp"))
    monkeypatch.setenv("V4CODE_HOME", str(folder))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_batch_units_sandbox_sees_its_worktree_but_not_the_v4code_home(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home_in_var: Path, tmp_path: Path
) -> None:
    other = v4code_home_in_var / "sessions" / "other.jsonl"
    other.parent.mkdir(parents=True)
    other.write_text("OTHER-SESSION-TEXT-99\n")
    (workspace / "a.txt").write_text("a\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "a")
    manifest = plan_each(workspace, fake_api, "a.txt", tmp_path / "jobs.jsonl", sandbox=True)
    fake_api.route(
        "a.txt",
        [
            tool_call("run_command", command=f"echo fixed > a.txt; cat {other}; echo tried"),
            text("Done."),
        ],
    )
    ran = v4code(workspace, "batch", "run", str(manifest), server=fake_api, sandbox=True)
    seen = results(fake_api)
    assert "tried" in seen and "OTHER-SESSION-TEXT" not in seen, ran.stderr
    assert ran.returncode == 0, ran.stderr  # the worktree stayed writable: the unit is green


@pytest.fixture
def host_socket() -> Iterator[tuple[Path, list[str]]]:
    """A host daemon's Unix socket outside every masked folder; yields its path and what
    it received."""
    folder = Path(tempfile.mkdtemp(prefix="daemon-", dir="/var/tmp"))
    path = folder / "daemon.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    got: list[str] = []

    def serve() -> None:
        with server:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    got.append(conn.recv(100).decode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, got
    finally:
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_host_unix_socket_outside_the_masked_folders_is_unreachable(
    workspace: Path, fake_api: FakeDeepSeek, host_socket: tuple[Path, list[str]]
) -> None:
    path, got = host_socket
    probe = (
        "import socket; s = socket.socket(socket.AF_UNIX); "
        f"s.connect({str(path)!r}); s.sendall(b'hello'); print('CONNECTED')"
    )
    seen = commands(workspace, fake_api, f"{sys.executable} -c {json.dumps(probe)}; echo tried")
    assert "tried" in seen and "CONNECTED" not in seen and got == []


def test_a_command_word_that_cannot_be_inspected_still_runs(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    seen = commands(workspace, fake_api, "ls /proc/1/root/x 2>/dev/null; echo started")
    assert "started" in seen and "Could not start" not in seen


def test_a_destructive_command_on_an_uninspectable_path_is_judged_not_crashed(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([tool_call("run_command", command="rm -rf /proc/1/root/x/y"), text("Done.")])
    done = v4code(
        workspace, "run", "--permission-mode", "full-auto", "go", server=fake_api, sandbox=True
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 5, done.stderr  # denied: a person would have to say yes
    assert "cannot be worked out" in done.stderr + done.stdout
