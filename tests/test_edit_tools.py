"""The edit tools as the agent runs them: registry -> parse -> run -> ChangeSet -> apply."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from tool_harness import propose_changes

import v4code.assets
from v4code.edits.apply import apply_changeset
from v4code.edits.checkpoints import CheckpointStore
from v4code.errors import ToolError
from v4code.toolkit import ToolRegistry

EDIT_TOOLS = ("apply_edits", "delete_file", "edit_file", "move_file", "write_file")


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([v4code.assets.tools_dir()], only=EDIT_TOOLS)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def store(tmp_path: Path) -> CheckpointStore:
    return CheckpointStore(tmp_path / "checkpoints")


def test_every_edit_tool_is_registered_with_risk_edit(registry: ToolRegistry) -> None:
    assert registry.names() == sorted(EDIT_TOOLS)
    assert {t.risk for t in registry} == {"edit"}


def test_apply_edits_schema_is_clean(registry: ToolRegistry) -> None:
    tool = registry.get("apply_edits")
    assert tool is not None
    params = tool.schema["function"]["parameters"]
    assert params["required"] == ["edits"]
    assert params["additionalProperties"] is False
    assert params["properties"]["edits"]["items"] == {"$ref": "#/$defs/EditSpec"}
    spec = params["$defs"]["EditSpec"]
    assert list(spec["properties"]) == ["path", "old_string", "new_string", "replace_all"]
    assert spec["required"] == ["path", "old_string", "new_string"]
    assert spec["additionalProperties"] is False
    assert "title" not in json.dumps(params)
    with pytest.raises(ToolError, match="edits.0.colour"):
        tool.parse_arguments(
            json.dumps({"edits": [{"path": "a", "old_string": "", "new_string": "", "colour": 1}]})
        )


def test_edit_file_returns_a_proposal_and_writes_nothing(
    root: Path, store: CheckpointStore
) -> None:
    (root / "src").mkdir()
    target = root / "src" / "app.py"
    target.write_text("def main():\n    return 1\n")
    cs = propose_changes(
        "edit_file", root, path="src/app.py", old_string="return 1", new_string="return 2"
    )
    assert target.read_text() == "def main():\n    return 1\n"  # a proposal, not a write
    (change,) = cs.changes
    assert change.path == "src/app.py"
    assert change.before == b"def main():\n    return 1\n"
    assert change.after == b"def main():\n    return 2\n"
    assert cs.summary == "Edited src/app.py (1 replacement, line 2)."
    mode = stat.S_IMODE(target.stat().st_mode)
    assert cs.as_data() == [
        {
            "path": "src/app.py",
            "status": "modified",
            "diff": "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,2 @@\n def main():\n"
            "-    return 1\n+    return 2\n",
            "additions": 1,
            "deletions": 1,
            "binary": False,
            "mode_before": mode,
            "mode_after": mode,
        }
    ]
    batch = apply_changeset(root, cs, store, "s1")
    assert target.read_text() == "def main():\n    return 2\n"
    assert [b.id for b in store.list_batches(root, "s1")] == [batch]


def test_edit_file_failure_tells_the_model_where_to_look(root: Path) -> None:
    (root / "a.py").write_text("x = 1\ny = 2\nz = 3\n")
    with pytest.raises(ToolError) as err:
        propose_changes("edit_file", root, path="a.py", old_string="x = 1\ny = 5\n", new_string="q")
    message = str(err.value)
    assert message.startswith("a.py: old_string was not found in a.py")
    assert "lines 1-2" in message
    assert "The file was not changed." in message


def test_edit_file_creates_a_missing_file_only_with_an_empty_old_string(
    root: Path, store: CheckpointStore
) -> None:
    cs = propose_changes("edit_file", root, path="pkg/new.py", old_string="", new_string="A = 1\n")
    assert cs.summary == "Created pkg/new.py (1 line)."
    assert cs.changes[0].before is None
    apply_changeset(root, cs, store, "s1")
    assert (root / "pkg" / "new.py").read_text() == "A = 1\n"
    with pytest.raises(ToolError, match="does not exist"):
        propose_changes("edit_file", root, path="other.py", old_string="x", new_string="y")
    with pytest.raises(ToolError, match="already has content"):
        propose_changes("edit_file", root, path="pkg/new.py", old_string="", new_string="B = 2\n")


def test_edit_file_refuses_identical_strings_and_paths_outside(root: Path) -> None:
    (root / "a.txt").write_text("hello\n")
    with pytest.raises(ToolError, match="identical"):
        propose_changes("edit_file", root, path="a.txt", old_string="hello", new_string="hello")
    with pytest.raises(ToolError, match="outside the workspace"):
        propose_changes("edit_file", root, path="../escape.txt", old_string="", new_string="x")
    (root / "dir").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        propose_changes("edit_file", root, path="dir", old_string="a", new_string="b")


def test_edit_file_refuses_binary_files(root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\x00\x01abc")
    with pytest.raises(ToolError, match="binary"):
        propose_changes("edit_file", root, path="blob.bin", old_string="abc", new_string="x")


def test_apply_edits_applies_in_order_across_files(root: Path, store: CheckpointStore) -> None:
    (root / "a.py").write_text("one\ntwo\nthree\n")
    (root / "b.py").write_text("alpha\n")
    edits = [
        {"path": "a.py", "old_string": "one\n", "new_string": "ONE\n"},
        {"path": "b.py", "old_string": "alpha", "new_string": "beta"},
        {"path": "a.py", "old_string": "ONE\ntwo", "new_string": "ONE\nTWO"},  # sees edit 1
    ]
    cs = propose_changes("apply_edits", root, edits=edits)
    assert cs.paths == ("a.py", "b.py")
    assert (
        cs.summary
        == "Edited a.py (2 replacements, line 1, lines 1-2). Edited b.py (1 replacement, line 1)."
    )
    apply_changeset(root, cs, store, "s1")
    assert (root / "a.py").read_text() == "ONE\nTWO\nthree\n"
    assert (root / "b.py").read_text() == "beta\n"


def test_apply_edits_whose_third_edit_fails_writes_nothing(
    root: Path, store: CheckpointStore
) -> None:
    files = {"a.py": "a = 1\n", "b.py": "b = 1\n", "c.py": "c = 1\n"}
    for name, text in files.items():
        (root / name).write_text(text)
    edits = [
        {"path": "a.py", "old_string": "a = 1", "new_string": "a = 2"},
        {"path": "b.py", "old_string": "b = 1", "new_string": "b = 2"},
        {"path": "c.py", "old_string": "c = 9", "new_string": "c = 2"},
    ]
    with pytest.raises(ToolError) as err:
        propose_changes("apply_edits", root, edits=edits)
    message = str(err.value)
    assert message.startswith("Edit 3 of 3 (c.py): old_string was not found in c.py")
    assert "Edit 1" not in message and "Edit 2" not in message
    assert "No file was changed" in message
    assert {name: (root / name).read_text() for name in files} == files
    assert store.list_batches(root) == []


def test_apply_edits_reports_every_failed_edit(root: Path) -> None:
    (root / "a.py").write_text("a = 1\na = 1\n")
    edits = [
        {"path": "a.py", "old_string": "a = 1", "new_string": "a = 2"},
        {"path": "missing.py", "old_string": "x", "new_string": "y"},
    ]
    with pytest.raises(ToolError) as err:
        propose_changes("apply_edits", root, edits=edits)
    assert "Edit 1 of 2 (a.py): old_string occurs 2 times" in str(err.value)
    assert "Edit 2 of 2 (missing.py): missing.py does not exist" in str(err.value)


def test_apply_refuses_a_file_changed_since_the_proposal(
    root: Path, store: CheckpointStore
) -> None:
    target = root / "a.py"
    target.write_text("x = 1\n")
    cs = propose_changes("edit_file", root, path="a.py", old_string="x = 1", new_string="x = 2")
    target.write_text("x = 1  # edited by the user meanwhile\n")
    with pytest.raises(ToolError, match="a.py changed since it was read; read it again"):
        apply_changeset(root, cs, store, "s1")
    assert target.read_text() == "x = 1  # edited by the user meanwhile\n"
    assert store.list_batches(root) == []


def test_write_file_creates_directories_and_new_files(root: Path, store: CheckpointStore) -> None:
    cs = propose_changes(
        "write_file", root, path="docs/guide/intro.md", content="# Intro\n\nText.\n"
    )
    assert cs.summary == "Created docs/guide/intro.md (3 lines)."
    apply_changeset(root, cs, store, "s1")
    assert (root / "docs/guide/intro.md").read_text() == "# Intro\n\nText.\n"


def test_write_file_rewrite_keeps_line_endings_final_newline_and_mode(
    root: Path, store: CheckpointStore
) -> None:
    target = root / "run.sh"
    target.write_bytes(b"#!/bin/sh\r\necho old\r\n")
    target.chmod(0o755)
    cs = propose_changes("write_file", root, path="run.sh", content="#!/bin/sh\necho new")
    assert cs.summary == "Rewrote run.sh (2 lines; it had 2)."
    apply_changeset(root, cs, store, "s1")
    assert target.read_bytes() == b"#!/bin/sh\r\necho new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    with pytest.raises(ToolError, match="already has exactly this content"):
        propose_changes("write_file", root, path="run.sh", content="#!/bin/sh\necho new\n")


def test_move_file_keeps_content_and_mode_and_refuses_to_overwrite(
    root: Path, store: CheckpointStore
) -> None:
    src = root / "tool.sh"
    src.write_bytes(b"#!/bin/sh\n")
    src.chmod(0o750)
    (root / "taken.sh").write_text("mine\n")
    with pytest.raises(ToolError, match="taken.sh already exists"):
        propose_changes("move_file", root, src="tool.sh", dst="taken.sh")
    cs = propose_changes("move_file", root, src="tool.sh", dst="bin/tool.sh")
    assert cs.summary == "Moved tool.sh to bin/tool.sh."
    assert [c.status for c in cs.changes] == ["deleted", "added"]
    apply_changeset(root, cs, store, "s1")
    assert not src.exists()
    moved = root / "bin" / "tool.sh"
    assert moved.read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o750


def test_move_and_delete_refuse_symlinks_and_directories(root: Path) -> None:
    (root / "real.txt").write_text("x\n")
    os.symlink("real.txt", root / "link.txt")
    (root / "folder").mkdir()
    with pytest.raises(ToolError, match="symbolic link"):
        propose_changes("delete_file", root, path="link.txt")
    with pytest.raises(ToolError, match="symbolic link"):
        propose_changes("move_file", root, src="link.txt", dst="other.txt")
    with pytest.raises(ToolError, match="is a directory"):
        propose_changes("delete_file", root, path="folder")
    with pytest.raises(ToolError, match="does not exist"):
        propose_changes("delete_file", root, path="nothing.txt")


def test_delete_file(root: Path, store: CheckpointStore) -> None:
    (root / "old.txt").write_text("a\nb\n")
    cs = propose_changes("delete_file", root, path="old.txt")
    assert cs.summary == "Deleted old.txt (2 lines)."
    apply_changeset(root, cs, store, "s1")
    assert not (root / "old.txt").exists()


def test_moving_a_binary_file_proposes_a_short_note_not_a_diff(root: Path) -> None:
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    cs = propose_changes("move_file", root, src="logo.png", dst="img/logo.png")
    assert cs.unified_diff() == (
        "Binary file logo.png deleted (266 bytes)\nBinary file img/logo.png added (266 bytes)\n"
    )
    assert [d["binary"] for d in cs.as_data()] == [True, True]
