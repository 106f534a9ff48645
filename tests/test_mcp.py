"""MCP servers as tools: a real server (tests/mcp_server) over stdio and over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import v4code
from conftest import MCP_SERVER, http_mcp, mcp_table
from fake_api import FakeDeepSeek, text, tool_call

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, ToolError
from v4code.mcp.client import McpHub
from v4code.mcp.config import ServerConfig, load_servers, parse_server
from v4code.mcp.tools import bounded_schema, flatten_schema

SERVER = MCP_SERVER


def stdio_config(name: str = "t", **extra: object) -> ServerConfig:
    return parse_server(
        name, {"command": sys.executable, "args": [str(SERVER), "stdio"], **extra}, "user"
    )


@pytest.fixture(scope="module")
def hub() -> Iterator[McpHub]:
    started = McpHub([stdio_config(timeout=20)])
    started.start()
    assert started.wait(60)
    yield started
    started.close()


def test_listing_a_call_and_an_error(hub: McpHub) -> None:
    state = hub.servers["t"]
    assert state.status == "ready"
    assert {"echo", "add", "fail", "slow", "crash"} <= {t.name for t in state.tools}
    assert hub.call("t", "echo", {"text": "hi"}, timeout=10).text == "echo: hi"
    failed = hub.call("t", "fail", {"why": "x"}, timeout=10)
    assert failed.is_error


def test_the_api_key_never_reaches_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-secret-0123456789")
    config = stdio_config(env={"DEEPSEEK_API_KEY": "${DEEPSEEK_API_KEY}", "OTHER": "x"})
    assert "DEEPSEEK_API_KEY" not in config.env
    one = McpHub([config])
    one.start()
    try:
        assert one.wait(60)
        assert one.call("t", "env", {"name": "DEEPSEEK_API_KEY"}, timeout=10).text == "<unset>"
        assert one.call("t", "env", {"name": "OTHER"}, timeout=10).text == "x"
    finally:
        one.close()


def test_ctrl_c_abandons_a_slow_call(hub: McpHub) -> None:
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        hub.call("t", "slow", {"seconds": 30}, timeout=60, cancel=cancel)
    assert time.monotonic() - started < 20
    assert hub.call("t", "echo", {"text": "still here"}, timeout=20).text == "echo: still here"


def test_a_slow_call_times_out(hub: McpHub) -> None:
    with pytest.raises(ToolError, match="timed out"):
        hub.call("t", "slow", {"seconds": 30}, timeout=0.5)


def test_a_server_that_crashes_is_restarted_once(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    one = McpHub([stdio_config(env={"MCP_TEST_MARKER": str(marker)}, timeout=20)])
    one.start()
    try:
        assert one.wait(60)
        with pytest.raises(ToolError, match="restarted"):
            one.call("t", "crash", {}, timeout=20)
        assert one.call("t", "echo", {"text": "back"}, timeout=60).text == "echo: back"
        assert marker.read_text().count("start") == 2
        with pytest.raises(ToolError):
            one.call("t", "crash", {}, timeout=20)
        assert one.wait(30)
        assert one.servers["t"].status == "failed"
    finally:
        one.close()


def test_a_streamable_http_server(tmp_path: Path) -> None:
    with http_mcp() as url:
        config = parse_server("web", {"url": url, "headers": {"X-T": "1"}}, "user")
        one = McpHub([config])
        one.start()
        try:
            assert one.wait(60)
            assert one.servers["web"].status == "ready", one.servers["web"].error
            assert one.call("web", "add", {"a": 2, "b": 3}, timeout=20).text == "5"
        finally:
            one.close()


def test_schemas_are_flattened_for_function_calling() -> None:
    schema = {
        "type": "object",
        "title": "args",
        "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "properties": {"p": {"$ref": "#/$defs/P"}, "loop": {"$ref": "#/$defs/Missing"}},
    }
    flat = flatten_schema(schema)
    assert "$defs" not in json.dumps(flat) and "$ref" not in json.dumps(flat)
    assert flat["properties"]["p"]["properties"]["x"] == {"type": "integer"}
    assert "title" not in flat


@pytest.mark.parametrize("depth", [24, 64])
def test_a_ref_fan_out_is_simplified_and_one_too_big_anyway_left_out(depth: int) -> None:
    sys.path.insert(0, str(SERVER.parent))
    try:
        from server import fanout_schema  # the test server's own schema
    finally:
        sys.path.remove(str(SERVER.parent))
    schema, notice = bounded_schema("t__deep", fanout_schema(depth))
    assert schema is not None and len(json.dumps(schema)) < 32_000
    assert notice is not None and "t__deep" in notice
    huge = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    assert bounded_schema("t__wide", huge)[0] is None


def write_user_config(home: Path, body: str) -> None:
    (home / "config.toml").write_text(body)


def run_v4code(root: Path, base_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return v4code(root, *args, base_url=base_url, timeout=180)


def test_run_full_auto_denies_a_tool_not_in_allow(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    write_user_config(v4code_home, mcp_table("t", timeout=30))
    fake_api.load([tool_call("t__echo", text="hello"), text("done")])
    result = run_v4code(
        workspace, fake_api.base_url, "run", "--permission-mode", "full-auto", "say hi"
    )
    assert result.returncode != 0
    tool_message = fake_api.chat_requests[1].body["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "allow list" in tool_message["content"]
    assert "echo: hello" not in tool_message["content"]


def test_run_calls_an_allowed_tool_with_a_stable_prefix(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    write_user_config(v4code_home, mcp_table("t", allow=["t__*"], timeout=30))
    fake_api.load(
        [
            tool_call("t__echo", text="hello"),
            tool_call("t__add", a=2, b=40),
            text("done"),
        ]
    )
    result = run_v4code(
        workspace, fake_api.base_url, "run", "--permission-mode", "full-auto", "say hi"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    bodies = [r.body for r in fake_api.chat_requests]
    assert len(bodies) == 3
    names = [t["function"]["name"] for t in bodies[0]["tools"]]
    assert "t__echo" in names and "t__add" in names
    for earlier, later in zip(bodies, bodies[1:], strict=False):
        assert json.dumps(later["tools"]) == json.dumps(earlier["tools"])
        prefix = later["messages"][: len(earlier["messages"])]
        assert json.dumps(prefix) == json.dumps(earlier["messages"])
    assert bodies[1]["messages"][-1]["content"] == "echo: hello"
    assert bodies[2]["messages"][-1]["content"] == "42"


def test_ask_mode_asks_before_an_mcp_call(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    from v4code.app import open_session
    from v4code.config import load_settings
    from v4code.events import ToolFinished
    from v4code.mcp.session import close_hub
    from v4code.protocols import Approval, ApprovalRequest

    write_user_config(v4code_home, mcp_table("t", timeout=30))
    asked: list[ApprovalRequest] = []

    class Yes:
        def decide(self, request: ApprovalRequest) -> Approval:
            asked.append(request)
            return Approval(allowed=True)

    settings = load_settings(workspace).settings.replace(
        base_url=fake_api.base_url, api_key="sk-test", permission_mode="ask", max_retries=0
    )
    fake_api.load([tool_call("t__echo", text="yo"), text("done")])
    try:
        agent = open_session(settings, workspace, Yes()).agent
        events = list(agent.submit("go"))
    finally:
        close_hub()
    assert [r.tool for r in asked] == ["t__echo"]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert finished[0].result.text == "echo: yo"
    assert finished[0].summary is not None and finished[0].summary.label.startswith("t: echo")


def test_help_does_not_import_mcp_or_start_servers(workspace: Path, v4code_home: Path) -> None:
    marker = workspace / "started"
    body = mcp_table("t", timeout=30, env={"MCP_TEST_MARKER": str(marker)})
    write_user_config(v4code_home, body)
    for flag in ("--help", "--version"):
        result = v4code(workspace, flag, python_flags=("-X", "importtime"), timeout=60)
        assert result.returncode == 0
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
        assert "mcp" not in imported and "v4code.mcp" not in imported
    assert not marker.exists()


def test_a_project_server_needs_trust(workspace: Path) -> None:
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text(
        mcp_table("proj", allow=["proj__*", "x__*"], timeout=30)
    )
    assert load_servers(workspace).servers == ()
    from v4code.safety.trust import grant

    grant(workspace)
    servers = load_servers(workspace).servers
    assert [s.name for s in servers] == ["proj"]
    assert servers[0].allow == ("proj__*",)


def test_at_most_128_tools_in_a_fixed_order_and_a_message_for_the_rest() -> None:
    from v4code.mcp.client import RemoteTool
    from v4code.mcp.tools import register_tools
    from v4code.toolkit import MAX_TOOLS, ToolRegistry

    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    hub = McpHub([stdio_config("b"), stdio_config("a")])
    for state in hub.servers.values():
        state.status = "ready"
        state.tools = tuple(
            RemoteTool(state.name, f"t{i:03d}", "", schema) for i in reversed(range(100))
        )
    hub.servers["a"].tools += (RemoteTool("a", "x" * 70, "", schema),)
    registry = ToolRegistry()
    allowed, notices = register_tools(registry, hub)
    assert len(registry) == MAX_TOOLS
    assert registry.names()[:3] == ["a__t000", "a__t001", "a__t002"]
    assert "b__t027" in registry.names() and "b__t028" not in registry.names()
    assert any("at most 128 tools: left out 72 MCP tools (b__t028" in n for n in notices)
    assert any("x" * 70 in n and "not a valid" in n for n in notices)
    assert allowed == []


def test_mcp_reload_adds_a_server_to_a_running_session(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    import io

    from rich.console import Console

    from v4code.app import open_session
    from v4code.config import load_settings
    from v4code.mcp.session import close_hub
    from v4code.protocols import Approval, ApprovalRequest
    from v4code.ui.slash import dispatch

    class No:
        def decide(self, request: ApprovalRequest) -> Approval:
            return Approval(allowed=False)

    settings = load_settings(workspace).settings.replace(
        base_url=fake_api.base_url, api_key="sk-test", permission_mode="full-auto"
    )
    agent = open_session(settings, workspace, No()).agent
    assert not any("__" in name for name in agent.registry.names())
    write_user_config(v4code_home, mcp_table("t", timeout=30))

    class ChatLike:
        root = workspace
        console = Console(file=io.StringIO(), width=120)

        def say(self, text: str, style: str | None = None) -> None:
            self.console.print(text, markup=False)

    chat = ChatLike()
    chat.agent = agent  # type: ignore[attr-defined]
    try:
        dispatch(chat, "/mcp reload")
        shown = chat.console.file.getvalue()  # type: ignore[attr-defined]
        assert "cannot use the prompt cache" in shown
        assert "t                ready · 8/8 tools in this session" in shown
        names = [t["function"]["name"] for t in agent.request().tools]
        assert "t__echo" in names
        fake_api.load([tool_call("t__echo", text="x"), text("done")])
        list(agent.submit("go"))
        # full-auto, not in allow: a person is asked (and here says no), as in `run`
        assert "denied" in fake_api.chat_requests[1].body["messages"][-1]["content"]
    finally:
        close_hub()


def test_mcp_list_shows_a_servers_own_text_on_its_line(v4code_home: Path) -> None:
    """A server's tool description cannot drive the terminal or forge a line in the listing."""
    from click.testing import CliRunner

    from v4code.cli import main

    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "mcp",
            "add",
            "t",
            "--env",
            "MCP_TEST_HOSTILE=1",
            "--",
            sys.executable,
            str(SERVER),
            "stdio",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["mcp", "list"])
    assert listed.exit_code == 0, listed.output
    assert "t__sneaky" in listed.output and "Looks fine" in listed.output
    assert "\x1b" not in listed.output and "\x07" not in listed.output
    assert not any(line.startswith("SYSTEM") for line in listed.output.splitlines())


