"""What a workspace can make v4code's own (host-side) git run, attacked through the real CLI.

A repository received with its `.git` (an archive, a shared folder) or a nested repository a
sandboxed command made below the workspace names programs: filter and merge drivers, an
fsmonitor, a gpg program. v4code's git runs on the host, outside the sandbox, so none of them
may start there: not on the branch batch runs on (an `includeIf "onbranch:..."`), not in a
nested repository (submodules are never entered), not when the user's global configuration
signs commits. Each program leaves a marker file when it starts; the tests look for them,
and at the branches, files and output a user would see.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_harness import run_and_apply
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call

TOP = "top = 1\n"
BOTTOM = "bottom = 1\n"
MIDDLE = "".join(f"line {n}\n" for n in range(12))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME (and XDG config folder): no test reads the real user's git config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    return home


def program(markers: Path, name: str, body: str = "cat") -> str:
    """A shell command line that leaves `markers/NAME` when it starts, then runs `body`."""
    markers.mkdir(exist_ok=True)
    return f"touch {markers / name}; {body}"


def started(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.glob("*")) if markers.exists() else []


def manifest(root: Path, path: Path, units: dict[str, str]) -> Path:
    """One unit a task (id: task) on a.txt, all at HEAD."""
    base = git(root, "rev-parse", "HEAD").strip()
    lines = [
        json.dumps({"id": uid, "repo": str(root), "base": base, "paths": ["a.txt"], "task": task})
        for uid, task in units.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_runs_no_program_the_repository_names_for_the_branch_it_runs_on(
    workspace: Path, home: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """Filter and merge drivers behind `includeIf "onbranch:v4code/**"` (true only on batch's
    own branches, where the unit's worktree and apply's cherry-picks run) and a gpg program
    with the user's global `commit.gpgSign = true`: batch run and apply start none of them,
    apply succeeds, and both units' edits of one file are merged as git's text merge would."""
    markers = tmp_path / "markers"
    root = workspace
    (root / ".gitattributes").write_text("*.dat filter=evil\na.txt merge=evil\n")
    (root / "data.dat").write_text("data\n")
    (root / "a.txt").write_text(TOP + MIDDLE + BOTTOM)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    (root / ".git" / "evil.config").write_text(
        f'[filter "evil"]\n\tsmudge = "{program(markers, "smudge")}"\n'
        f'\tclean = "{program(markers, "clean")}"\n'
        f'[merge "evil"]\n\tdriver = "{program(markers, "merge", "exit 0")}"\n'
    )
    git(root, "config", "includeIf.onbranch:v4code/**.path", "evil.config")
    gpg = tmp_path / "gpg"
    gpg.write_text(f"#!/bin/sh\n{program(markers, 'gpg', 'exit 1')}\n")
    gpg.chmod(0o755)
    git(root, "config", "gpg.program", str(gpg))
    git(root, "config", "--global", "commit.gpgSign", "true")

    jobs = manifest(root, tmp_path / "jobs.jsonl", {"top": "Fix the top.", "bottom": "Fix the bottom."})  # fmt: skip
    edit = {"top": ("top = 1", "top = 2"), "bottom": ("bottom = 1", "bottom = 2")}
    for key, (old, new) in edit.items():
        call = tool_call("edit_file", path="a.txt", old_string=old, new_string=new)
        fake_api.route(f"Fix the {key}.", [call, text("Done.")])
    run_and_apply(root, fake_api, jobs, tmp_path / "run", into="fixed")
    assert started(markers) == []
    assert git(root, "show", "fixed:a.txt") == "top = 2\n" + MIDDLE + "bottom = 2\n"
    assert git(root, "show", "fixed:data.dat") == "data\n"
