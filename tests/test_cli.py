"""The command line as a user meets it: version, help, bad input and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from cli_harness import cli_env, v4code
from click.testing import CliRunner
from fake_api import FakeDeepSeek, text, tool_call

from v4code import __version__
from v4code.cli import SUBCOMMANDS, main
from v4code.sessions import list_sessions


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"v4code, version {__version__}"
    help_text = runner.invoke(main, ["run", "--help"]).output
    for word in ("--output", "--permission-mode", "--max-cost", "Exit codes", "130"):
        assert word in help_text


def test_python_dash_m_works_and_help_imports_no_sdk(tmp_path: Path) -> None:
    code = (
        "import sys, runpy; sys.argv=['v4code','--help']\n"
        "try:\n    runpy.run_module('v4code', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print('openai' in sys.modules, 'rich' in sys.modules, 'tools' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "Usage: v4code" in out.stdout
    assert out.stdout.strip().endswith("False False False")


def test_run_without_api_key_says_how_to_set_it(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(main, ["run", "do something"])
    assert result.exit_code == 2
    assert "DEEPSEEK_API_KEY" in result.output and "config.toml" in result.output


def test_empty_task_is_a_usage_error(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(main, ["run", "-"], input="   \n")
    assert result.exit_code == 2 and "empty" in result.output


def test_bad_setting_is_a_usage_error(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("V4CODE_MAX_STEPS", "lots")
    result = CliRunner().invoke(main, ["run", "x"])
    assert result.exit_code == 2 and "max_steps" in result.output


# Modules that `--help`, `--version` and `run --help` must not import: the chat, the review,
# undo, the agent and the SDKs behind them (each costs start-up time before any output).
HEAVY = (
    "openai",
    "pydantic",
    "prompt_toolkit",
    "rich",
    "v4code.review",
    "v4code.edits",
    "v4code.commands.review",
    "v4code.commands.undo",
    "v4code.ui",
    "v4code.agent",
    "v4code.app",
)
LIGHT_INVOCATIONS = (["--help"], ["--version"], ["run", "--help"], ["-h"])


@pytest.mark.parametrize("args", LIGHT_INVOCATIONS, ids=" ".join)
def test_help_and_version_import_no_command_they_do_not_show(
    args: list[str], tmp_path: Path
) -> None:
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from v4code.cli import main\n"
        f"result = CliRunner().invoke(main, {args!r})\n"
        "print(json.dumps({'exit': result.exit_code, 'output': result.output,\n"
        "                  'modules': sorted(sys.modules)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout)
    assert seen["exit"] == 0 and seen["output"].strip()
    heavy = [
        m for m in seen["modules"] if m in HEAVY or m.startswith(tuple(f"{h}." for h in HEAVY))
    ]
    assert heavy == []


def test_a_run_imports_neither_asyncio_nor_a_language_servers_protocol_it_never_starts(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """`v4code run` drives the session without the async API, and a Python file read with
    no language server to start needs none of the protocol's types (a second of imports on
    a busy machine): each start pays only for what it uses."""
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (v4code_home / "config.toml").write_text('lsp_python = "no-such-language-server"\n')
    fake_api.load([tool_call("read_file", path="calc.py"), text("It subtracts.")])
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from v4code.cli import main\n"
        "result = CliRunner().invoke(main, ['run', 'what does add do?'])\n"
        "print(json.dumps({'exit': result.exit_code, 'output': result.output,\n"
        "                  'modules': sorted(sys.modules)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workspace,
        env=cli_env(server=fake_api),
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout)
    assert seen["exit"] == 0 and "It subtracts." in seen["output"]
    assert len(fake_api.chat_requests) == 2  # the file was read and its text sent back
    unused = ("asyncio", "lsprotocol", "cattrs")
    assert [m for m in seen["modules"] if m.split(".")[0] in unused] == []


def test_help_lists_every_command_with_its_own_help_line() -> None:
    """The lazy listing says exactly what click would say with every command loaded."""
    eager = click.Group("v4code")
    for name in SUBCOMMANDS:
        command = main.get_command(click.Context(main), name)
        assert command is not None
        eager.add_command(command, name)
    for width in (50, 80, 200):
        lazy_help = CliRunner().invoke(main, ["--help"], terminal_width=width).output
        eager_help = CliRunner().invoke(eager, ["--help"], terminal_width=width).output
        assert lazy_help.split("Commands:")[1] == eager_help.split("Commands:")[1]
    listing = CliRunner().invoke(main, ["--help"]).output.split("Commands:")[1]
    assert [line.split()[0] for line in listing.strip().splitlines()] == sorted(SUBCOMMANDS)
    for word in ("Review the staged diff", "Run TASK to completion", "Undo the last edit"):
        assert word in listing


def test_every_subcommand_runs_from_the_top_level_group(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    assert "No sessions in this workspace yet." in runner.invoke(main, ["sessions"]).output
    assert "has recorded no edits" in runner.invoke(main, ["undo", "--list"]).output
    shown = runner.invoke(main, ["config", "show"])
    assert shown.exit_code == 0 and "user file:" in shown.output and "model" in shown.output
    assert "--fail-on" in runner.invoke(main, ["review", "--help"]).output
    assert "--force" in runner.invoke(main, ["hook", "install", "--help"]).output
    unknown = runner.invoke(main, ["frobnicate"])
    assert unknown.exit_code == 2 and "No such command 'frobnicate'" in unknown.output


def test_run_cwd_works_in_that_directory(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-key-0123456789")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("V4CODE_SANDBOX", "false")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    fake_api.load([tool_call("read_file", path="README.md"), text("It is a project.")])
    result = CliRunner().invoke(main, ["run", "-C", str(workspace), "what is this?"])
    assert result.exit_code == 0 and "It is a project." in result.output
    assert "# project" in json.dumps(fake_api.chat_requests[-1].messages)
    assert len(list_sessions(workspace)) == 1 and list_sessions(elsewhere) == []


def test_continue_with_print_goes_on_from_the_latest_conversation(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    """`v4code -c -p TASK` is `v4code run --continue TASK`; a piped task with -c too."""
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-key-0123456789")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake_api.base_url)
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    nothing = runner.invoke(main, ["-c", "-p", "go on"])
    assert nothing.exit_code == 2 and "no saved session" in nothing.output
    fake_api.load([text("first answer"), text("second answer"), text("third answer")])
    assert runner.invoke(main, ["-p", "first task"]).exit_code == 0
    second = runner.invoke(main, ["-c", "-p", "second task"])
    assert second.exit_code == 0 and "second answer" in second.output, second.output
    third = runner.invoke(main, ["--continue"], input="third task\n")
    assert third.exit_code == 0 and "third answer" in third.output, third.output
    assert len(list_sessions(workspace)) == 1
    contents = [m["content"] for m in fake_api.chat_requests[-1].messages[1:]]
    assert contents == [
        "first task", "first answer", "second task", "second answer", "third task\n"
    ]  # fmt: skip
    both = runner.invoke(main, ["run", "-c", "--resume", "x", "task"])
    assert both.exit_code == 2 and "give one" in both.output
    for no_id in (["-r", "-p", "task"], ["-p", "task", "--resume"]):
        told = runner.invoke(main, no_id)
        assert told.exit_code == 2 and "needs a session ID with a task" in told.output, told.output
    assert len(list_sessions(workspace)) == 1


def test_a_mistyped_command_gets_the_nearest_name() -> None:
    for line, near in (
        (["rn"], "Did you mean 'run'?"),
        (["sesions"], "Did you mean 'sessions'?"),
        (["engine", "plna"], "Did you mean 'plan'?"),
        (["mcp", "lst"], "Did you mean 'list'?"),
    ):
        result = CliRunner().invoke(main, line)
        assert result.exit_code == 2 and near in result.output, (line, result.output)


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from _commands(sub, f"{path} {name}")


def test_every_option_of_every_command_says_what_it_does() -> None:
    bare = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in _commands(main, "v4code")
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert bare == []


def test_dash_c_means_the_directory_to_work_in_for_every_command() -> None:
    with_c = {
        path: param.opts
        for path, command in _commands(main, "v4code")
        for param in command.params
        if isinstance(param, click.Option) and "-C" in param.opts
    }
    assert {"v4code run", "v4code review", "v4code undo", "v4code map"} <= set(with_c)
    assert all("--cwd" in opts for opts in with_c.values()), with_c


COMMAND_LAYER = Path(__file__).resolve().parents[1] / "v4code"
SHARED_OPTIONS = {"-m", "--model", "--effort", "--base-url", "--dialect", "--profile"} | {
    "--permission-mode", "--max-steps", "--max-cost", "--max-time", "-C", "--cwd", "-c", "--plan"
}  # fmt: skip


def _command_sources() -> list[Path]:
    return [COMMAND_LAYER / "cli.py", *sorted((COMMAND_LAYER / "commands").glob("*.py"))]


def test_shared_options_are_declared_once_in_commands_options() -> None:
    """A command words its help for `-m` or `--profile`, but declares them through
    commands/options.py, so their names, types and meaning cannot drift apart."""
    import ast

    copied = []
    for path in _command_sources():
        if path.name == "options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "click.option":
                names = {a.value for a in node.args if isinstance(a, ast.Constant)}
                if names & SHARED_OPTIONS and names != {"--model", "model"}:  # engine plan: a size
                    copied.append(f"{path.name}:{node.lineno} {sorted(names)}")
    assert copied == []


def test_a_v4code_error_is_said_by_the_group_not_caught_in_each_command() -> None:
    import ast

    catches = [
        f"{path.name}:{node.lineno}"
        for path in _command_sources()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ExceptHandler) and "V4codeError" in ast.unparse(node.type or node)
    ]
    assert len(catches) == 2 and {c.split(":")[0] for c in catches} == {"cli.py", "review.py"}


def test_an_error_inside_a_command_is_one_line_with_its_exit_code(tmp_path: Path) -> None:
    url = ["--url", "http://127.0.0.1:9/mcp"]
    result = CliRunner().invoke(main, ["mcp", "add", "x", *url, "--env", "NOEQUALS"])
    assert (result.exit_code, result.output) == (2, "v4code: --env 'NOEQUALS' is not KEY=VALUE\n")
    hook = CliRunner().invoke(main, ["hook", "install", "-C", str(tmp_path)])
    assert hook.exit_code == 2 and hook.output.startswith("v4code hook: ")
    assert len(hook.output.splitlines()) == 1


def test_acp_without_its_sdk_says_how_to_install_it_from_a_checkout(
    workspace: Path, tmp_path: Path
) -> None:
    """v4code is not on PyPI: the hint names the extra from a checkout and the SDK's own package,
    never `pip install 'v4code[acp]'`, which would fetch whatever another project published."""
    shadow = tmp_path / "shadow"
    (shadow / "acp").mkdir(parents=True)
    (shadow / "acp" / "__init__.py").write_text("raise ImportError('no acp here')\n")
    done = v4code(workspace, "acp", env={"PYTHONPATH": str(shadow)}, stdin="")
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "'.[acp]'" in message and "agent-client-protocol" in message
    assert "v4code[acp]" not in message
