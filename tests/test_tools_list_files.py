"""list_files: gitignore-aware listing and globs, called as the agent calls it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tool_harness import run_tool

from v4code import assets
from v4code.errors import WorkspaceError
from v4code.globs import glob_matches
from v4code.toolkit import ToolRegistry


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([assets.tools_dir()])


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n")


@pytest.fixture
def project(workspace: Path) -> Path:
    make(
        workspace,
        "src/app.py",
        "src/util/helpers.py",
        "src/util/data.json",
        "docs/guide.md",
        "notes.txt",
        "setup.py",
        ".github/workflows/ci.yml",
        "build/out.py",
        "debug.log",
        "gone.py",
    )
    (workspace / ".gitignore").write_text("build/\n*.log\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "files"], cwd=workspace, check=True)
    (workspace / "gone.py").unlink()  # tracked but deleted: not listed
    make(workspace, "src/new_untracked.py")  # untracked, not ignored: listed
    return workspace


def test_loading_never_creates_a_top_level_tools_module(registry: ToolRegistry) -> None:
    assert "list_files" in registry.names()
    assert "tools" not in sys.modules


def test_git_listing_respects_gitignore(project: Path) -> None:
    out = run_tool("list_files", project)
    assert out.text.splitlines() == [
        ".github/workflows/ci.yml",
        ".gitignore",
        "README.md",
        "docs/guide.md",
        "notes.txt",
        "setup.py",
        "src/app.py",
        "src/new_untracked.py",
        "src/util/data.json",
        "src/util/helpers.py",
    ]
    assert out.data == {"path": ".", "pattern": None, "count": 10}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.py", ["setup.py", "src/app.py", "src/new_untracked.py", "src/util/helpers.py"]),
        ("**/*.py", ["setup.py", "src/app.py", "src/new_untracked.py", "src/util/helpers.py"]),
        ("src/*.py", ["src/app.py", "src/new_untracked.py"]),
        ("src/**/*.py", ["src/app.py", "src/new_untracked.py", "src/util/helpers.py"]),
        ("*.{md,txt}", ["README.md", "docs/guide.md", "notes.txt"]),
        ("src/util/", ["src/util/data.json", "src/util/helpers.py"]),
        ("[rs]*.py", ["setup.py"]),
    ],
)
def test_glob_patterns(project: Path, pattern: str, expected: list[str]) -> None:
    assert run_tool("list_files", project, pattern=pattern).text.splitlines() == expected


def test_path_and_pattern_relative_to_it(project: Path) -> None:
    assert run_tool("list_files", project, path="src/util").text.splitlines() == [
        "src/util/data.json",
        "src/util/helpers.py",
    ]
    assert (
        run_tool("list_files", project, path="src", pattern="util/*.py").text
        == "src/util/helpers.py"
    )


def test_no_match_is_not_an_error(project: Path) -> None:
    out = run_tool("list_files", project, pattern="*.rs")
    assert out.text == "No files matching '*.rs' in the workspace."
    assert not out.is_error


def test_ignored_directory_is_listed_when_asked_for(project: Path) -> None:
    out = run_tool("list_files", project, path="build")
    assert out.text.splitlines() == [
        "[build is ignored by git (or untracked); listed anyway.]",
        "build/out.py",
    ]


def test_outside_git_skips_dependency_and_cache_dirs(tmp_path: Path) -> None:
    make(
        tmp_path,
        "main.py",
        "pkg/mod.py",
        "node_modules/left-pad/index.js",
        ".venv/lib/site.py",
        "pkg/__pycache__/mod.cpython-311.pyc",
        ".git/config",
    )
    assert run_tool("list_files", tmp_path).text.splitlines() == ["main.py", "pkg/mod.py"]


def test_listing_is_capped(tmp_path: Path) -> None:
    (tmp_path / "many").mkdir()
    for i in range(1203):
        (tmp_path / "many" / f"f{i:04d}.txt").touch()
    lines = run_tool("list_files", tmp_path).text.splitlines()
    assert len(lines) == 1001
    assert lines[0] == "many/f0000.txt"
    assert lines[-1].startswith("... 203 more files (showing the first 1,000)")


def test_outside_the_workspace_is_refused(workspace: Path) -> None:
    for path in ("..", "/etc", "../.."):
        with pytest.raises(WorkspaceError, match="outside the workspace"):
            run_tool("list_files", workspace, path=path)
    (workspace / "escape").symlink_to(workspace.parent)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        run_tool("list_files", workspace, path="escape")


def test_a_file_path_lists_the_file(project: Path) -> None:
    assert run_tool("list_files", project, path="src/app.py").text == "src/app.py"


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("a.py", "*.py", True),
        ("src/deep/a.py", "*.py", True),
        ("src/deep/a.py", "src/*.py", False),
        ("src/deep/a.py", "src/**/*.py", True),
        ("src/a.py", "src/**/*.py", True),
        ("src/a.py", "/src/*.py", True),
        ("lib/src/a.py", "src/*.py", False),
        ("a.tsx", "*.{ts,tsx}", True),
        ("a.js", "*.{ts,tsx}", False),
        ("Makefile", "Makefile", True),
        ("x/Makefile", "Makefile", True),
        ("a.py", "?.py", True),
        ("ab.py", "?.py", False),
        ("file[1].txt", "file[1].txt", False),
        ("file1.txt", "file[1].txt", True),
        ("weird[.txt", "weird[.txt", True),
    ],
)
def test_glob_semantics(path: str, pattern: str, matches: bool) -> None:
    assert glob_matches(path, pattern) is matches
