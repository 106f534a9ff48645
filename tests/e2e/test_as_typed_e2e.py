"""What a user types that is not quite right: an effort the API does not know, a project's
command before the folder is trusted, a command run outside a repository, an `@word` in the chat
that names no file. Each gets one clear line, and nothing is sent or lost."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from chat_harness import ENTER, chat
from cli_harness import v4code
from fake_api import FakeDeepSeek, text


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--effort", "extreme", "hi"),
        ("--effort", "extreme", "-p", "hi"),
        ("review", "--effort", "extreme"),
    ],
)
def test_an_effort_outside_the_documented_values_is_refused_before_any_request(
    workspace: Path, fake_api: FakeDeepSeek, args: tuple[str, ...]
) -> None:
    (workspace / "README.md").write_text("# project\n\nchanged\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    result = v4code(workspace, *args, server=fake_api)
    assert result.returncode == 2, result.stderr
    assert "'extreme' is not one of 'none', 'low', 'high', 'max'" in result.stderr
    assert fake_api.chat_requests == []


def test_an_effort_in_the_config_file_is_checked_and_none_turns_thinking_off(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    config = v4code_home / "config.toml"
    config.write_text('effort = "extreme"\n')
    result = v4code(workspace, "run", "hi", server=fake_api)
    assert result.returncode == 2
    assert "effort 'extreme' is not one of none, low, high, max" in result.stderr
    assert fake_api.chat_requests == []

    config.write_text('effort = "none"\n')
    fake_api.load([text("done")])
    result = v4code(workspace, "run", "hi", server=fake_api)
    assert result.returncode == 0, result.stderr
    body = fake_api.chat_requests[0].json
    assert body["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in body


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("max_time = -5", "max_time must be 0 or more seconds"),
        ("max_tokens = 0", "max_tokens must be 1 to 393216"),
        ("compact_threshold = 7.0", "compact_threshold must be a share of the context window"),
        ("max_retries = -1", "max_retries must be 0 to 100"),
    ],
)
def test_a_setting_outside_its_documented_range_is_refused(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, setting: str, said: str
) -> None:
    (v4code_home / "config.toml").write_text(setting + "\n")
    result = v4code(workspace, "run", "hi", server=fake_api)
    assert result.returncode == 2
    assert said in result.stderr
    assert fake_api.chat_requests == []


def test_a_project_command_before_trust_says_the_folder_is_untrusted(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    commands = workspace / ".v4code" / "commands"
    commands.mkdir(parents=True)
    (commands / "fixit.md").write_text("Fix $ARGUMENTS\n")
    result = v4code(workspace, "run", "/fixit the bug", server=fake_api)
    assert result.returncode == 2
    assert "/fixit is this repository's own command" in result.stderr
    assert "v4code trust" in result.stderr
    assert "custom commands: none" not in result.stderr
    assert fake_api.chat_requests == []


def test_a_project_command_before_trust_in_the_chat(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = workspace / ".v4code" / "commands"
    commands.mkdir(parents=True)
    (commands / "fixit.md").write_text("Fix $ARGUMENTS\n")
    screen = chat(workspace, fake_api, monkeypatch, ["n" + ENTER, "/fixit the bug" + ENTER])
    assert "/fixit is this repository's own command" in screen
    assert "run `v4code trust` here" in screen
    assert fake_api.chat_requests == []


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("review",), "review"),
        (("review", "--hook"), "review"),
        (("map",), "map"),
        (("locate", "parser"), "locate"),
        (("hook", "install"), "hook install"),
        (("hook", "uninstall"), "hook uninstall"),
        (("batch", "plan", "tidy {path}", "--each", "src/*.py"), "batch plan"),
        (("batch", "plan", "tidy", "--discover"), "batch plan"),
    ],
)
def test_every_command_needing_a_repository_says_so_in_the_same_line_outside_one(
    tmp_path: Path, fake_api: FakeDeepSeek, args: tuple[str, ...], command: str
) -> None:
    """One line, one wording for all of them (the hook passed git's own "fatal: not a git
    repository" on; a batch plan said less than review did)."""
    folder = tmp_path / "not-a-repo"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "parser.py").write_text("def parse():\n    pass\n")
    result = v4code(folder, *args, server=fake_api)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        f"{folder} is not inside a git repository, and `v4code {command}` needs one: " in lines[0]
    )
    assert "run it in a repository (or `git init` first)" in lines[0]
    assert "fatal" not in lines[0]
    assert result.stdout == ""
    assert fake_api.chat_requests == []
    assert not (folder / ".git").exists()


@pytest.mark.parametrize(
    "typed",
    [
        "make LineItem a frozen @dataclass",
        "why is @property slow here",
        "look at @pkg/ta",
        "compare @README.md with @nothing/../../etc/passwd",
    ],
)
def test_an_at_word_that_names_no_file_stays_plain_text(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "tasks.py").write_text("X = 1\n")
    fake_api.load([text("Sure."), text("Still here.")])
    screen = chat(workspace, fake_api, monkeypatch, [typed + ENTER, "and then?" + ENTER])
    assert "Traceback" not in screen and "internal error" not in screen
    first, second = fake_api.chat_requests
    assert typed in first.messages[-1]["content"]
    assert second.messages[-1]["content"] == "and then?"


def test_review_of_a_path_that_names_nothing_is_a_usage_error(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """A mistyped path gave an empty diff and passed as "no changes" (exit 0), letting the
    commit or the CI step through unreviewed."""
    (workspace / "app.py").write_text("X = 1\n")
    for paths in (("nothere.py",), ("app.py", "nothere.py")):
        result = v4code(workspace, "review", *paths, server=fake_api)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == "v4code review: no such path: nothere.py"
    assert fake_api.chat_requests == []


def test_review_of_a_deleted_or_globbed_path_is_not_refused(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """What names nothing on disk may still name something git knows: a file the change
    deletes, or a glob git matches."""
    (workspace / "README.md").unlink()
    result = v4code(workspace, "review", "README.md", server=fake_api)
    assert "no such path" not in result.stderr
    assert "README.md (deleted)" in result.stdout + result.stderr
    result = v4code(workspace, "review", "*.md", server=fake_api)
    assert "no such path" not in result.stderr
