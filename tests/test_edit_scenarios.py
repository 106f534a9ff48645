"""Golden scenarios: a file's bytes before, one tool call, the exact bytes after (and after undo).

Each scenario runs the way the agent does it: the tool proposes a ChangeSet, `apply_changeset`
writes it with a checkpoint, and undo must bring back the original bytes and mode.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import v4code.assets
from v4code.edits.apply import apply_changeset
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.undo import undo_last
from v4code.errors import ToolError
from v4code.toolkit import ToolContext, ToolRegistry


@dataclass(frozen=True)
class Scenario:
    name: str
    before: bytes
    tool: str
    args: dict[str, Any]
    after: bytes
    mode: int = 0o644
    path: str = "file.txt"


SCENARIOS = [
    Scenario(
        "crlf stays crlf",
        b"def f():\r\n    return 1\r\n",
        "edit_file",
        {"old_string": "    return 1\n", "new_string": "    x = 1\n    return x\n"},
        b"def f():\r\n    x = 1\r\n    return x\r\n",
    ),
    Scenario(
        "crlf file, model sends crlf too",
        b"a\r\nb\r\n",
        "edit_file",
        {"old_string": "a\r\nb", "new_string": "a\r\nc"},
        b"a\r\nc\r\n",
    ),
    Scenario(
        "tabs stay tabs",
        b"func f() {\n\tif x {\n\t\treturn\n\t}\n}\n",
        "edit_file",
        {"old_string": "\t\treturn\n", "new_string": "\t\tlog()\n\t\treturn\n"},
        b"func f() {\n\tif x {\n\t\tlog()\n\t\treturn\n\t}\n}\n",
        path="main.go",
    ),
    Scenario(
        "tab file, model indents with spaces",
        b"all:\n\tcc -o app main.c\n\tstrip app\n",
        "edit_file",
        {"old_string": "    cc -o app main.c\n", "new_string": "    cc -O2 -o app main.c\n"},
        b"all:\n\tcc -O2 -o app main.c\n\tstrip app\n",
        path="Makefile",
    ),
    Scenario(
        "latin-1 bytes survive an edit elsewhere",
        b"# caf\xe9\nname = 'Jos\xe9'\nx = 1\n",
        "edit_file",
        {"old_string": "x = 1", "new_string": "x = 2"},
        b"# caf\xe9\nname = 'Jos\xe9'\nx = 2\n",
    ),
    Scenario(
        "latin-1 text edited and encoded back as latin-1",
        b"name = 'Jos\xe9'\n",
        "edit_file",
        {"old_string": "name = 'Jos\u00e9'", "new_string": "name = 'Ren\u00e9e'"},
        b"name = 'Ren\xe9e'\n",
    ),
    Scenario(
        "utf-8 with a BOM keeps its BOM",
        b"\xef\xbb\xbfkey = 1\n",
        "edit_file",
        {"old_string": "key = 1", "new_string": "key = \u00e9t\u00e9"},
        b"\xef\xbb\xbfkey = \xc3\xa9t\xc3\xa9\n",
    ),
    Scenario(
        "no final newline stays without one",
        b"a = 1\nb = 2",
        "edit_file",
        {"old_string": "b = 2\n", "new_string": "b = 3\n"},
        b"a = 1\nb = 3",
    ),
    Scenario(
        "final newline is kept by a rewrite",
        b"old\n",
        "write_file",
        {"content": "new"},
        b"new\n",
    ),
    Scenario(
        "executable bit is kept",
        b"#!/bin/sh\necho hi\n",
        "edit_file",
        {"old_string": "echo hi", "new_string": "echo bye"},
        b"#!/bin/sh\necho bye\n",
        mode=0o755,
        path="run.sh",
    ),
    Scenario(
        "mixed line endings: each region keeps its own",
        b"a\r\nb\r\nc\nd\n",
        "apply_edits",
        {
            "edits": [
                {"path": "file.txt", "old_string": "b\n", "new_string": "b\nb2\n"},
                {"path": "file.txt", "old_string": "c\n", "new_string": "c\nc2\n"},
            ]
        },
        b"a\r\nb\r\nb2\r\nc\nc2\nd\n",
    ),
]


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([v4code.assets.tools_dir()])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, registry: ToolRegistry, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    target = root / scenario.path
    target.write_bytes(scenario.before)
    target.chmod(scenario.mode)
    tool = registry.get(scenario.tool)
    assert tool is not None
    args = dict(scenario.args)
    if scenario.tool != "apply_edits":
        args["path"] = scenario.path
    changeset = tool.run(ToolContext(root=root), tool.parse_arguments(json.dumps(args)))
    store = CheckpointStore(tmp_path / "store")
    apply_changeset(root, changeset, store, "s")
    assert target.read_bytes() == scenario.after
    assert stat.S_IMODE(target.stat().st_mode) == scenario.mode
    report = undo_last(store, root, "s")
    assert report.ok, report.render()
    assert target.read_bytes() == scenario.before
    assert stat.S_IMODE(target.stat().st_mode) == scenario.mode


def test_latin1_file_refuses_characters_it_cannot_hold(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    (tmp_path / "old.txt").write_bytes(b"caf\xe9\n")
    tool = registry.get("edit_file")
    assert tool is not None
    args = {"path": "old.txt", "old_string": "caf\u00e9", "new_string": "caf\u00e9 \u2014 \u20ac"}
    with pytest.raises(ToolError, match=r"latin-1 file .*U\+2014"):
        tool.run(ToolContext(root=tmp_path), tool.parse_arguments(json.dumps(args)))
