"""Destructive commands through the real `v4code run`: denied in full-auto unless allowed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call

DESTROY = "git reset --hard && git clean -fdx"


def run_v4code(
    root: Path, server: FakeDeepSeek, *args: str, sandbox: bool
) -> subprocess.CompletedProcess[str]:
    return v4code(root, "run", "--output", "json", *args, server=server, sandbox=sandbox)


def dirty_project(workspace: Path) -> None:
    (workspace / "README.md").write_text("# project\n\nunsaved work\n")
    (workspace / "notes.txt").write_text("untracked notes\n")


def script(server: FakeDeepSeek) -> None:
    server.load(
        [
            tool_call("run_command", reasoning="Start from a clean tree.", command=DESTROY),
            text("Done."),
        ]
    )


def test_destructive_command_is_denied_in_full_auto(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    dirty_project(workspace)
    script(fake_api)
    result = run_v4code(workspace, fake_api, "clean up the tree", sandbox=True)
    assert result.returncode == 5, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "denied" and data["denied"]
    assert (workspace / "README.md").read_text() == "# project\n\nunsaved work\n"
    assert (workspace / "notes.txt").read_text() == "untracked notes\n"
    seen = fake_api.chat_requests[1].messages[-1]["content"]
    assert "Denied: `git reset --hard` throws away uncommitted changes" in seen
    assert "--allow-destructive" in seen


def test_allow_destructive_lets_it_run(workspace: Path, fake_api: FakeDeepSeek) -> None:
    dirty_project(workspace)
    script(fake_api)
    result = run_v4code(
        workspace, fake_api, "--allow-destructive", "clean up the tree", sandbox=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "done"
    assert (workspace / "README.md").read_text() == "# project\n"
    assert not (workspace / "notes.txt").exists()
    assert "exit code: 0" in fake_api.chat_requests[1].messages[-1]["content"]


def test_a_repository_cannot_allow_destructive_commands(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """Even a trusted repository's config cannot allow what the guard stops: ignored, said."""
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text("allow_destructive = true\n")
    from v4code.safety.trust import grant

    grant(workspace)
    dirty_project(workspace)
    script(fake_api)
    result = run_v4code(workspace, fake_api, "clean up the tree", sandbox=True)
    assert result.returncode == 5, result.stderr
    assert "allow_destructive" in result.stderr and "ignored" in result.stderr
    assert (workspace / "notes.txt").read_text() == "untracked notes\n"
