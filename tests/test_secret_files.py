"""Secret files: which names count, how the pipeline asks for them, grep's exclusion, keys
dropped from command environments, and the guard's dirty-tree probe."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scripted_backend import Recorder
from tool_harness import builtin_registry, run_tool

from v4code.config import Settings, never_from_project
from v4code.pipeline import ToolPipeline
from v4code.protocols import Approval
from v4code.repo.search import search
from v4code.safety.permissions import PermissionPolicy, Verdict
from v4code.safety.process import command_env
from v4code.safety.redact import redactor
from v4code.safety.secret_files import SecretFiles, secret_reason
from v4code.sessions import SessionLog
from v4code.toolkit import ToolContext
from v4code.types import Message, ToolCall
from v4code.ui.completion import attach_mentions
from v4code.ui.headless import PolicyApprover

SECRET = "hunter2-very-secret-value"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.local",
        "config/.env.production",
        "certs/server.pem",
        "tls.key",
        "id_rsa",
        ".ssh/id_ed25519",
        "id_ecdsa_sk",
        "store.p12",
        "store.pfx",
        "release.keystore",
        ".netrc",
        ".git-credentials",
        "credentials",
        "aws/credentials.json",
        "prod.env",
        "deploy/stage.env",
        ".env-production",
        ".env_local",
        ".envrc",
        ".pgpass",
        "infra/terraform.tfstate",
        "old.tfstate.backup",
        "home/.kube/config",
        "putty.ppk",
    ],
)
def test_secret_names(path: str) -> None:
    assert secret_reason(path) is not None


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        ".env.sample",
        ".env.template",
        "id_rsa.pub",
        "src/id_utils.py",
        "environment.py",
        "keys.py",
        "README.md",
        "docs/credentials.md",
        "example.env",
        ".env-sample",
        "config",
        "environment.envy",
    ],
)
def test_ordinary_names(path: str) -> None:
    assert secret_reason(path) is None


def test_token_files_count_only_with_a_token(tmp_path: Path) -> None:
    (tmp_path / ".npmrc").write_text("registry=https://registry.npmjs.org/\n")
    (tmp_path / ".pypirc").write_text("[pypi]\nusername = __token__\npassword = pypi-AgEI\n")
    assert secret_reason(".npmrc", root=tmp_path) is None
    assert secret_reason(".pypirc", root=tmp_path) is not None
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=npm_abc\n")
    assert secret_reason(".npmrc", root=tmp_path) is not None


@pytest.mark.parametrize(
    "content",
    [
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES,0\n\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n",
        "-----BEGIN EC PRIVATE KEY-----\r\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\r\n",
        "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG\n\nlQOYBFMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n",
        '{"type": "service_account", "project_id": "p"}',
        '{"client_id": "x", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n"}',
        "[default]\naws_access_key_id = AKIA\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY\n",
    ],
)
def test_a_credential_is_recognised_by_its_content_whatever_the_name(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / "deploy_key").write_text(content)
    assert secret_reason("deploy_key", root=tmp_path) is not None
    assert SecretFiles(tmp_path).check("deploy_key") is not None


def test_content_is_looked_at_again_once_the_file_changed(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("-----BEGIN PUBLIC KEY-----\nMIIB\n")
    rule = SecretFiles(tmp_path)
    assert rule.reason("notes.txt") is None  # a public key is no secret
    (tmp_path / "notes.txt").write_text(
        "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n"
    )
    assert rule.reason("notes.txt") is not None


@pytest.mark.parametrize(
    "content",
    [
        'HEADER = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n',  # code that parses keys
        'KEY = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n"\n',
        "secret = {'type': 'service_account'}  # not a JSON file\n",
        "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']\n",
    ],
)
def test_code_that_names_a_key_format_is_not_a_key(tmp_path: Path, content: str) -> None:
    (tmp_path / "keys.py").write_text(content)
    assert secret_reason("keys.py", root=tmp_path) is None


def test_user_globs_are_the_one_glob_dialect(tmp_path: Path) -> None:
    rule = SecretFiles(tmp_path, ["deploy/{prod,stage}.env.txt", "a/*.key.txt", "**/vault/*"])
    assert rule.reason("deploy/stage.env.txt") is not None
    assert rule.reason("a/c.key.txt") is not None
    assert rule.reason("a/b/c.key.txt") is None  # `*` stays within one folder, as in grep
    assert rule.reason("x/y/vault/token") is not None


def test_user_globs_and_a_link_to_a_secret(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"A={SECRET}\n")
    (tmp_path / "notes.txt").symlink_to(".env")
    rule = SecretFiles(tmp_path, ["*.vault", "private/**"])
    assert rule.check("prod.vault") is not None
    assert rule.check("private/plan.md") is not None
    assert rule.check("notes.txt") is not None  # named innocently, points at the .env
    assert rule.check("./sub/../.env") is not None
    assert rule.check("src/app.py") is None


def test_a_repository_can_never_set_them() -> None:
    assert never_from_project("secret_files") and never_from_project("allow_secrets")
    assert never_from_project("secret-files")


# --- the pipeline --------------------------------------------------------------------------


def read(root: Path, approver: Any, path: str, mode: str = "full-auto", **settings: Any) -> Any:
    call = ToolCall("call_1", "read_file", json.dumps({"path": path}))
    invocation = builtin_registry().prepare(call)
    assert not hasattr(invocation, "is_error"), invocation
    pipeline = ToolPipeline(PermissionPolicy(mode, root=root), approver)
    ctx = ToolContext.for_session(root, Settings(**settings))
    return pipeline.run(invocation, ctx)  # type: ignore[arg-type]


def test_full_auto_still_asks_with_a_note(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"A={SECRET}\n")
    approver = Recorder(Approval(True))
    outcome = read(tmp_path, approver, ".env")
    (request,) = approver.requests
    assert request.note is not None and ".env is an environment file" in request.note
    assert SECRET in outcome.result.text and outcome.secret
    assert outcome.denied is None


def test_a_refusal_tells_the_model_why_and_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n")
    outcome = read(tmp_path, PolicyApprover("full-auto"), "id_rsa")
    assert outcome.denied and outcome.result.is_error
    assert SECRET not in outcome.result.text
    assert "SSH private key" in outcome.result.text and "--allow-secrets" in outcome.result.text


def test_allow_secrets_reads_unasked_and_ordinary_files_never_ask(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"A={SECRET}\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    approver = Recorder(Approval(False))
    outcome = read(tmp_path, approver, ".env", allow_secrets=True)
    assert SECRET in outcome.result.text and outcome.secret
    assert not read(tmp_path, approver, "app.py").secret
    assert approver.requests == []


def test_an_edit_naming_a_secret_file_asks_before_the_tool_runs(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"A={SECRET}\n")
    args = {"path": ".env", "old_string": "nothing like it", "new_string": "x"}
    call = ToolCall("call_2", "edit_file", json.dumps(args))
    invocation = builtin_registry().prepare(call)
    policy = PermissionPolicy("full-auto", root=tmp_path)
    outcome = ToolPipeline(policy, PolicyApprover("full-auto")).run(
        invocation,  # type: ignore[arg-type]
        ToolContext.for_session(tmp_path, Settings()),
    )
    # refused before the edit looked for its match: no "nearest lines" quoting the file
    assert outcome.denied and SECRET not in outcome.result.text
    assert "--allow-secrets" in outcome.result.text and "edit_file" not in policy.allowed_tools


def test_the_session_log_keeps_a_placeholder(tmp_path: Path) -> None:
    log = SessionLog(tmp_path / "s.jsonl", "s")
    log.withhold("call_1")
    log.message(Message(role="tool", content=f"A={SECRET}", tool_call_id="call_1"))
    log.event({"type": "tool_finished", "result": {"call_id": "call_1", "text": SECRET}})
    log.message(Message(role="tool", content="ordinary", tool_call_id="call_2"))
    log.withhold_text(f'<file path=".env">\nA="{SECRET}"\n</file>')
    log.message(Message(role="user", content=f'see\n\n<file path=".env">\nA="{SECRET}"\n</file>'))
    text = log.path.read_text()
    assert SECRET not in text and "withheld" in text and "ordinary" in text


def test_a_childs_records_keep_out_what_the_session_withholds(tmp_path: Path) -> None:
    """A child agent's transcript goes into the same file: text withheld from the session's
    lines (before or after the child started) stays out of the child's lines too."""
    log = SessionLog(tmp_path / "s.jsonl", "s")
    first = f'<file path=".env">\nA="{SECRET}"\n</file>'
    log.withhold_text(first)
    child = log.for_child("call_9")
    later = f'<file path="key.pem">\n{SECRET}-PEM\n</file>'
    log.withhold_text(later)
    child.message(Message(role="user", content=f"brief:\n{first}\nand\n{later}"))
    text = log.path.read_text()
    assert SECRET not in text and "withheld" in text and '"child": "call_9"' in text


