"""Attacks of the same classes as the sandbox fixes, by a hostile workspace or a prompt-injected
model, through the real CLI: the variants each fix had to cover as well.

Each test plants what an attacker would and looks at what a user would see: marker files a
started program leaves, the requests the model server received, what the terminal printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_harness import plan_each, seen_by_model, session_logs, v4code
from conftest import MCP_SERVER, needs_bwrap, snoop_command
from fake_api import FakeDeepSeek, start_subprocess_server, text, tool_call, tool_calls
from tmux_harness import chat_in_tmux, leave, send, wait_for

KEY = "sk-attacker-two-key-0123456789"
MARK = "z9-leaked-credential"
PEM_BODY = f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{MARK}AAAAAQAAADMAAAALc3NoLWVkMjU1MTk"
OPENSSH_KEY = (
    f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----\n"
)


def sandboxed_run(root: Path, server: FakeDeepSeek) -> subprocess.CompletedProcess[str]:
    return v4code(
        root, "run", "--permission-mode", "full-auto", "--output", "json", "go",
        server=server, sandbox=True,
    )  # fmt: skip


def read_only_run(root: Path, server: FakeDeepSeek, *steps: dict[str, Any]) -> None:
    """`run --permission-mode read-only`, the model taking `steps` and then saying it is done."""
    server.load([*steps, text("Done.")])
    v4code(root, "run", "--permission-mode", "read-only", "go", server=server, key=KEY)


def trust_project(root: Path, server: FakeDeepSeek, config: str) -> None:
    """`.v4code/config.toml` holding `config`, trusted with `v4code trust`; the endpoint is in
    the user's config, so the runs after it name none in the environment."""
    (root / ".v4code").mkdir()
    (root / ".v4code" / "config.toml").write_text(config)
    home = Path(os.environ["V4CODE_HOME"])
    (home / "config.toml").write_text(f'base_url = "{server.base_url}"\n')
    trusted = v4code(root, "trust", key=KEY)
    assert trusted.returncode == 0, trusted.stderr


