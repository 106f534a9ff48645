"""Hooks, custom slash commands and `v4code mcp add/remove`, as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_harness import v4code
from click.testing import CliRunner
from fake_api import FakeDeepSeek, text, tool_calls

from v4code.cli import main
from v4code.custom_commands import load_custom_commands, parse_command


def run_v4code(root: Path, base_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return v4code(root, "run", *args, base_url=base_url)


def test_hooks_veto_a_call_see_results_and_turn_ends(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    log = workspace.parent / "hooks.jsonl"
    (v4code_home / "config.toml").write_text(
        "[hooks]\n"
        "timeout = 20\n"
        f"before_tool = \"cat >> '{log}'; echo >> '{log}'; echo 'no new files today' >&2; exit 2\"\n"
        f"after_tool = \"cat >> '{log}'; echo >> '{log}'\"\n"
        f"turn_end = [\"cat >> '{log}'; echo >> '{log}'\", \"echo broken >&2; exit 1\"]\n"
    )
    fake_api.load([tool_calls([("write_file", {"path": "new.txt", "content": "x\n"})]), text("ok")])
    result = run_v4code(
        workspace, fake_api.base_url, "--permission-mode", "full-auto", "--output", "json", "go"
    )
    assert not (workspace / "new.txt").exists()
    tool_message = fake_api.chat_requests[1].body["messages"][-1]
    assert "Blocked by a before_tool hook: no new files today" in tool_message["content"]
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["event"] for e in events] == ["before_tool", "after_tool", "turn_end"]
    assert events[0]["tool"] == "write_file" and events[0]["arguments"]["path"] == "new.txt"
    assert events[1]["is_error"] is True
    assert events[2]["status"] == "done"
    assert "turn_end hook `echo broken >&2; exit 1` failed (exit code 1): broken" in (
        result.stdout + result.stderr
    )


def test_a_hook_that_hangs_is_stopped(workspace: Path, v4code_home: Path) -> None:
    from v4code.cancel import CancelToken
    from v4code.hooks import Hook, Hooks

    hooks = Hooks(workspace, [Hook("turn_end", "sleep 30", "user")], timeout=0.5)

    class Finished:
        status, files_changed, final_text = "done", (), ""

    class AgentLike:
        session_id = "s"
        cancel = CancelToken()

    notes = hooks.turn_end(AgentLike(), Finished())
    assert notes and "stopped after 0.5 s" in notes[0]


def test_project_hooks_and_commands_need_trust(workspace: Path) -> None:
    from v4code.hooks import load_hooks
    from v4code.safety.trust import grant

    folder = workspace / ".v4code"
    (folder / "commands").mkdir(parents=True)
    (folder / "config.toml").write_text('[hooks]\nturn_end = "true"\n')
    (folder / "commands" / "ship.md").write_text("Ship it: $ARGUMENTS\n")
    assert load_hooks(workspace) is None
    assert load_custom_commands(workspace) == {}
    grant(workspace)
    hooks = load_hooks(workspace)
    assert hooks is not None and [h.command for h in hooks.hooks] == ["true"]
    assert load_custom_commands(workspace)["ship"].expand("now") == "Ship it: now"


def test_a_command_file_with_front_matter() -> None:
    command = parse_command(
        "review",
        "---\ndescription: Review a file\nmodel: deepseek-flash\nthinking: low\n---\n"
        "Review $ARGUMENTS carefully.\n",
        "user",
    )
    assert command.description == "Review a file"
    assert command.model == "deepseek-flash" and command.thinking == "low"
    assert command.expand("app.py") == "Review app.py carefully."
    plain = parse_command("fix", "Fix the failing tests.\n", "user")
    assert plain.expand("in src/") == "Fix the failing tests.\n\nin src/"


def test_run_a_custom_command(workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path) -> None:
    (v4code_home / "commands").mkdir()
    (v4code_home / "commands" / "greet.md").write_text(
        "---\ndescription: greet\nthinking: off\n---\nSay hello to $ARGUMENTS.\n"
    )
    fake_api.load([text("Hello!")])
    result = run_v4code(workspace, fake_api.base_url, "/greet", "Ada", "Lovelace")
    assert result.returncode == 0, result.stderr
    body = fake_api.chat_requests[0].body
    assert body["messages"][-1]["content"] == "Say hello to Ada Lovelace."
    unknown = run_v4code(workspace, fake_api.base_url, "/nope")
    assert unknown.returncode == 2 and "/greet" in unknown.stderr


def test_mcp_add_and_remove_keep_the_rest_of_the_config(v4code_home: Path) -> None:
    config = v4code_home / "config.toml"
    original = (
        '# mine\nmodel = "deepseek-v4-pro"\n\n[prices."m"]\nhit = 1.0\nmiss = 2.0\noutput = 3.0\n'
    )
    config.write_text(original)
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["mcp", "add", "gh", "--env", 'TOKEN=a"b\\c', "--allow", "gh__*", "--", "npx", "-y", "srv"],
    )
    assert added.exit_code == 0, added.output
    from v4code.mcp.config import load_servers

    servers = load_servers(v4code_home).servers
    assert Path(servers[0].command or "").name == "npx" and servers[0].args == ("-y", "srv")
    assert servers[0].env == {"TOKEN": 'a"b\\c'} and servers[0].allow == ("gh__*",)
    again = runner.invoke(main, ["mcp", "add", "gh", "--", "x"])
    assert again.exit_code == 2 and "already" in again.output
    removed = runner.invoke(main, ["mcp", "remove", "gh"])
    assert removed.exit_code == 0, removed.output
    assert config.read_text().rstrip("\n") == original.rstrip("\n")
    missing = runner.invoke(main, ["mcp", "remove", "gh"])
    assert missing.exit_code == 2


@pytest.mark.parametrize("value", ["${DEEPSEEK_API_KEY}", "${HOME}"])
def test_a_project_server_gets_no_expanded_variables(workspace: Path, value: str) -> None:
    from v4code.mcp.config import parse_server

    server = parse_server("p", {"command": "x", "env": {"A": value}}, "project")
    assert server.env == {"A": value}


def test_mcp_allow_extends_a_servers_allow_list_and_keeps_the_rest(v4code_home: Path) -> None:
    from v4code.mcp.config import load_servers

    runner = CliRunner()
    config = v4code_home / "config.toml"
    config.write_text('# mine\nmodel = "deepseek-v4-pro"\n')
    add = ["mcp", "add", "gh", "--env", "TOKEN=${GH_TOKEN}", "--allow", "gh__get_*"]
    assert runner.invoke(main, [*add, "--url", "https://mcp.example.com/mcp"]).exit_code == 0
    allowed = runner.invoke(main, ["mcp", "allow", "gh", "search_*", "gh__list"])
    assert allowed.exit_code == 0, allowed.output
    assert "now allows gh__search_*, gh__list" in allowed.output
    (server,) = load_servers(v4code_home).servers
    assert server.allow == ("gh__get_*", "gh__search_*", "gh__list")
    assert server.url == "https://mcp.example.com/mcp"
    assert "${GH_TOKEN}" in config.read_text() and config.read_text().startswith("# mine\n")
    again = runner.invoke(main, ["mcp", "allow", "gh", "list"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    missing = runner.invoke(main, ["mcp", "allow", "nope", "x"])
    assert missing.exit_code == 2 and "no MCP server 'nope'" in missing.output


def test_mcp_add_stores_where_the_program_is_and_says_so(
    workspace: Path, v4code_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from v4code.mcp.config import load_servers

    tools = tmp_path / "venv-bin"
    tools.mkdir()
    (tools / "mcp-tool").write_text("#!/bin/sh\nexit 0\n")
    (tools / "mcp-tool").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(workspace)
    (workspace / "bin").mkdir()
    (workspace / "bin" / "serve").write_text("#!/bin/sh\nexit 0\n")
    (workspace / "bin" / "serve").chmod(0o755)
    runner = CliRunner()
    found = runner.invoke(main, ["mcp", "add", "a", "--", "mcp-tool", "stdio"])
    assert found.exit_code == 0, found.output
    assert f"mcp-tool is {tools / 'mcp-tool'} on PATH now" in found.output
    lost = runner.invoke(main, ["mcp", "add", "b", "--", "no-such-mcp-program"])
    assert lost.exit_code == 0 and "no-such-mcp-program is not on PATH" in lost.output
    inside = runner.invoke(main, ["mcp", "add", "c", "--", "./bin/serve"])
    assert inside.exit_code == 0, inside.output
    assert f"warning: {workspace / 'bin' / 'serve'} is inside the git repository" in inside.output
    commands = {s.name: s.command for s in load_servers(v4code_home).servers}
    assert commands == {
        "a": str(tools / "mcp-tool"),
        "b": "no-such-mcp-program",
        "c": str(workspace / "bin" / "serve"),
    }