def test_mcp_list_exits_1_when_a_server_did_not_start(v4code_home: Path) -> None:
    from click.testing import CliRunner

    from v4code.cli import main

    runner = CliRunner()
    good = ["mcp", "add", "t", "--", sys.executable, str(SERVER), "stdio"]
    assert runner.invoke(main, good).exit_code == 0
    bad = ["mcp", "add", "broken", "--", sys.executable, "-c", "raise SystemExit(3)"]
    assert runner.invoke(main, bad).exit_code == 0
    listed = runner.invoke(main, ["mcp", "list", "--wait", "20"])
    assert listed.exit_code == 1, listed.output
    assert "broken (user, stdio) failed" in listed.output and "t__echo" in listed.output
    assert "not ready: broken" in listed.output
    assert runner.invoke(main, ["mcp", "remove", "broken"]).exit_code == 0
    assert runner.invoke(main, ["mcp", "list", "--wait", "20"]).exit_code == 0


def test_mcp_allow_changes_the_allow_list_only(workspace: Path, v4code_home: Path) -> None:
    """`mcp allow` edits the server's table where it is: other keys keep their quotes and comments."""
    from click.testing import CliRunner

    from v4code.cli import main
    from v4code.config import user_config_path

    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    before = (
        "[mcp.servers.web]\n"
        "# the one from the team wiki\n"
        "command = '/usr/bin/true'   # pinned\n"
        "args = ['--stdio']\n"
        "allow = ['web__get']\n"
        "\n"
        "[profiles.gpu]\n"
        "model = 'm'\n"
    )
    path.write_text(before)
    result = CliRunner().invoke(main, ["mcp", "allow", "web", "list_*"])
    assert result.exit_code == 0, result.output
    after = path.read_text()
    assert after == before.replace("allow = ['web__get']", 'allow = ["web__get", "web__list_*"]')


