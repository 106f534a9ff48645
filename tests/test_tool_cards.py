"""The bundled tools' schemas come from their cards; a module is imported when its tool is
first needed, and a card holds only for the bytes it was made from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from v4code.assets import tools_dir
from v4code.tool_cards import ToolCards
from v4code.toolkit import Invocation, ToolRegistry
from v4code.types import ToolCall

TOOL = '''
from pathlib import Path

from v4code.toolkit import ToolContext, tool

Path(__file__).with_suffix(".imported").write_text("yes")


@tool()
def {name}(ctx: ToolContext, text: str) -> str:
    """{doc}

    Args:
        text: Some text.
    """
    return text
'''


def write_tool(folder: Path, name: str, doc: str = "Echo.") -> Path:
    path = folder / f"{name}.py"
    path.write_text(TOOL.format(name=name, doc=doc))
    return path


def forget(folder: Path) -> None:
    """A new process: no tool module of `folder` imported yet."""
    for name, module in list(sys.modules.items()):
        if name.startswith("v4code._tools.") and Path(module.__file__ or "/").parent == folder:
            del sys.modules[name]


def imported(path: Path) -> bool:
    marker = path.with_suffix(".imported")
    found = marker.exists()
    marker.unlink(missing_ok=True)
    return found


def test_cards_give_the_same_registry_without_importing(tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    echo, shout = write_tool(folder, "echo"), write_tool(folder, "shout")
    cards_file = tmp_path / "cards.json"
    first = ToolRegistry.load([folder], cards=ToolCards(cards_file))
    assert imported(echo) and imported(shout) and cards_file.exists()

    forget(folder)
    again = ToolRegistry.load([folder], cards=ToolCards(cards_file))
    assert not imported(echo) and not imported(shout)
    assert again.names() == first.names() == ["echo", "shout"]
    assert again.schemas() == first.schemas()

    prepared = again.prepare(ToolCall("c1", "echo", '{"text": "hi"}'))
    assert imported(echo) and not imported(shout)
    assert isinstance(prepared, Invocation) and prepared.args == {"text": "hi"}


def test_a_changed_module_is_read_again(tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    echo = write_tool(folder, "echo")
    cards_file = tmp_path / "cards.json"
    ToolRegistry.load([folder], cards=ToolCards(cards_file))
    imported(echo)
    forget(folder)
    write_tool(folder, "echo", doc="Echo, changed.")
    registry = ToolRegistry.load([folder], cards=ToolCards(cards_file))
    assert imported(echo)
    assert registry.schemas()[0]["function"]["description"] == "Echo, changed."


def test_a_broken_cards_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    cards_file = tmp_path / "cards.json"
    cards_file.write_text("{not json")
    eager = ToolRegistry.load([tools_dir()])
    carded = ToolRegistry.load([tools_dir()], cards=ToolCards(cards_file))
    assert carded.schemas() == eager.schemas()
    assert json.loads(cards_file.read_text())["modules"]
    again = ToolRegistry.load([tools_dir()], cards=ToolCards(cards_file))
    assert again.schemas() == eager.schemas()
    assert [t.risk for t in again] == [t.risk for t in eager]


def test_setting_up_mcp_tools_imports_no_tool_module(tmp_path: Path) -> None:
    """A session with MCP servers adds their tools at its first turn: the bundled tools stay
    known by their cards, and only an earlier install's MCP tools are taken out."""
    from v4code.mcp.config import LoadedServers
    from v4code.mcp.session import McpSession
    from v4code.safety.permissions import PermissionPolicy
    from v4code.toolkit import Tool

    folder = tmp_path / "tools"
    folder.mkdir()
    echo = write_tool(folder, "echo")
    cards_file = tmp_path / "cards.json"
    ToolRegistry.load([folder], cards=ToolCards(cards_file))
    imported(echo)
    forget(folder)
    registry = ToolRegistry.load([folder], cards=ToolCards(cards_file))
    schema = {"type": "object", "properties": {}}
    registry.add(Tool.from_schema("docs__search", "Search.", schema, lambda ctx: "", risk="read"))
    mcp = McpSession(tmp_path, PermissionPolicy("ask"), None, LoadedServers(()))
    assert mcp.install(registry) == []
    assert registry.names() == ["echo"]
    assert not imported(echo)
