"""Shared fixtures: an isolated V4CODE_HOME, a temp git workspace, the fake DeepSeek server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from v4code.safety.sandbox import SandboxUnavailable, check_sandbox

pytest_plugins = ["fake_api.pytest_plugin"]

MCP_SERVER = Path(__file__).parent / "mcp_server" / "server.py"


def _sandbox_works() -> bool:
    try:
        check_sandbox(Path.cwd())
    except SandboxUnavailable:
        return False
    return True


needs_bwrap = pytest.mark.skipif(not _sandbox_works(), reason="bubblewrap cannot run here")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files in tests/golden/ from what the code gives now; "
        "review the diff before committing it.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True under `pytest --update-golden`, the one switch that rewrites golden files: a
    golden test then writes what it produced before comparing."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def v4code_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own user-level folder and no real API key, and git reads no
    configuration of the person running the tests (their global filters, git-lfs, hooks
    path or identity would change what v4code's git does)."""
    home = tmp_path_factory.mktemp("v4code_home")
    monkeypatch.setenv("V4CODE_HOME", str(home))
    user = tmp_path_factory.mktemp("user_home")
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(user / ".local" / "state"))  # batch runs
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in list(os.environ):
        if var.startswith(("DEEPSEEK_", "V4CODE_")) and var != "V4CODE_HOME":
            monkeypatch.delenv(var, raising=False)
    # No language server starts unless a test asks for one (tests/e2e/test_diagnostics_e2e.py
    # removes this): each would cost a session seconds of a busy machine's time.
    monkeypatch.setenv("V4CODE_DIAGNOSTICS", "false")
    # An MCP server is a Python process importing the SDK: on a loaded 2-core runner it can
    # take longer than the 10 s a user's first request waits; a test waits as long as needed.
    monkeypatch.setenv("V4CODE_MCP_STARTUP_WAIT", "120")
    return home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME (and XDG config folder) at `tmp_path / "home"`, with no git config named
    by the environment: the test writes the user's git config there, and no test reads the
    real user's."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    return home


def tree_state(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Everything on disk below `root` but its .git: kind, permission bits, bytes or link target.

    Two states compare equal only when undo (or anything else) put back every file exactly.
    """
    out: dict[str, tuple[str, int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git" or Path(dirpath) != root]
        for name in filenames + [d for d in dirnames if os.path.islink(Path(dirpath, d))]:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(path).encode())
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return out


def program_on_path(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str, script: str) -> Path:
    """The shell script `folder/name`, found first on PATH for the rest of the test.

    A stand-in for a real program (git, rg, bwrap, python) that misbehaves on cue.
    """
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(script)
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return program


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path, files: dict[str, str], *, commit: bool = True) -> Path:
    """`files` (relative path: text) written below `root`, committed unless `commit` is False."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "code")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """A temp git repository with one commit, like a user's project."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "README.md").write_text("# project\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    yield root


@pytest.fixture
def redirecting_models() -> Iterator[tuple[str, list[str | None]]]:
    """A server whose GET /models redirects to another one; yields its base URL and the
    Authorization headers the other server received (none, when nothing follows it)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"data": [{"id": "m"}]}')

        def log_message(self, *args: object) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)

    class Redirects(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}/models")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirects)
    for server in (other, first):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{first.server_port}/v1", seen
    finally:
        for server in (other, first):
            server.shutdown()
            server.server_close()


def mcp_table(
    name: str,
    *,
    allow: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: int | None = None,
) -> str:
    """A `[mcp.servers.NAME]` config table that runs the test MCP server over stdio."""
    lines = [
        f"[mcp.servers.{name}]",
        f"command = {json.dumps(sys.executable)}",
        f"args = [{json.dumps(str(MCP_SERVER))}, 'stdio']",
    ]
    if timeout is not None:
        lines.append(f"timeout = {timeout}")
    if allow is not None:
        lines.append(f"allow = {json.dumps(allow)}")
    if env is not None:
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in env.items())
        lines.append(f"env = {{ {pairs} }}")
    return "\n".join(lines) + "\n"


def snoop_command(key: str, out: Path | str) -> str:
    """The command line of tests/mcp_server/snoop.py looking for `key` (given reversed, so its
    own command line does not hold it) and writing its report to `out`."""
    return f"{sys.executable} {MCP_SERVER.parent / 'snoop.py'} {key[::-1]} {out}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def http_mcp(**env: str) -> Iterator[str]:
    """The test MCP server over HTTP (`env` added to its environment), started and its imports
    done before v4code runs, so a loaded machine's slow start does not count; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(MCP_SERVER), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()  # a call it still sleeps in would hold a polite shutdown
        proc.wait(10)