def test_reinstalling_mcp_tools_keeps_a_project_tool_whose_name_has_the_separator(
    tmp_path: Path,
) -> None:
    """Only tools an MCP server declared are taken out before a reinstall: a project's own
    tool called `db__query` (a plain Python signature) stays in the list."""
    from v4code.mcp.config import LoadedServers
    from v4code.mcp.session import McpSession
    from v4code.safety.permissions import PermissionPolicy
    from v4code.toolkit import Tool, ToolRegistry

    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "db.py").write_text(
        "from v4code.toolkit import ToolContext, tool\n\n\n"
        "@tool(risk='read')\n"
        "def db__query(ctx: ToolContext, sql: str) -> str:\n"
        '    """Run a query."""\n'
        "    return sql\n"
    )
    registry = ToolRegistry.load([tools])
    registry.add(Tool.from_schema("old__tool", "An earlier server's.", {"type": "object"}, print))
    session = McpSession(tmp_path, PermissionPolicy("ask"), None, LoadedServers(()))
    session.install(registry)
    assert registry.names() == ["db__query"]


def test_a_server_still_starting_is_named_with_the_setting_that_waits_longer(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """The first request went without the server's tools: the notice says how long it waited
    and which setting makes it wait longer, so the user can tell a slow start from a bug."""
    write_user_config(v4code_home, mcp_table("t", allow=["t__*"], timeout=30))
    fake_api.load([text("done")])
    result = v4code(
        workspace, "run", "say hi", server=fake_api, env={"V4CODE_MCP_STARTUP_WAIT": "0"}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = [t["function"]["name"] for t in fake_api.chat_requests[0].body["tools"]]
    assert "t__echo" not in names
    notice = next(line for line in result.stderr.splitlines() if "MCP server t " in line)
    assert "still starting after 0 s" in notice and "mcp_startup_wait" in notice
