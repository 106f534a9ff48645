"""Secret files recognised by name patterns and by content, through the real CLI.

A `read-only` run whose model reads and greps `prod.env`, `.env-production`, `.envrc`,
`terraform.tfstate`, `.pgpass`, a service-account key named `service-account.json` and an
OpenSSH key named `deploy_key`: none of their content reaches the model or the session log.
A `secret_files` glob means what grep's glob means (`deploy/{prod,stage}.cfg`, `a/*.key`).
A review leaves such files out of the diff it sends.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cli_harness
from cli_harness import seen_by_model, session_logs
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

KEY = "sk-secret-recognition-key-0123456789"
MARK = "z9-leaked-credential"
PEM_BODY = f"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{MARK}AAAAAQAAADMAAAALc3NoLWVkMjU1MTk"
FILES = {
    "prod.env": f"DB_PASSWORD={MARK}\n",
    ".env-production": f"DB_PASSWORD={MARK}\n",
    ".envrc": f"export DB_PASSWORD={MARK}\n",
    "terraform.tfstate": json.dumps({"resources": [{"password": MARK}]}),
    ".pgpass": f"db:5432:app:app:{MARK}\n",
    "service-account.json": json.dumps(
        {
            "type": "service_account",
            "project_id": "demo",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n",
            "client_email": "ci@demo.iam.gserviceaccount.com",
        }
    ),
    "deploy_key": (
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
}


def v4code(root: Path, server: FakeDeepSeek, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_harness.v4code(root, *args, server=server, key=KEY, env={"V4CODE_MAX_RETRIES": "0"})


def test_read_only_run_reads_and_greps_no_secret_file(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    for name, content in FILES.items():
        (workspace / name).write_text(content)
    (workspace / "app.py").write_text(f"# the password is not {MARK[:3]} here\n")
    reads = [("read_file", {"path": name}) for name in FILES]
    fake_api.load(
        [
            tool_call("grep", pattern=MARK[:6]),
            tool_calls(reads),
            text("I could not read them."),
        ]
    )
    done = v4code(workspace, fake_api, "run", "--permission-mode", "read-only", "-o", "json", "x")
    seen = seen_by_model(fake_api)
    assert MARK not in seen and MARK not in session_logs()
    assert done.returncode == 5, done.stderr
    grep_result = fake_api.chat_requests[1].messages[-1]["content"]
    assert f"{len(FILES)} secret files" in grep_result
    for name in FILES:
        assert f"{name} is " in seen  # each refusal says which file and why


def test_secret_files_globs_mean_what_greps_globs_mean(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text(
        'secret_files = ["deploy/{prod,stage}.cfg", "a/*.txt"]\n'
    )
    for rel in ("deploy/stage.cfg", "a/b/c.txt", "a/c.txt"):
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(f"{rel} holds {MARK}\n")
    fake_api.load(
        [
            tool_call("grep", pattern=MARK),
            tool_call("read_file", path="deploy/stage.cfg"),
            text("Done."),
        ]
    )
    done = v4code(workspace, fake_api, "run", "--permission-mode", "read-only", "-o", "json", "x")
    grep_result = fake_api.chat_requests[1].messages[-1]["content"]
    # `a/*.txt` is one path segment deep, for secret_files as for grep's glob: a/c.txt is
    # protected, a/b/c.txt is not; `{prod,stage}` are alternatives in both.
    assert "a/b/c.txt:1:" in grep_result and "a/c.txt:1" not in grep_result
    assert "deploy/stage.cfg:1" not in grep_result and "2 secret files" in grep_result
    assert "deploy/stage.cfg holds" not in seen_by_model(fake_api)
    assert done.returncode == 5, done.stderr


def test_review_leaves_out_a_key_recognised_by_content(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "app.py").write_text("x = 1\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "app")
    (workspace / "app.py").write_text("x = 2\n")
    (workspace / "deploy_key").write_text(FILES["deploy_key"])
    (workspace / "prod.env").write_text(FILES["prod.env"])
    git(workspace, "add", "-A")
    fake_api.load([tool_call("report_findings", findings=[], summary="Bumps x.")])
    done = v4code(workspace, fake_api, "review")
    assert done.returncode == 0, done.stderr
    sent = seen_by_model(fake_api)
    assert "x = 2" in sent and MARK not in sent
    assert "deploy_key" in done.stdout + done.stderr  # listed as left out
