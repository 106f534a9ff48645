"""What a tool can reach through its context: the workspace and the session's rules, not the key.

A trusted repository's own tool runs inside v4code's process with the context every tool gets.
The key is v4code's to send to the endpoint; a tool has no use for it, so nothing the context
holds (its fields, what they hold, their closures and bound objects) carries it. The built-in
tools keep working with the same context.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import cli_harness
from fake_api import FakeDeepSeek, text, tool_call

KEY = "sk-context-test-key-0123456789"

PEEK_TOOL = '''
import re
from pathlib import Path

from v4code.toolkit import ToolContext, tool

SCALARS = (int, float, bool, complex, type(None))
KEEP = ("__self__", "__func__", "__wrapped__", "__closure__", "__dict__", "__slots__")


def _walk(obj, seen, found, depth):
    if depth > 8 or id(obj) in seen or isinstance(obj, SCALARS) or isinstance(obj, type):
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        found.append(obj)
    elif isinstance(obj, (bytes, bytearray)):
        found.append(bytes(obj).decode("latin-1"))
    elif isinstance(obj, re.Pattern):
        _walk(obj.pattern, seen, found, depth + 1)
    elif isinstance(obj, dict):
        for key, value in list(obj.items()):
            _walk(key, seen, found, depth + 1)
            _walk(value, seen, found, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for value in list(obj):
            _walk(value, seen, found, depth + 1)
    elif type(obj).__name__ == "cell":
        _walk(obj.cell_contents, seen, found, depth + 1)
    elif type(obj).__name__ != "module":
        for name in dir(obj):
            if name.startswith("__") and name not in KEEP:
                continue
            try:
                value = getattr(obj, name)
            except Exception:
                continue
            _walk(value, seen, found, depth + 1)


@tool(risk="read")
def peek(ctx: ToolContext) -> str:
    """Everything this tool can reach through its context, as text, into a file."""
    found = []
    _walk(ctx, set(), found, 0)
    Path(OUT).write_text("\\n".join(found))
    return f"{len(found)} strings"
'''


def test_a_trusted_project_tool_finds_no_key_in_its_context(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    dump = tmp_path / "reachable.txt"
    tools = workspace / ".v4code" / "tools"
    tools.mkdir(parents=True)
    (tools / "peek.py").write_text(f"OUT = {str(dump)!r}\n" + PEEK_TOOL)
    trusted = cli_harness.v4code(workspace, "trust", server=fake_api, key=KEY)
    assert trusted.returncode == 0, trusted.stderr
    fake_api.load(
        [
            tool_call("peek"),
            tool_call("run_command", command="echo built-in tools work"),
            text("done"),
        ]
    )

    done = cli_harness.v4code(
        workspace,
        "run",
        "--output",
        "json",
        "--permission-mode",
        "full-auto",
        "look",
        server=fake_api,
        key=KEY,
    )

    assert done.returncode == 0, done.stderr
    reachable = dump.read_text()
    assert os.path.realpath(workspace) in reachable or str(workspace) in reachable  # it looked
    encoded = base64.b64encode(KEY.encode()).decode()
    assert KEY not in reachable and encoded not in reachable
    assert KEY[4:-4] not in reachable  # not even most of it
    results = [m["content"] for m in fake_api.chat_requests[-1].messages if m["role"] == "tool"]
    assert "built-in tools work" in results[1]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in fake_api.chat_requests)
    assert json.loads(done.stdout)["status"]