@needs_bwrap
def test_a_repository_a_command_makes_at_the_root_of_a_plain_folder_runs_nothing(
    tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """A plain folder (no git): a sandboxed command runs `git init` at its root with an
    fsmonitor. The user's next plain `git status` there would run it on the host."""
    root = tmp_path / "plain"
    root.mkdir()
    (root / "notes.txt").write_text("notes\n")
    marker = tmp_path / "fsmonitor.ran"
    fake_api.load(
        [
            tool_call(
                "run_command",
                command=f"git init -q && git config core.fsmonitor 'touch {marker}; exit 1'",
            ),
            text("Done."),
        ]
    )
    done = sandboxed_run(root, fake_api)
    assert done.returncode == 0, done.stderr
    planted = json.loads(done.stdout)["planted"]
    assert any(line.startswith(".git: a git repository appeared") for line in planted), planted
    subprocess.run(["git", "status"], cwd=root, capture_output=True)
    assert not marker.exists()
    assert (root / "notes.txt").read_text() == "notes\n"


def test_a_key_past_the_first_bytes_of_a_file_is_still_a_secret(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """A private key pasted after 20 KB of notes, in a file whose name says nothing."""
    (workspace / "notes.md").write_text("".join(f"note {n}\n" for n in range(3000)) + OPENSSH_KEY)
    read_only_run(
        workspace,
        fake_api,
        tool_call("read_file", path="notes.md", offset=2990),
        tool_call("grep", pattern="leaked", context=3),
    )
    assert MARK not in seen_by_model(fake_api) and MARK not in session_logs()


def test_the_models_answer_reaches_the_terminal_without_escapes(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load([text("Done.\x1b]52;c;ZWNobyBwd24=\x07 \x1b[2J \u202eevil")])
    done = v4code(workspace, "run", "--permission-mode", "read-only", "go", server=fake_api)
    assert "\x1b" not in done.stdout + done.stderr and "\u202e" not in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize(
    ("plain", "hostile"),
    [
        ("sed -n 1p README.md", "sed -n 1e./prog.sh README.md"),
        ("sed -n 1p README.md", r"sed 's/.*/.\/prog.sh/e' README.md"),
        ("awk NR==1 README.md", 'awk BEGIN{system("./prog.sh")}'),
        ("awk NR==1 README.md", 'awk BEGIN{print|"./prog.sh"}'),
        ("sed -n 1p README.md", "sed -n 'w {out}' README.md"),
        ("less README.md", "LESSOPEN='./prog.sh %s' less README.md"),
    ],
)
def test_an_always_allowed_script_program_never_covers_a_script_that_runs_a_program(
    workspace: Path, tmp_path: Path, v4code_home: Path, plain: str, hostile: str
) -> None:
    """sed's `e` command and flag and awk's `system()` and pipes run programs, sed's `w` writes
    any file (unsandboxed in ask mode: `~/.bashrc`), `LESSOPEN` makes less run a program:
    "always allow `sed`" (the model's usual way to read a few lines) or `less` must not cover
    them."""
    out = tmp_path / "ran"
    prog = workspace / "prog.sh"
    prog.write_text(f"#!/bin/sh\necho ran > {out}\n")
    prog.chmod(0o755)
    server = start_subprocess_server(
        [
            tool_call("run_command", command=plain),
            tool_call("run_command", command=hostile.replace("{out}", str(out))),
            text("Done."),
        ],
        tmp_path / "server",
    )
    with chat_in_tmux("approvals", workspace, v4code_home, server, height=60) as session:
        send(session, "look", "Enter")
        wait_for(session, rf"\[a\]lways allow `{plain.split()[0]}`")
        send(session, "a")
        wait_for(session, r"Run\? \[y\]es  \[n\]o:")
        assert not out.exists()  # asked, not run
        send(session, "n")
        wait_for(session, "Why not")
        send(session, "not this", "Enter")
        wait_for(session, "Done.")
        leave(session)
    assert not out.exists()


def test_a_trusted_hook_script_the_model_rewrites_in_the_session_does_not_run(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """Trust covers what a hook's script holds; the model rewriting it during the session
    (an edit, no command) must not get the rewritten script run by the hook on the host."""
    ran = tmp_path / "hook-ran"
    (workspace / "scripts").mkdir()
    (workspace / "scripts" / "hook.sh").write_text(f"echo reviewed >> {ran}\n")
    trust_project(workspace, fake_api, '[hooks]\nturn_end = "sh scripts/hook.sh"\n')
    fake_api.load(
        [
            tool_calls(
                [("write_file", {"path": "scripts/hook.sh", "content": f"echo model >> {ran}\n"})]
            ),
            text("Done."),
        ]
    )
    done = v4code(workspace, "run", "--permission-mode", "auto-edit", "go", key=KEY)
    assert done.returncode == 0, done.stderr
    assert not ran.exists() or "model" not in ran.read_text()
    assert "its hooks no longer run" in done.stderr


def test_a_trusted_mcp_server_the_model_rewrites_and_crashes_is_not_restarted(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """The model rewrites the script a trusted project's MCP server runs (an edit), then makes
    the server exit with a tool call: the restart must not start the model's script."""
    ran = tmp_path / "server-ran"
    (workspace / "tools").mkdir()
    (workspace / "tools" / "srv.py").write_text(MCP_SERVER.read_text())
    trust_project(
        workspace,
        fake_api,
        f'[mcp.servers.srv]\ncommand = "{sys.executable}"\nargs = ["tools/srv.py", "stdio"]\n'
        'allow = ["srv__*"]\n',
    )
    hostile = f"open({str(ran)!r}, 'w').write('the model')\n"
    fake_api.load(
        [
            tool_calls([("write_file", {"path": "tools/srv.py", "content": hostile})]),
            tool_call("srv__crash"),
            tool_call("srv__echo", text="again"),  # waits for the restart, if any
            text("Done."),
        ]
    )
    done = v4code(workspace, "run", "--permission-mode", "auto-edit", "go", key=KEY)
    assert "srv: crash" in done.stderr, done.stderr  # the server was up and was called
    assert not ran.exists()


@needs_bwrap
def test_batch_verify_without_the_sandbox_cannot_see_v4codes_processes(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """With the user's own `sandbox = false`, batch's verify command (the agent's code: a
    conftest.py) still runs out of sight of the driver and the unit's agent, as every other
    unsandboxed child does: it could read the key from their memory otherwise."""
    out = tmp_path / "verify-saw.txt"
    manifest = plan_each(workspace, fake_api, "README.md", tmp_path / "jobs.jsonl", key=KEY)
    fake_api.route("README.md", [tool_call("write_file", path="README.md", content="# x\n")])
    fake_api.route("README.md", [text("Done.")])
    ran = v4code(
        workspace, "batch", "run", str(manifest), "--verify",
        snoop_command(KEY, out),
        server=fake_api, key=KEY,
    )  # fmt: skip
    report = out.read_text()
    assert "key found in: nothing" in report, (report, ran.stderr)
    assert "v4code among them: no" in report, (report, ran.stderr)


@needs_bwrap
def test_a_trusted_hook_that_runs_make_does_not_run_the_models_makefile(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """Trust hashes the files a project hook names, not those its program reads by convention
    (a Makefile, package.json, a `python -m` module): the model's Makefile runs, but in the
    sandbox, so it cannot write outside the workspace (here, the file the hook appends to)."""
    ran = tmp_path / "hook-ran"
    (workspace / "Makefile").write_text(f"lint:\n\t@echo reviewed >> {ran}\n")
    trust_project(workspace, fake_api, '[hooks]\nturn_end = "make -s lint"\n')
    hostile = f"lint:\n\t@echo model > inside.txt; echo model >> {ran}\n"
    fake_api.load(
        [tool_calls([("write_file", {"path": "Makefile", "content": hostile})]), text("Done.")]
    )
    done = v4code(workspace, "run", "--permission-mode", "auto-edit", "go", key=KEY, sandbox=True)
    assert done.returncode == 0, done.stderr
    assert (workspace / "inside.txt").read_text() == "model\n"  # it ran, in the workspace
    assert not ran.exists() or "model" not in ran.read_text()


def test_symbol_tools_show_nothing_of_a_key_in_a_source_file(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """A key pasted into a source file makes it a secret file: read_file and grep refuse it,
    and so must the symbol tools and the repo map."""
    (workspace / "settings.py").write_text(
        f'def connect(key="""{OPENSSH_KEY}"""):\n    return key\n'
    )
    read_only_run(
        workspace,
        fake_api,
        tool_call("outline", path="settings.py"),
        tool_calls([("find_symbol", {"name": "connect"})]),
        tool_call("repo_map"),
    )
    assert MARK not in seen_by_model(fake_api) and MARK not in session_logs()


def test_credential_stores_named_for_what_they_hold_are_secret_files(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """cargo's `credentials.toml`, Streamlit's `secrets.toml`, a `secrets.yaml`, Terraform's
    `credentials.tfrc.json`: read in `read-only` without approval, and grepped, before."""
    files = {
        ".cargo/credentials.toml": f'[registry]\ntoken = "{MARK}"\n',
        ".streamlit/secrets.toml": f'db_password = "{MARK}"\n',
        "deploy/secrets.yaml": f"password: {MARK}\n",
        "credentials.tfrc.json": json.dumps({"credentials": {"app.terraform.io": {"token": MARK}}}),
    }
    for name, content in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(content)
    read_only_run(
        workspace,
        fake_api,
        tool_call("grep", pattern=MARK[:6]),
        tool_calls([("read_file", {"path": name}) for name in files]),
    )
    assert MARK not in seen_by_model(fake_api) and MARK not in session_logs()
