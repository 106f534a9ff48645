"""What one session start reads: the trust of `.v4code/` computed once, each config file
parsed once, whatever number of loaders (settings, tools, prompts, MCP servers, hooks,
custom commands) need them.

The start is the real one: `v4code run` through the command line in this process, against the
fake DeepSeek server. The counting wraps the one function that hashes `.v4code/` and the one
that parses TOML, nothing else.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_api import FakeDeepSeek, text

import v4code.safety.trust as trust
import v4code.toml_tables
from v4code.cli import main

TOOL = '''
from v4code.toolkit import ToolContext, tool


@tool(risk="read")
def project_tool(ctx: ToolContext) -> str:
    """A project's own tool."""
    return "ok"
'''


def trusted_repository(root: Path) -> Path:
    """A repository with settings, a tool, a prompt and a command in `.v4code/`, trusted."""
    folder = root / ".v4code"
    (folder / "tools").mkdir(parents=True)
    (folder / "tools" / "mine.py").write_text(TOOL)
    (folder / "prompts").mkdir()
    (folder / "prompts" / "system.md").write_text(
        "PROJECT PROMPT in $workspace ($platform, git: $git)\n$instructions\n"
    )
    (folder / "commands").mkdir()
    (folder / "commands" / "ship.md").write_text("Ship it: $ARGUMENTS\n")
    (folder / "config.toml").write_text('model = "deepseek-v4-flash"\n')
    trust.grant(root)
    return folder / "config.toml"


class Reads:
    """Trust computations and TOML parses (by file) from the moment it is made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.trust = 0
        self.parses: Counter[str] = Counter()
        hash_folder = trust._hash_folder
        parse = v4code.toml_tables.parse_toml

        def hashing(root: Path) -> object:
            self.trust += 1
            return hash_folder(root)

        def parsing(text: str, source: Path) -> dict[str, object]:
            self.parses[str(source)] += 1
            return parse(text, source)

        monkeypatch.setattr(trust, "_hash_folder", hashing)
        monkeypatch.setattr(v4code.toml_tables, "parse_toml", parsing)  # every config parse


def user_setup(
    workspace: Path,
    fake_api: FakeDeepSeek,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[dict[str, object]],
    more: str = "",
) -> Path:
    """The user's endpoint in their config file (plus `more`), a key, `workspace` as the
    current folder and `steps` scripted; the user's config file."""
    config = Path(os.environ["V4CODE_HOME"]) / "config.toml"
    config.write_text(f'base_url = "{fake_api.base_url}"\n{more}')
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-key-0123456789")
    monkeypatch.setenv("V4CODE_SANDBOX", "false")
    monkeypatch.chdir(workspace)
    fake_api.load(steps)
    return config


def start(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, *args: str
) -> Reads:
    """`v4code run ARGS` with the user's endpoint in their config file; what it read."""
    user_setup(workspace, fake_api, monkeypatch, [text("done")], "max_steps = 7\n")
    reads = Reads(monkeypatch)
    result = CliRunner().invoke(main, ["run", *args])
    assert result.exit_code == 0, result.output
    return reads


def test_a_run_start_computes_the_trust_once_and_parses_each_config_once(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_config = trusted_repository(workspace)
    reads = start(workspace, fake_api, monkeypatch, "hello")

    (request,) = fake_api.chat_requests  # the user's endpoint, from the user's file
    assert request.json["model"] == "deepseek-v4-flash"  # the project's settings
    assert "project_tool" in json.dumps(request.tools)  # its tools
    assert "PROJECT PROMPT" in request.json["messages"][0]["content"]  # its prompt
    user_config = Path(os.environ["V4CODE_HOME"]) / "config.toml"
    assert reads.trust == 1
    assert reads.parses == {str(user_config): 1, str(project_config): 1}


def test_a_custom_command_start_reads_no_more(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted_repository(workspace)
    reads = start(workspace, fake_api, monkeypatch, "/ship", "now")

    (request,) = fake_api.chat_requests
    assert request.json["messages"][-1]["content"].startswith("Ship it: now")
    assert reads.trust == 1
    assert set(reads.parses.values()) == {1} and len(reads.parses) == 2


def test_a_chat_start_computes_the_trust_once_and_parses_each_config_once(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat asks about the trust on start; the session opens with that same answer."""
    import io

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from rich.console import Console

    from v4code.ui.repl import run_repl

    trusted_repository(workspace)
    user_setup(workspace, fake_api, monkeypatch, [text("done")])
    reads = Reads(monkeypatch)
    console = Console(file=io.StringIO(), width=120, color_system=None, highlight=False)
    with create_pipe_input() as pipe:
        pipe.send_text("hello\r" + "\x04" * 3)
        assert run_repl(flags={}, input=pipe, output=DummyOutput(), console=console) == 0

    (request,) = fake_api.chat_requests
    assert "PROJECT PROMPT" in request.json["messages"][0]["content"]
    assert "project_tool" in json.dumps(request.tools)
    assert reads.trust == 1
    assert set(reads.parses.values()) == {1} and len(reads.parses) == 2


def test_a_review_start_computes_the_trust_once_and_parses_each_config_once(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`v4code review` reads settings, its two prompts and the tools from one reading."""
    import subprocess

    from fake_api import tool_call

    project_config = trusted_repository(workspace)
    prompts = workspace / ".v4code" / "prompts"
    (prompts / "review.md").write_text("PROJECT REVIEWER\n")
    (prompts / "review_request.md").write_text("Review this: $diff\n")
    trust.grant(workspace)  # the new prompts are part of what the user trusts
    (workspace / "app.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    steps = [tool_call("report_findings", findings=[], summary="Fine.")]
    user_config = user_setup(workspace, fake_api, monkeypatch, steps)
    reads = Reads(monkeypatch)
    result = CliRunner().invoke(main, ["review", "--no-cache"])
    assert result.exit_code == 0, result.output

    (request,) = fake_api.chat_requests
    assert request.json["messages"][0]["content"].startswith("PROJECT REVIEWER")
    assert reads.trust == 1
    assert reads.parses == {str(user_config): 1, str(project_config): 1}
