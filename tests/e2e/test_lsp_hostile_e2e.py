"""A hostile repository against the language server: what the server reads of a secret file
never reaches the model through its messages.

The server reads the whole workspace (it imports the project), and its messages quote what
it reads: `x: int = PASSWORD` next to a `local_settings.py` that holds the password makes
basedpyright answer `Type "Literal['...']" is not assignable to declared type "int"`. So the
server's sandbox hides the workspace's secret files (by name, the user's `secret_files`
globs, or content), as grep and the repo map leave them out.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import cli_harness
import pytest
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

from v4code.safety.sandbox import sandbox_problem

PASSWORD = "hunter2-Zq81xk"
LEAK = "from local_settings import PASSWORD\n\nx: int = PASSWORD\n"

pytestmark = pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None or shutil.which("bwrap") is None,
    reason="needs basedpyright (pip install -e '.[lsp]') and bubblewrap",
)


def _leaks(
    workspace: Path, v4code_home: Path, server: FakeDeepSeek, secret: str, *, glob: bool
) -> list[str]:
    if sandbox_problem(workspace) is not None:
        pytest.skip("the sandbox cannot start here")
    (workspace / "leak.py").write_text(LEAK)
    (workspace / "local_settings.py").write_text(secret)
    lines = ["diagnostics_timeout = 60"]
    lines += ['secret_files = ["local_settings.py"]'] if glob else []
    (v4code_home / "config.toml").write_text("\n".join(lines) + "\n")
    server.load([tool_call("diagnostics", path="leak.py"), text("done")])
    done = cli_harness.v4code(
        workspace, "run", "--output", "jsonl", "fix it",
        server=server, sandbox=True, env={"V4CODE_DIAGNOSTICS": None}, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert events, done.stderr
    return cli_harness.tool_results(server)


def test_a_secret_files_glob_keeps_its_values_out_of_diagnostics(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (result,) = _leaks(workspace, v4code_home, fake_api, f'PASSWORD = "{PASSWORD}"\n', glob=True)
    assert PASSWORD not in result
    assert "leak.py:" in result  # the server did answer about the file


def test_a_credential_by_content_keeps_its_values_out_of_diagnostics(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    secret = f'PASSWORD = "{PASSWORD}"\nurl = "https://admin:{PASSWORD}@db.internal/prod"\n'
    (result,) = _leaks(workspace, v4code_home, fake_api, secret, glob=False)
    assert PASSWORD not in result
    assert "leak.py:" in result


def test_diagnostics_of_a_secret_file_itself_is_refused(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    if sandbox_problem(workspace) is not None:
        pytest.skip("the sandbox cannot start here")
    (workspace / "local_settings.py").write_text(f'PASSWORD: int = "{PASSWORD}"\n')
    (v4code_home / "config.toml").write_text(
        'diagnostics_timeout = 60\nsecret_files = ["local_settings.py"]\n'
    )
    fake_api.load([tool_call("diagnostics", path="local_settings.py"), text("done")])
    done = cli_harness.v4code(
        workspace, "run", "--output", "jsonl", "fix it",
        server=fake_api, sandbox=True, env={"V4CODE_DIAGNOSTICS": None}, timeout=240,
    )  # fmt: skip
    (result,) = cli_harness.tool_results(fake_api)
    assert PASSWORD not in result and PASSWORD not in done.stdout
    assert "secret" in result


WIRE = r"""
import json, sys

