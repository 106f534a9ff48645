"""AGENTS.md files, root and nested, in the static system prompt."""

from __future__ import annotations

import subprocess
from pathlib import Path

from v4code.instructions import build_system_prompt


def test_root_and_nested_agents_md(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("Run tests with `make test`.\n")
    (workspace / "web" / "ui").mkdir(parents=True)
    (workspace / "web" / "ui" / "AGENTS.md").write_text("Use tabs in the UI code.\n")
    (workspace / "vendor").mkdir()
    (workspace / "vendor" / "AGENTS.md").write_text("ignored vendor notes\n")
    (workspace / ".gitignore").write_text("vendor/\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    prompt = build_system_prompt(workspace)
    assert "# Project instructions (AGENTS.md)\n\nRun tests with `make test`." in prompt
    assert "# Project instructions (web/ui/AGENTS.md) — for files under web/ui/" in prompt
    assert prompt.index("make test") < prompt.index("Use tabs")
    assert "ignored vendor notes" not in prompt
    assert build_system_prompt(workspace) == prompt  # static: the cache prefix depends on it


def test_an_agents_md_that_links_outside_the_repository_is_not_read(
    workspace: Path, tmp_path_factory
) -> None:
    """A cloned repository's AGENTS.md pointing at ~/.ssh/id_rsa must not put the key in
    the system prompt; nor may a nested one, or one that is a pipe (reading it would hang)."""
    import os

    outside = tmp_path_factory.mktemp("home") / "id_rsa"
    outside.write_text("-----BEGIN OPENSSH PRIVATE KEY----- outside-secret\n")
    (workspace / "AGENTS.md").symlink_to(outside)
    (workspace / "lib").mkdir()
    (workspace / "lib" / "AGENTS.md").symlink_to(outside)
    (workspace / "lib" / "code.py").write_text("x = 1\n")
    (workspace / "docs").mkdir()
    os.mkfifo(workspace / "docs" / "AGENTS.md")
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "AGENTS.md").write_text("Keep pkg small.\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    prompt = build_system_prompt(workspace)
    assert "outside-secret" not in prompt
    assert "Keep pkg small." in prompt
    from v4code.instructions import nested_instruction_files, nested_instructions_text

    nested = nested_instruction_files(workspace, ["lib/code.py", "docs"])
    assert "outside-secret" not in nested_instructions_text(workspace, nested)


def test_a_touched_path_outside_the_workspace_adds_no_instructions(workspace: Path) -> None:
    from v4code.conversation import Conversation
    from v4code.instructions import NestedInstructions
    from v4code.types import Message, ToolResult

    (workspace.parent / "AGENTS.md").write_text("not this repository's\n", encoding="utf-8")
    nested = NestedInstructions(workspace, Conversation(Message(role="system", content="s")))
    result = ToolResult("call-1", "done")
    assert nested.attach(["../AGENTS.md", "", "a\x00b"], result) == (result, [])
