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
import os
import subprocess
from pathlib import Path

import pytest
from chat_harness import ENTER, chat
from cli_harness import v4code
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call

from v4code.ui.trust_prompt import APPEARED

TOP = "top = 1\n"
BOTTOM = "bottom = 1\n"
MIDDLE = "".join(f"line {n}\n" for n in range(12))


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
    run_dir = str(tmp_path / "run")
    ran = v4code(root, "batch", "run", str(jobs), "--out", run_dir, server=fake_api)
    assert started(markers) == [] and ran.returncode == 0, ran.stderr  # unit worktrees, commits
    applied = v4code(root, "batch", "apply", run_dir, "--into", "fixed", server=fake_api)
    assert started(markers) == [] and applied.returncode == 0, applied.stderr  # the picks
    assert git(root, "show", "fixed:a.txt") == "top = 2\n" + MIDDLE + "bottom = 2\n"
    assert git(root, "show", "fixed:data.dat") == "data\n"


def hostile_repository(folder: str, markers: Path) -> str:
    """A command line that makes `folder` a git repository with a committed file `f`, then
    gives it a clean filter and an fsmonitor (each leaves a marker) and touches `f`, so the
    next `git status` on the host that enters it runs both."""
    clean = program(markers, "clean")
    fsmonitor = program(markers, "fsmonitor", "exit 1")
    return (
        f"mkdir -p {folder} && cd {folder} && git init -q && echo hi > f && git add f && "
        "git -c user.name=m -c user.email=m@m commit -qm x && "
        f"git config filter.x.clean '{clean}' && git config core.fsmonitor '{fsmonitor}' && "
        "echo '* filter=x' > .gitattributes && touch f"
    )


def sandboxed_run(root: Path, server: FakeDeepSeek) -> dict:
    """`v4code run --permission-mode full-auto --output json` in the sandbox: its result."""
    done = v4code(
        root, "run", "--permission-mode", "full-auto", "--output", "json", "go",
        server=server, sandbox=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def test_a_repository_a_command_makes_in_a_submodule_runs_nothing_on_the_host(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """An uninitialised submodule (a gitlink, an empty folder) that a sandboxed command turns
    into a repository with a clean filter and an fsmonitor: v4code's `git status` (the guard's
    check before `git checkout .`) and the user's own plain `git status` afterwards start
    neither; the `.git` is moved out of the workspace, and the output says so."""
    markers = tmp_path / "markers"
    commit = git(workspace, "rev-parse", "HEAD").strip()
    git(workspace, "update-index", "--add", "--cacheinfo", f"160000,{commit},sub")
    (workspace / ".gitmodules").write_text('[submodule "sub"]\n\tpath = sub\n\turl = ./sub\n')
    git(workspace, "add", ".gitmodules")
    git(workspace, "commit", "-qm", "a submodule")
    (workspace / "sub").mkdir()
    (workspace / "README.md").write_text("changed\n")  # something for `checkout .` to lose
    fake_api.load(
        [
            tool_call("run_command", command=hostile_repository("sub", markers)),
            tool_call("run_command", command="git checkout ."),
            text("Done."),
        ]
    )
    result = sandboxed_run(workspace, fake_api)
    assert result["status"] == "denied"  # the guard's check found the tree dirty
    assert started(markers) == []
    assert not os.path.lexists(workspace / "sub" / ".git")
    assert any(
        line.startswith("sub/.git: a git repository appeared inside the workspace")
        for line in result["planted"]
    )
    tool_results = [m["content"] for m in fake_api.chat_requests[1].messages if m["role"] == "tool"]
    assert "sub/.git: a git repository appeared inside the workspace" in tool_results[0]
    moved = list(Path(os.environ["V4CODE_HOME"]).rglob("moved-aside/*/sub/.git/config"))
    assert len(moved) == 1 and "fsmonitor" in moved[0].read_text()  # kept, not deleted
    subprocess.run(["git", "status"], cwd=workspace, check=True, capture_output=True)
    assert started(markers) == []


def test_batch_refuses_a_unit_that_makes_a_nested_repository(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """A unit's agent makes a nested repository with a clean filter: the driver's `git add
    --all` and `git status` would record it and run the filter on the host. It runs nowhere,
    the unit is an error that says why, and nothing of it is committed."""
    markers = tmp_path / "markers"
    (workspace / "a.txt").write_text(TOP)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "a")
    jobs = manifest(workspace, tmp_path / "jobs.jsonl", {"u1": "Fix the top."})
    fake_api.route(
        "Fix the top.",
        [tool_call("run_command", command=hostile_repository("nested", markers)), text("Done.")],
    )
    run_dir = tmp_path / "run"
    done = v4code(
        workspace, "batch", "run", str(jobs), "--out", str(run_dir), server=fake_api, sandbox=True
    )
    state = json.loads((run_dir / "units" / "u1" / "state.json").read_text())
    assert started(markers) == []
    assert state["status"] == "error", (done.stderr, state)
    assert "nested/.git" in state["reason"] and "does not commit" in state["reason"]
    assert not state.get("commit")


def test_a_v4code_folder_a_command_made_is_never_offered_for_trust(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandboxed command makes `.v4code/` where there was none; the chat that continues the
    session does not offer to trust it (one line says why), and uses none of it."""
    plant = "mkdir .v4code && printf 'model = \"planted\"\\n' > .v4code/config.toml"
    fake_api.load([tool_call("run_command", command=plant), text("Done.")])
    result = sandboxed_run(workspace, fake_api)
    assert result["status"] == "done"
    assert (workspace / ".v4code" / "config.toml").exists()
    fake_api.load([text("Hello again.")])
    screen = chat(workspace, fake_api, monkeypatch, ["hi" + ENTER], continue_=True)
    assert "Trust this" not in screen and APPEARED in " ".join(screen.split())
    assert any(line.startswith(".v4code/ appeared") for line in result.get("planted", []))
    assert fake_api.chat_requests[-1].body["model"] != "planted"
    assert v4code(workspace, "trust").returncode == 0  # the user's own word still trusts it
