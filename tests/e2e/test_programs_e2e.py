"""The programs v4code starts by itself (git, rg, bwrap, sh, bash) never come from the workspace.

An activated virtualenv in the workspace puts `.venv/bin` first on PATH, and both a sandboxed
command and the edit tools can write there. Each test plants programs there through the real
CLI, as a prompt-injected model would, and looks for the marker a planted program leaves
outside the workspace.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from cli_harness import plan_each, v4code
from conftest import needs_bwrap
from fake_api import FakeDeepSeek, text, tool_call, tool_calls


def planted(marker: Path, real: str | None) -> str:
    """A stand-in that leaves `marker` (on the host, outside the workspace), then runs the
    real program so nothing else looks wrong."""
    tail = f'exec {real} "$@"\n' if real else "exit 0\n"
    return f'#!/bin/sh\necho ran "$PWD" "$@" >> {marker}\n{tail}'


def venv_on_path(root: Path) -> dict[str, str | None]:
    """The workspace's `.venv/bin` first on PATH, as after `. .venv/bin/activate`."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (root / ".venv" / ".gitignore").write_text("*\n")
    for name in ("pip", "pip3"):
        (bin_dir / name).write_text("#!/bin/sh\necho pip\n")
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": None}


def test_edits_alone_cannot_make_v4code_run_a_planted_git_or_rg(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    env = venv_on_path(workspace)
    git_mark, rg_mark = tmp_path / "git.ran", tmp_path / "rg.ran"
    fake_api.load(
        [
            tool_calls(
                [
                    ("move_file", {"src": ".venv/bin/pip", "dst": ".venv/bin/git"}),
                    ("move_file", {"src": ".venv/bin/pip3", "dst": ".venv/bin/rg"}),
                ]
            ),
            tool_calls(
                [
                    ("write_file", {"path": ".venv/bin/git", "content": planted(git_mark, None)}),
                    ("write_file", {"path": ".venv/bin/rg", "content": planted(rg_mark, None)}),
                ]
            ),
            tool_calls([("list_files", {}), ("grep", {"pattern": "project"})]),
            text("Done."),
        ]
    )
    done = v4code(
        workspace, "run", "--permission-mode", "auto-edit", "go", server=fake_api, env=env
    )
    assert done.returncode == 0, done.stderr
    assert os.access(workspace / ".venv" / "bin" / "git", os.X_OK)  # the trap was set
    assert not git_mark.exists() and not rg_mark.exists()
    results = json.dumps([r.messages for r in fake_api.chat_requests])
    assert "README.md" in results  # list_files and grep still answered


@needs_bwrap
def test_a_command_cannot_plant_the_sandbox_or_the_hosts_git_and_sh(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    env = venv_on_path(workspace)
    marks = {name: tmp_path / f"{name}.ran" for name in ("bwrap", "git", "sh")}
    real = {name: shutil.which(name) for name in marks}
    plant = " && ".join(
        f"printf %s {json.dumps(planted(marks[name], real[name]))} > .venv/bin/{name}"
        f" && chmod +x .venv/bin/{name}"
        for name in marks
    )
    fake_api.load(
        [
            tool_call("run_command", command=plant),
            tool_call("run_command", command="echo second > second.txt"),
            text("Done."),
        ]
    )
    done = v4code(
        workspace,
        "run",
        "--permission-mode",
        "full-auto",
        "go",
        server=fake_api,
        env=env,
        sandbox=True,
    )
    assert done.returncode == 0, done.stderr
    assert (workspace / ".venv" / "bin" / "bwrap").is_file()  # the trap was set
    assert [name for name, mark in marks.items() if mark.exists()] == []
    assert (workspace / "second.txt").read_text() == "second\n"


def test_the_only_git_inside_the_workspace_is_not_used_and_said_so(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    env = venv_on_path(workspace)
    mark = tmp_path / "git.ran"
    git = workspace / ".venv" / "bin" / "git"
    git.write_text(planted(mark, None))
    git.chmod(0o755)
    env["PATH"] = str(workspace / ".venv" / "bin")  # no other git anywhere
    fake_api.load([tool_call("list_files"), text("Done.")])
    done = v4code(
        workspace,
        "run",
        "--output",
        "json",
        "--permission-mode",
        "read-only",
        "go",
        server=fake_api,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert not mark.exists(), mark.read_text()
    assert "git found only at .venv/bin/git: not used" in json.loads(done.stdout)["notices"]


def test_batch_and_its_gitpython_never_run_the_workspaces_git(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    env = venv_on_path(workspace)
    mark = tmp_path / "git.ran"
    git = workspace / ".venv" / "bin" / "git"
    git.write_text(planted(mark, shutil.which("git")))
    git.chmod(0o755)
    manifest = plan_each(workspace, fake_api, "README.md", tmp_path / "jobs.jsonl", env=env)
    fake_api.route("README.md", [tool_call("write_file", path="README.md", content="# x\n")])
    fake_api.route("README.md", [text("Done.")])
    ran = v4code(workspace, "batch", "run", str(manifest), server=fake_api, env=env)
    assert "README.md: running" in ran.stderr, ran.stderr  # the unit's agent ran
    assert not mark.exists(), mark.read_text()
