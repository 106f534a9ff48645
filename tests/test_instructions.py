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
