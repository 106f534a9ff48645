"""Where settings come from, as a newcomer following the README's Configuration section sees
it: a setting in the user's or a trusted project's config.toml applies to `v4code run` unless
a flag is given, a broken config location is said (exit 2) rather than skipped, an API
caller's bad option is named as theirs, and a symlinked config.toml stays a link when a
command writes to it.

Each test drives the real command line (or `import v4code`) against the fake DeepSeek server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call

import v4code as api

EDIT = {"path": "README.md", "old_string": "# project", "new_string": "# changed"}


def edit_script(fake_api: FakeDeepSeek) -> None:
    fake_api.load([tool_call("edit_file", **EDIT), text("Done.")])


def run_edit(
    root: Path, fake_api: FakeDeepSeek, *args: str, env: dict[str, str | None] | None = None
) -> dict[str, object]:
    """`v4code run --output json ... edit` and its result object (the exit code in it)."""
    result = v4code(root, "run", "--output", "json", *args, "edit", server=fake_api, env=env)
    assert result.stdout, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    assert data["exit_code"] == result.returncode
    return data


def test_run_takes_permission_mode_from_the_user_config(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text('permission_mode = "read-only"\n')
    edit_script(fake_api)
    data = run_edit(workspace, fake_api)
    assert (data["status"], data["exit_code"], data["denied"]) == ("denied", 5, ["edit_file"])
    assert (workspace / "README.md").read_text() == "# project\n"
    shown = v4code(workspace, "config", "show")
    assert "read-only" in shown.stdout and str(v4code_home / "config.toml") in shown.stdout


def test_run_takes_permission_mode_from_the_xdg_config_without_v4code_home(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "v4code" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('permission_mode = "read-only"\n')
    edit_script(fake_api)
    data = run_edit(workspace, fake_api, env={"V4CODE_HOME": None})
    assert (data["status"], data["exit_code"]) == ("denied", 5)
    assert (workspace / "README.md").read_text() == "# project\n"


def test_a_trusted_project_narrows_run_to_read_only(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text('permission_mode = "read-only"\n')
    assert v4code(workspace, "trust").returncode == 0
    edit_script(fake_api)
    data = run_edit(workspace, fake_api)
    assert (data["status"], data["exit_code"]) == ("denied", 5)
    assert (workspace / "README.md").read_text() == "# project\n"


def test_a_flag_given_still_beats_the_config_and_run_defaults_to_full_auto(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    edit_script(fake_api)
    data = run_edit(workspace, fake_api)  # no config: run's own default, full-auto
    assert (data["status"], data["exit_code"]) == ("done", 0)
    (workspace / "README.md").write_text("# project\n")
    (v4code_home / "config.toml").write_text('permission_mode = "read-only"\n')
    edit_script(fake_api)
    data = run_edit(workspace, fake_api, "--permission-mode", "auto-edit")
    assert (data["status"], data["exit_code"]) == ("done", 0)
    assert (workspace / "README.md").read_text() == "# changed\n"


def test_run_refuses_an_invalid_permission_mode_in_the_user_config(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text('permission_mode = "yolo"\n')
    result = v4code(workspace, "run", "edit", server=fake_api)
    assert result.returncode == 2
    assert f"{v4code_home / 'config.toml'}: permission_mode 'yolo' is not one of" in result.stderr
    assert (workspace / "README.md").read_text() == "# project\n"
    assert not fake_api.chat_requests


def test_batch_units_take_permission_mode_from_the_user_config(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, tmp_path: Path
) -> None:
    (v4code_home / "config.toml").write_text('permission_mode = "read-only"\n')
    planned = v4code(workspace, "batch", "plan", "Tidy {path}", "--each", "README.md",
                     "-o", "jobs.jsonl")  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    edit_script(fake_api)
    out = tmp_path / "run"
    ran = v4code(workspace, "batch", "run", "jobs.jsonl", "--out", str(out), server=fake_api,
                 timeout=240)  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert json.loads((out / "run.json").read_text())["options"]["permission_mode"] == "read-only"
    agent = json.loads(next(out.glob("units/*/agent.json")).read_text())
    assert (agent["status"], agent["denied"]) == ("denied", ["edit_file"])


@pytest.mark.parametrize("broken", ["folder", "dangling link"])
def test_a_broken_user_config_location_is_said_not_skipped(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, broken: str
) -> None:
    config = v4code_home / "config.toml"
    if broken == "folder":
        config.mkdir()
        said = f"{config} is a folder, not a config file"
    else:
        config.symlink_to(v4code_home / "dotfiles" / "v4code.toml")
        said = f"{config} is a symbolic link to {v4code_home / 'dotfiles' / 'v4code.toml'}, "
        said += "which does not exist"
    for args in (["run", "edit"], ["config", "show"], ["mcp", "add", "z", "--", "ls"]):
        result = v4code(workspace, *args, server=fake_api)
        assert result.returncode == 2, (args, result.stderr)
        assert said in result.stderr, (args, result.stderr)
    assert (workspace / "README.md").read_text() == "# project\n"
    assert not fake_api.chat_requests


def test_a_trusted_project_whose_config_is_a_folder_is_said_not_skipped(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / ".v4code" / "config.toml").mkdir(parents=True)
    (workspace / ".v4code" / "config.toml" / "x").write_text("")  # git keeps no empty folder
    assert v4code(workspace, "trust").returncode == 0
    result = v4code(workspace, "run", "edit", server=fake_api)
    assert result.returncode == 2
    assert f"{workspace / '.v4code' / 'config.toml'} is a folder" in result.stderr


def test_an_api_callers_bad_option_is_named_as_theirs(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, fake_api: FakeDeepSeek
) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-api-test-0123456789")
    with pytest.raises(api.ConfigError) as raised:
        api.open_session(workspace, max_cost="x")  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith("open_session argument: setting 'max_cost'"), message
    assert "command line" not in message
    with pytest.raises(api.ConfigError) as raised:
        api.open_session(workspace, settings={"max_steps": 0})
    assert str(raised.value) == "open_session argument: max_steps must be at least 1, not 0"


def test_commands_that_write_the_config_write_through_a_symlink(
    workspace: Path, v4code_home: Path, tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "v4code.toml"
    mine = '# my settings\nmodel = "deepseek-flash"   # cheap\n'
    target.write_text(mine)
    link = v4code_home / "config.toml"
    link.symlink_to(os.path.relpath(target, v4code_home))
    added = v4code(workspace, "mcp", "add", "z", "--", sys.executable, "-V")
    assert added.returncode == 0, added.stderr
    allowed = v4code(workspace, "mcp", "allow", "z", "get_*")
    assert allowed.returncode == 0, allowed.stderr
    assert link.is_symlink() and link.resolve() == target
    written = target.read_text()
    assert written.startswith(mine) and "[mcp.servers.z]" in written and "z__get_*" in written
    assert not list(v4code_home.glob(".config.toml.*")) and not list(dotfiles.glob(".*tmp"))
    removed = v4code(workspace, "mcp", "remove", "z")
    assert removed.returncode == 0, removed.stderr
    assert link.is_symlink() and target.read_text().rstrip("\n") == mine.rstrip("\n")
    listed = subprocess.run(["ls", str(dotfiles)], capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["v4code.toml"]
