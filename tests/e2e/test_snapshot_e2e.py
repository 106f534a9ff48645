"""A destructive command in `v4code run`, then `v4code undo`: every file comes back.

Through the real CLI against the fake DeepSeek server, with the sandbox on when bubblewrap is
installed (as test_run_e2e.py runs it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cli_harness
import pytest
from conftest import tree_state
from fake_api import FakeDeepSeek, text, tool_call


def v4code(root: Path, server: FakeDeepSeek, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_harness.v4code(root, *args, server=server, sandbox=True)


def work_in_progress(root: Path) -> None:
    """A committed project, then the kind of work a command can destroy."""
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (root / ".gitignore").write_text("node_modules/\n")
    os.symlink("src/app.py", root / "app-link")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "app"], cwd=root, check=True)
    (root / "src" / "app.py").write_text("def main():\n    return 2  # not committed yet\n")
    (root / "README.md").write_text("# project\n\nDraft docs, not committed.\n")
    (root / "src" / "feature").mkdir()
    (root / "src" / "feature" / "new.py").write_text("NEW = True\n")
    (root / "scratch.bin").write_bytes(os.urandom(3000))
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.js").write_text("ignored\n")


@pytest.mark.parametrize(
    "destructive",
    ["git reset --hard && git clean -fdx", "rm -rf ./*"],
)
def test_undo_brings_back_what_a_command_destroyed(
    workspace: Path, fake_api: FakeDeepSeek, destructive: str
) -> None:
    work_in_progress(workspace)
    before = tree_state(workspace)
    fake_api.load(
        [
            tool_call("run_command", reasoning="Start from a clean tree.", command=destructive),
            text("Cleaned up."),
        ]
    )
    # The guard stops these unless allowed; `.git/` is read-only in the sandbox, so the git
    # case runs unsandboxed, as a user who passed --no-sandbox would.
    flags = ["--allow-destructive"] + (["--no-sandbox"] if destructive.startswith("git") else [])
    result = v4code(workspace, fake_api, "run", *flags, "clean the working tree")
    assert result.returncode == 0, result.stderr
    assert "exit code: 0" in fake_api.chat_requests[1].messages[-1]["content"]
    assert not (workspace / "src" / "feature").exists()
    assert tree_state(workspace) != before

    listed = v4code(workspace, fake_api, "undo", "--list")
    assert f"before command: {destructive}" in listed.stdout

    undone = v4code(workspace, fake_api, "undo")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert f"Undid before command: {destructive}" in undone.stdout
    after = tree_state(workspace)
    # Ignored files (dependencies, build output) are never snapshotted: the command took them.
    assert before.pop("node_modules/dep.js") and "node_modules/dep.js" not in after
    assert after == before
    assert "Nothing left to undo" in v4code(workspace, fake_api, "undo").stdout
