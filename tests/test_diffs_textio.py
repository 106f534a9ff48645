"""One binary sniff and one diff writer: every part of v4code agrees on both."""

from __future__ import annotations

from pathlib import Path

import pytest
from tool_harness import propose

from v4code.diffs import unified_diff
from v4code.edits.changeset import FileChange
from v4code.edits.undo import _diff as undo_conflict_diff
from v4code.errors import ToolError
from v4code.textio import binary_kind, display_text, is_binary

# No NUL byte, not UTF-8, mostly control bytes: binary, and every reader must say so.
CONTROLS = bytes([1, 2, 3, 0x81, 0x82, 0x90, 0x9F, 4]) * 200


def test_the_verdict_is_the_same_everywhere(tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(CONTROLS + b"abc")
    assert binary_kind(CONTROLS) == "binary data" and is_binary(CONTROLS)
    with pytest.raises(ToolError, match="binary"):
        propose("read_file", tmp_path, path="blob.dat")
    with pytest.raises(ToolError, match=r"binary file \(binary data\)"):
        propose("edit_file", tmp_path, path="blob.dat", old_string="abc", new_string="x")
    change = FileChange("blob.dat", CONTROLS, CONTROLS + b"x")
    assert change.binary and change.unified_diff() == "Binary file blob.dat modified (1601 bytes)\n"


def test_text_stays_text() -> None:
    for text in ("plain\n", "Grüße\n", "tab\tand form feed\f\n", "ünïcödé " * 500):
        assert not is_binary(text.encode("utf-8"))
    assert not is_binary("Grüße\n".encode("latin-1"))
    assert not is_binary(b"") and not is_binary(None)
    assert display_text("hé\n".encode("utf-16")) == "hé\n"


def test_utf16_files_are_not_edited(tmp_path: Path) -> None:
    (tmp_path / "win.txt").write_bytes("hello\n".encode("utf-16"))
    with pytest.raises(ToolError, match="UTF-16"):
        propose("edit_file", tmp_path, path="win.txt", old_string="hello", new_string="x")


def test_git_shaped_diffs() -> None:
    assert unified_diff("a.py", b"one\ntwo", b"one\nthree\n") == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n one\n-two\n"
        "\\ No newline at end of file\n+three\n"
    )
    assert unified_diff("n.py", None, b"x\n").startswith("--- /dev/null\n+++ b/n.py\n")
    assert unified_diff("n.py", b"x\n", None).startswith("--- a/n.py\n+++ /dev/null\n")
    # A form feed is part of a line, not a line break.
    assert unified_diff("f.txt", b"a\fb\n", b"a\fc\n").count("\n") == 5


def test_every_caller_writes_the_same_shape() -> None:
    before, after = b"x = 1\n", b"x = 2\n"
    expected = unified_diff("m.py", before, after)
    assert FileChange("m.py", before, after).unified_diff() == expected
    conflict = undo_conflict_diff("m.py", before, after)
    assert conflict.splitlines()[2:] == expected.splitlines()[2:]
    assert conflict.startswith("--- a/m.py (as v4code wrote it)\n+++ b/m.py (now)\n")


def test_a_line_guard_breaks_a_leading_double_colon_however_the_writes_fall() -> None:
    import io

    from v4code.workflow_commands import BREAK, LineGuard

    text = "ok\n::add-mask::x\n  ::error::y\n:\n: not\nmid :: line\n::"
    for size in (1, 2, 3, len(text)):
        inner = io.StringIO()
        guard = LineGuard(inner)  # type: ignore[arg-type]
        for i in range(0, len(text), size):
            guard.write(text[i : i + size])
        guard.flush()
        shown = inner.getvalue()
        assert shown == (
            f"ok\n{BREAK}add-mask::x\n  {BREAK}error::y\n:\n: not\nmid :: line\n{BREAK}"
        )
        assert not [line for line in shown.splitlines() if line.lstrip().startswith("::")]
