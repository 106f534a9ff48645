"""The installed pre-commit hook as a developer meets it: real `git commit`, the fake server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_harness import cli_env, v4code
from fake_api import FakeDeepSeek, tool_call

FINDING = {
    "path": "app.py",
    "line": 2,
    "category": "bug",
    "message": "Divides by zero.",
    "suggestion": "",
}


def commit(root: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    (root / "app.py").write_text("def div(a, b):\n    return a / b\n" + "".join(extra))
    subprocess.run(["git", "add", "app.py"], cwd=root, check=True)
    return git_commit(root, env, "-m", "add div")


def git_commit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`git commit ARGS` as a developer types it: the installed hook runs with `env`."""
    return subprocess.run(
        ["git", "commit", *args], cwd=root, env=env, capture_output=True, text=True, timeout=90
    )


def env_for(base_url: str) -> dict[str, str]:
    """What `git commit` runs the hook with: the hook's v4code finds the server here."""
    return cli_env(base_url=base_url, key="sk-test", env={"V4CODE_MAX_RETRIES": "1"})


def head_subject(root: Path) -> str:
    return subprocess.run(
        ["git", "log", "-1", "--format=%s"], cwd=root, capture_output=True, text=True
    ).stdout.strip()


def test_blocker_refuses_the_commit(workspace: Path, fake_api: FakeDeepSeek) -> None:
    assert v4code(workspace, "hook", "install").returncode == 0
    fake_api.load([tool_call("report_findings", findings=[{**FINDING, "severity": "blocker"}])])
    done = commit(workspace, env_for(fake_api.base_url))
    assert done.returncode != 0
    assert "Divides by zero." in done.stderr and "commit blocked" in done.stderr
    assert head_subject(workspace) == "initial"


def test_minor_finding_lets_the_commit_through(workspace: Path, fake_api: FakeDeepSeek) -> None:
    v4code(workspace, "hook", "install")
    fake_api.load([tool_call("report_findings", findings=[{**FINDING, "severity": "minor"}])])
    done = commit(workspace, env_for(fake_api.base_url))
    assert done.returncode == 0, done.stderr
    assert "Divides by zero." in done.stderr and head_subject(workspace) == "add div"


def test_server_down_fails_open_and_fail_closed_refuses(workspace: Path) -> None:
    down = env_for("http://127.0.0.1:9")
    v4code(workspace, "hook", "install")
    done = commit(workspace, down)
    assert done.returncode == 0 and "warning" in done.stderr and "unreviewed" in done.stderr
    assert head_subject(workspace) == "add div"

    assert v4code(workspace, "hook", "install", "--fail-closed").returncode == 0
    refused = commit(workspace, down, "# more\n")
    assert refused.returncode != 0 and "could not run" in refused.stderr
    assert head_subject(workspace) == "add div"


def test_skip_and_no_verify(workspace: Path) -> None:
    down = env_for("http://127.0.0.1:9")
    v4code(workspace, "hook", "install", "--fail-closed")
    assert commit(workspace, {**down, "V4CODE_SKIP_REVIEW": "1"}).returncode == 0
    (workspace / "b.txt").write_text("b\n")
    subprocess.run(["git", "add", "b.txt"], cwd=workspace, check=True)
    done = git_commit(workspace, down, "--no-verify", "-m", "b")
    assert done.returncode == 0


def test_existing_hook_is_chained_and_restored(workspace: Path, fake_api: FakeDeepSeek) -> None:
    hooks = workspace / ".git" / "hooks"
    original = "#!/bin/sh\necho original-hook-ran >&2\n"
    (hooks / "pre-commit").write_text(original)
    (hooks / "pre-commit").chmod(0o755)
    installed = v4code(workspace, "hook", "install")
    assert "still runs first" in installed.stdout
    fake_api.load([tool_call("report_findings", findings=[])])
    done = commit(workspace, env_for(fake_api.base_url))
    assert done.returncode == 0 and "original-hook-ran" in done.stderr
    assert v4code(workspace, "hook", "uninstall").returncode == 0
    assert (hooks / "pre-commit").read_text() == original


def test_core_hooks_path_is_respected(workspace: Path) -> None:
    subprocess.run(["git", "config", "core.hooksPath", ".githooks"], cwd=workspace, check=True)
    assert v4code(workspace, "hook", "install").returncode == 0
    assert (workspace / ".githooks" / "pre-commit").exists()
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()


def test_commit_all_and_partial_commits_review_what_git_commits(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """`git commit -a` and `git commit PATH` commit a temporary index git names in
    GIT_INDEX_FILE: the review sees that index, not the (empty) staged changes."""
    (workspace / "README.md").write_text("# project\nunstaged line\n")
    v4code(workspace, "hook", "install")
    blocker = {**FINDING, "path": "README.md", "severity": "blocker"}
    fake_api.load([tool_call("report_findings", findings=[blocker])])
    env = env_for(fake_api.base_url)
    done = git_commit(workspace, env, "-am", "all")
    assert done.returncode != 0 and "commit blocked" in done.stderr
    assert "unstaged line" in str(fake_api.last_request.messages)

    (workspace / "README.md").write_text("# project\nunstaged line\nand another\n")
    (workspace / "other.txt").write_text("staged, not committed\n")
    subprocess.run(["git", "add", "other.txt"], cwd=workspace, check=True)
    fake_api.load([tool_call("report_findings", findings=[])])
    done = git_commit(workspace, env, "README.md", "-m", "readme")
    assert done.returncode == 0, done.stderr
    sent = str(fake_api.last_request.messages)
    assert "and another" in sent and "staged, not committed" not in sent
    assert head_subject(workspace) == "readme"
