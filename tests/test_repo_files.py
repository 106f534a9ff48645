"""repo.files.list_files on the edges of git: sub-directories, no repository, a broken one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from v4code.repo.files import list_files


def test_a_subdirectory_of_a_repository_lists_its_files_relative_to_the_root(
    workspace: Path,
) -> None:
    (workspace / "src" / "pkg").mkdir(parents=True)
    (workspace / "src" / "pkg" / "a.py").write_text("a\n")
    (workspace / "src" / "b.log").write_text("b\n")
    (workspace / ".gitignore").write_text("*.log\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "src"], cwd=workspace, check=True)
    (workspace / "src" / "c.py").write_text("c\n")  # untracked, not ignored

    listing = list_files(workspace / "src")

    assert listing.source == "git"
    assert listing.files == ["c.py", "pkg/a.py"]


def test_no_repository_means_a_walk(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("x\n")
    (tmp_path / "plain" / "node_modules").mkdir()
    (tmp_path / "plain" / "node_modules" / "dep.js").write_text("d\n")

    listing = list_files(tmp_path / "plain")

    assert listing.source == "walk"
    assert listing.files == ["x.txt"]


def test_a_broken_git_file_falls_back_to_the_walk(tmp_path: Path) -> None:
    """A repository's `.git` may point anywhere (a crafted checkout): list the files anyway."""
    root = tmp_path / "crafted"
    root.mkdir()
    (root / ".git").write_text("gitdir: /nonexistent/elsewhere\n")
    (root / "main.py").write_text("m\n")

    listing = list_files(root)

    assert listing.source == "walk"
    assert listing.files == ["main.py"]


def test_inside_the_git_directory_there_is_no_work_tree(workspace: Path) -> None:
    listing = list_files(workspace / ".git" / "info")

    assert listing.source == "walk"
    assert "exclude" in listing.files