def test_compaction_keeps_the_placeholder_for_a_withheld_result(tmp_path: Path) -> None:
    """Compaction logs the kept turns again: a secret read in them must stay out of the file."""
    log = SessionLog(tmp_path / "s.jsonl", "s")
    log.withhold("call_1")
    kept = [
        Message(role="tool", content=f"A={SECRET}", tool_call_id="call_1"),
        Message(role="tool", content="ordinary", tool_call_id="call_2"),
    ]
    log.compaction(kept)
    text = log.path.read_text()
    assert SECRET not in text and "withheld" in text and "ordinary" in text


def test_tool_results_are_scrubbed_of_the_key(tmp_path: Path) -> None:
    key = "sk-config-only-key-0123456789"
    (tmp_path / "leak.txt").write_text(f"token: {key}\n")
    outcome = read(tmp_path, Recorder(Approval(True)), "leak.txt", api_key=key)
    assert key not in outcome.result.text and "[redacted]" in outcome.result.text


# --- grep and mentions ---------------------------------------------------------------------


def test_grep_skips_secret_files_and_counts_them_whatever_matches(workspace: Path) -> None:
    (workspace / ".env").write_text(f"PASSWORD={SECRET}\n")
    (workspace / "app.py").write_text("PASSWORD = env()\n")
    ctx = ToolContext.for_session(workspace, Settings())
    hit = run_tool("grep", ctx, pattern="PASSWORD").text
    miss = run_tool("grep", ctx, pattern="no-such-text").text
    assert "app.py:1:" in hit and SECRET not in hit and ".env:" not in hit
    assert "1 secret file" in hit and "1 secret file" in miss  # the count says nothing
    for backend in ("python", "git"):
        found = search(workspace, "PASSWORD", backend=backend, secret=secret_reason)
        assert [m.path for m in found.matches] == ["app.py"] and found.secrets_skipped == 1