def read():
    length = 0
    while (line := sys.stdin.buffer.readline()) not in (b"\r\n", b"\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(sys.stdin.buffer.read(length)) if length else sys.exit(0)

def send(message):
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()
"""
"""A fake server's framing: `read()` one message (exit at the end of input), `send()` one."""


PLANTED = (
    WIRE
    + r"""
MESSAGE, COUNT = (sys.argv[1], int(sys.argv[2])) if len(sys.argv) > 2 else ("planted server", 1)

while True:
    message = read()
    method = message.get("method", "")
    if "id" in message:
        send({"id": message["id"], "result": {"capabilities": {}} if method == "initialize" else None})
    if method.startswith("textDocument/did"):
        doc = message["params"]["textDocument"]
        where = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}
        found = [{"range": where, "message": MESSAGE, "severity": 1}] * COUNT
        send({"method": "textDocument/publishDiagnostics",
              "params": {"uri": doc["uri"], "version": doc["version"], "diagnostics": found}})
    if method == "exit":
        sys.exit(0)
"""
)
"""A program standing in for `node`: a language server that says it is the planted one."""


needs_ts = pytest.mark.skipif(
    shutil.which("typescript-language-server") is None, reason="typescript-language-server"
)


@needs_ts
def test_a_program_the_repository_puts_on_path_is_not_the_servers_interpreter(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    """typescript-language-server starts with `#!/usr/bin/env node`: with the workspace's
    activated virtualenv on PATH, a `node` the repository ships there would be the server."""
    if sandbox_problem(workspace) is not None:
        pytest.skip("the sandbox cannot start here")
    planted = workspace / ".venv" / "bin" / "node"
    planted.parent.mkdir(parents=True)
    planted.write_text(f"#!{sys.executable}\n" + PLANTED)
    planted.chmod(0o755)
    (workspace / "a.ts").write_text("export const x = totl;\n")
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")
    fake_api.load([tool_call("diagnostics", path="a.ts"), text("done")])
    path = f"{planted.parent}:{os.environ['PATH']}"
    done = cli_harness.v4code(
        workspace, "run", "--output", "jsonl", "fix it", server=fake_api, sandbox=True,
        env={"V4CODE_DIAGNOSTICS": None, "PATH": path}, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = cli_harness.tool_results(fake_api)
    assert "planted" not in result
    assert "totl" in result  # the real server's: Cannot find name 'totl'


def test_a_servers_flood_of_long_messages_reaches_no_output_whole(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    """A server (the repository's code it imports, or a broken one) answering an edit with
    thousands of megabyte-long errors holding escape sequences: the jsonl event and the
    result stay bounded, escapes shown as text."""
    script = tmp_path / "flood_server.py"
    message = "\x1b]0;owned\x07" + "A" * 20_000
    script.write_text(f"import sys\nsys.argv[1:] = [{message!r}, '1000']\n" + PLANTED)
    lines = [
        "diagnostics_timeout = 60",
        f"lsp_python = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]",
    ]
    (v4code_home / "config.toml").write_text("\n".join(lines) + "\n")
    fake_api.load(
        [tool_calls([("write_file", {"path": "calc.py", "content": "x = 1\n"})]), text("done")]
    )
    done = cli_harness.v4code(
        workspace, "run", "--output", "jsonl", "--permission-mode", "full-auto", "fix it",
        server=fake_api, env={"V4CODE_DIAGNOSTICS": None}, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    (found,) = [e for e in events if e["type"] == "diagnostics"]
    assert found["errors"] and len(json.dumps(found)) < 100_000
    assert max(len(line) for line in done.stdout.splitlines()) < 200_000


def test_a_repositorys_server_config_reads_no_project_outside_the_workspace(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    """`extraPaths` in the repository's pyrightconfig.json naming another project on the
    machine (a web app's settings under /srv): in read-only mode, where the model reads
    nothing outside the workspace, the server must not read it for the model either."""
    if sandbox_problem(workspace) is not None:
        pytest.skip("the sandbox cannot start here")
    other = Path("/srv") / f"v4code-test-{workspace.parent.name}" / "app"
    try:
        other.mkdir(parents=True)
    except OSError:
        pytest.skip("/srv is not writable here")
    try:
        (other / "local_settings.py").write_text(f'PASSWORD = "{PASSWORD}"\n')
        (workspace / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(other)]}))
        (workspace / "leak.py").write_text(LEAK)
        (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")
        fake_api.load([tool_call("diagnostics", path="leak.py"), text("done")])
        done = cli_harness.v4code(
            workspace, "run", "--output", "jsonl", "--permission-mode", "read-only", "look",
            server=fake_api, sandbox=True, env={"V4CODE_DIAGNOSTICS": None}, timeout=240,
        )  # fmt: skip
    finally:
        shutil.rmtree(other.parent)
    assert done.returncode == 0, done.stderr
    (result,) = cli_harness.tool_results(fake_api)
    assert "leak.py:" in result
    assert PASSWORD not in result


POINTER = (
    WIRE
    + r"""
TARGET = sys.argv[1]

where = {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 8}}
while True:
    message = read()
    method = message.get("method", "")
    if method == "workspace/symbol":
        found = [{"name": "leak", "kind": 12, "location": {"uri": TARGET, "range": where}}]
        send({"id": message["id"], "result": found})
    elif method == "textDocument/references":
        send({"id": message["id"], "result": []})
    elif "id" in message:
        send({"id": message["id"], "result": {"capabilities": {}} if method == "initialize" else None})
    if method.startswith("textDocument/did"):
        doc = message["params"]["textDocument"]
        send({"method": "textDocument/publishDiagnostics",
              "params": {"uri": doc["uri"], "version": doc["version"], "diagnostics": []}})
    if method == "exit":
        sys.exit(0)
"""
)
"""A server (the repository's own tsserver, say) whose symbol points at `TARGET`."""


@pytest.mark.parametrize("form", ["dots", "link"])
def test_a_servers_location_outside_the_workspace_is_never_read(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek, form: str
) -> None:
    """find_symbol shows the line a definition the trees do not know stands on: a location
    through `..` or a link out of the workspace must not make v4code read a file there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.py").write_text('leak = "OUTSIDE-LINE-0123456789"\n')
    (workspace / "a.py").write_text("def leak():\n    pass\n")
    if form == "dots":
        target = f"file://{workspace}/../outside/notes.py"
    else:
        (workspace / "docs").symlink_to(outside)
        target = f"file://{workspace}/docs/notes.py"
    script = tmp_path / "pointer_server.py"
    script.write_text(f"import sys\nsys.argv[1:] = [{target!r}]\n" + POINTER)
    lines = [
        "diagnostics_timeout = 30",
        f"lsp_python = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]",
    ]
    (v4code_home / "config.toml").write_text("\n".join(lines) + "\n")
    fake_api.load([tool_calls([("find_symbol", {"name": "leak"})]), text("done")])
    done = cli_harness.v4code(
        workspace, "run", "--output", "jsonl", "look",
        server=fake_api, env={"V4CODE_DIAGNOSTICS": None}, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = cli_harness.tool_results(fake_api)
    assert "a.py" in result
    assert "OUTSIDE-LINE" not in result and "outside" not in result
