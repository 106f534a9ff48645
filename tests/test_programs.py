"""safety/programs.py: the programs v4code starts are found outside every workspace, once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from v4code.safety import programs
from v4code.safety.programs import find_program, inside_workspace, take_notices


def tool(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs, "_workspaces", [])
    monkeypatch.setattr(programs, "_found", {})
    monkeypatch.setattr(programs, "_notices", [])
    monkeypatch.setattr(programs, "_said", set())
    monkeypatch.setattr(programs, "_inherited", [])
    monkeypatch.delenv(programs.WORKSPACES_ENV, raising=False)


def test_a_path_folder_inside_the_workspace_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    tool(work / ".venv" / "bin", "frob")
    system = tool(tmp_path / "system", "frob")
    monkeypatch.setenv("PATH", f"{work / '.venv' / 'bin'}{os.pathsep}{system.parent}")
    assert find_program("frob", work) == str(system)
    assert take_notices() == []


def test_the_only_candidate_inside_is_not_used_and_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    tool(work / ".venv" / "bin", "frob")
    monkeypatch.setenv("PATH", str(work / ".venv" / "bin"))
    assert find_program("frob", work) is None
    assert find_program("frob", work) is None
    assert take_notices() == ["frob found only at .venv/bin/frob: not used"]
    assert take_notices() == []


def test_relative_entries_and_links_into_the_workspace_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    planted = tool(work / "bin", "frob")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "frob").symlink_to(planted)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", f"bin{os.pathsep}{os.pathsep}{elsewhere}")
    assert find_program("frob", work) is None


def test_every_workspace_given_counts_and_the_answer_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    tool(second / "bin", "frob")
    system = tool(tmp_path / "system", "frob")
    monkeypatch.setenv("PATH", f"{second / 'bin'}{os.pathsep}{system.parent}")
    first.mkdir()
    assert inside_workspace(second / "bin" / "frob", second)
    assert find_program("frob", first) == str(system)  # `second` is still a workspace
    system.unlink()
    assert find_program("frob", first) == str(system)  # found once per process


def test_an_absolute_name_inside_a_workspace_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    planted = tool(work, "sh")
    assert find_program(str(planted), work) is None
    assert find_program("/bin/sh", work) == "/bin/sh"


def test_a_child_skips_the_workspaces_of_the_process_that_started_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, worktree = tmp_path / "repo", tmp_path / "worktree"
    tool(repo / ".venv" / "bin", "frob")
    system = tool(tmp_path / "system", "frob")
    monkeypatch.setenv("PATH", f"{repo / '.venv' / 'bin'}{os.pathsep}{system.parent}")
    handed = programs.workspaces_env(repo)
    monkeypatch.setattr(programs, "_workspaces", [])  # as in the child process
    monkeypatch.setattr(programs, "_found", {})
    monkeypatch.setattr(programs, "_inherited", [])
    monkeypatch.setenv(programs.WORKSPACES_ENV, handed[programs.WORKSPACES_ENV])
    assert find_program("frob", worktree) == str(system)
