"""grep and list_files as the model uses them: every search backend agrees, gitignore holds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tool_harness import tool_text

from v4code.repo.search import search


@pytest.fixture
def project(workspace: Path) -> Path:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main():\n    # TODO: args\n    return 0\n")
    (workspace / "src" / "util.py").write_text("def helper():\n    return 'todo later'\n")
    (workspace / "notes.md").write_text("TODO write docs\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "out.py").write_text("# TODO generated\n")
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "new.py").write_text("# TODO untracked but not ignored\n")
    subprocess.run(["git", "add", "src", "notes.md", ".gitignore"], cwd=workspace, check=True)
    return workspace


BACKENDS = ["git", "python"] + (["rg"] if shutil.which("rg") else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_and_respect_gitignore(project: Path, backend: str) -> None:
    found = search(project, "TODO", backend=backend)
    assert [(m.path, m.line) for m in found.matches] == [
        ("new.py", 1),
        ("notes.md", 1),
        ("src/app.py", 2),
    ]
    insensitive = search(project, "todo", ignore_case=True, glob="*.py", backend=backend)
    assert [m.path for m in insensitive.matches] == ["new.py", "src/app.py", "src/util.py"]


def test_grep_tool_output_and_errors(project: Path) -> None:
    out = tool_text("grep", project, pattern=r"def \w+", path="src")
    assert "src/app.py:1:def main():" in out and "src/util.py:1:def helper():" in out
    assert tool_text("grep", project, pattern="nothing-like-this").startswith("No matches")
    bad = tool_text("grep", project, pattern="(unclosed")
    assert (
        bad.startswith("ERROR:") and "regular expression" in bad.lower() or "pattern" in bad.lower()
    )


def test_list_files_gitignore_and_glob(project: Path) -> None:
    listed = tool_text("list_files", project).splitlines()
    assert "src/app.py" in listed and "new.py" in listed and "build/out.py" not in listed
    only_py = tool_text("list_files", project, pattern="*.py").splitlines()
    assert set(only_py) >= {"src/app.py", "src/util.py", "new.py"} and "notes.md" not in only_py