def test_a_mention_of_a_secret_file_is_asked_about(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"A={SECRET}\n")
    asked: list[str] = []

    def no(path: str, why: str) -> bool:
        asked.append(f"{path}: {why}")
        return False

    message, attached = attach_mentions("see @.env", tmp_path, confirm=no)
    assert SECRET not in message and attached == [] and asked
    message, attached = attach_mentions("see @.env", tmp_path, confirm=lambda p, w: True)
    assert SECRET in message and attached == [".env"]


# --- keys and the guard --------------------------------------------------------------------


def test_command_env_drops_every_key_v4code_reads() -> None:
    base = {
        "PATH": "/usr/bin",
        "DEEPSEEK_API_KEY": "a",
        "V4CODE_API_KEY": "b",
        "V4CODE_GATEWAY_TOKEN": "c",
        "DEEPSEEK_SECRET": "d",
        "GITHUB_TOKEN": "kept: the user's own tools may need it",
    }
    env = command_env(base)
    assert env["PATH"] == "/usr/bin" and "GITHUB_TOKEN" in env
    for name in ("DEEPSEEK_API_KEY", "V4CODE_API_KEY", "V4CODE_GATEWAY_TOKEN", "DEEPSEEK_SECRET"):
        assert name not in env


def test_redactor_knows_v4code_tokens() -> None:
    scrub = redactor(None, {"V4CODE_GATEWAY_TOKEN": "tok-0123456789abcdef"})
    assert scrub("x tok-0123456789abcdef y") == "x [redacted] y"


def test_the_guard_asks_about_checkout_only_over_uncommitted_work(workspace: Path) -> None:
    policy = PermissionPolicy("full-auto", root=workspace)
    probes: list[bool] = []

    def probe() -> bool:
        probes.append(True)
        return bool(subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=workspace, capture_output=True, text=True, check=True,
        ).stdout.strip())  # fmt: skip

    assert policy.check("run_command", "command", "ls -la", dirty=probe) is Verdict.ALLOW
    assert probes == []  # nothing depends on the tree: git is not asked
    assert policy.check("run_command", "command", "git checkout .", dirty=probe) is Verdict.ALLOW
    (workspace / "README.md").write_text("unsaved\n")
    assert policy.check("run_command", "command", "git checkout .", dirty=probe) is Verdict.ASK
    assert "uncommitted" in (policy.guard_reason("git checkout .") or "")
    assert len(probes) == 2


def test_the_pipeline_probes_the_tree(workspace: Path) -> None:
    from v4code.pipeline import tree_dirty

    assert tree_dirty(workspace) is False
    (workspace / "README.md").write_text("unsaved\n")
    assert tree_dirty(workspace) is True
    assert tree_dirty(Path(os.sep)) in (None, False, True)  # never raises


def test_a_diff_adding_a_key_is_recognised() -> None:
    from v4code.safety.secret_files import secret_in_text

    body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE"
    diff = f"@@ -0,0 +1,3 @@\n+-----BEGIN OPENSSH PRIVATE KEY-----\n+{body}\n+-----END\n"
    assert secret_in_text(diff) == "an OpenSSH private key"
    assert secret_in_text("@@ -1 +1 @@\n-x = 1\n+x = 2\n") is None


def test_secret_paths_finds_what_a_server_would_read(tmp_path: Path) -> None:
    from v4code.safety.secret_files import secret_paths

    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4N0tAbCdEfGhIjKlMnOp\n"
    (tmp_path / ".env").write_text("A=1\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keys.py").write_text(f'KEY = """{key}"""\n')
    (tmp_path / "app" / "notes.txt").write_text(key)  # not parsed: looked at by name only
    (tmp_path / "app" / "local.py").write_text("X = 1\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "app" / "keys.py")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".venv" / ".env").write_text("B=2\n")
    found = secret_paths(tmp_path, ["app/local.py"], (".py",))
    names = sorted(p.relative_to(tmp_path.resolve()).as_posix() for p in found)
    assert names == [".env", "app/keys.py", "app/local.py"]
