"""read_file, loaded and called exactly as the agent does it."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from tool_harness import builtin_registry, run_tool

from v4code import assets
from v4code.errors import ToolError, WorkspaceError
from v4code.toolkit import ToolContext, ToolRegistry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([assets.tools_dir()])


def test_loading_never_creates_a_top_level_tools_module(registry: ToolRegistry) -> None:
    assert "read_file" in registry.names()
    assert "tools" not in sys.modules


def test_whole_file_with_cat_n_line_numbers(workspace: Path) -> None:
    (workspace / "app.py").write_text("import os\n\nprint(os.getcwd())\n")
    out = run_tool("read_file", workspace, path="app.py")
    assert out.text == "     1\timport os\n     2\t\n     3\tprint(os.getcwd())"
    assert out.data == {"path": "app.py", "start": 1, "end": 3, "total_lines": 3}
    assert not out.is_error


def test_range_says_how_to_continue(workspace: Path) -> None:
    (workspace / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    out = run_tool("read_file", workspace, path="n.txt", offset=3, limit=2)
    assert out.text.splitlines() == [
        "     3\tline 3",
        "     4\tline 4",
        "... 6 more lines; call again with offset=5 to continue",
    ]
    assert out.data == {"path": "n.txt", "start": 3, "end": 4, "total_lines": 10}
    last = run_tool("read_file", workspace, path="n.txt", offset=9)
    assert last.text.splitlines() == ["     9\tline 9", "    10\tline 10"]


def test_file_without_final_newline_and_crlf(workspace: Path) -> None:
    (workspace / "w.txt").write_bytes(b"one\r\ntwo\r\nthree")
    out = run_tool("read_file", workspace, path="w.txt")
    assert out.text == "     1\tone\n     2\ttwo\n     3\tthree"


def test_bad_offsets_are_refused(workspace: Path) -> None:
    (workspace / "n.txt").write_text("a\nb\n")
    with pytest.raises(ToolError, match="past the end of n.txt, which has 2 lines"):
        run_tool("read_file", workspace, path="n.txt", offset=5)
    with pytest.raises(ToolError, match="offset must be 1 or more"):
        run_tool("read_file", workspace, path="n.txt", offset=0)
    with pytest.raises(ToolError, match="limit must be 1 or more"):
        run_tool("read_file", workspace, path="n.txt", limit=0)
    with pytest.raises(ToolError, match="Invalid arguments for read_file: offset"):
        run_tool("read_file", workspace, path="n.txt", offset="first")


def test_empty_file(workspace: Path) -> None:
    (workspace / "empty.py").write_text("")
    out = run_tool("read_file", workspace, path="empty.py")
    assert out.text == "[empty.py is empty]"
    assert out.data["total_lines"] == 0


def test_long_lines_are_cut_with_a_marker(workspace: Path) -> None:
    (workspace / "min.js").write_text("x" * 5000 + "\nshort\n")
    out = run_tool("read_file", workspace, path="min.js")
    first, second = out.text.splitlines()
    assert first.startswith("     1\t" + "x" * 2000 + "… [line cut: 5,000 characters in all]")
    assert second == "     2\tshort"


def test_output_budget_stops_at_a_whole_line(workspace: Path) -> None:
    (workspace / "big.txt").write_text(
        "".join(f"{i:04d} " + "y" * 95 + "\n" for i in range(1, 501))
    )
    out = run_tool("read_file", ToolContext(root=workspace, output_cap=5000), path="big.txt")
    assert len(out.text) <= 5000
    end = out.data["end"]
    assert 10 < end < 500
    assert out.text.endswith(
        f"... {500 - end} more lines (output size limit reached); "
        f"call again with offset={end + 1} to continue"
    )
    nxt = run_tool(
        "read_file", ToolContext(root=workspace, output_cap=5000), path="big.txt", offset=end + 1
    )
    assert nxt.text.startswith(f"{end + 1:>6}\t{end + 1:04d} ")


def test_binary_file_refused_with_type_and_size(workspace: Path) -> None:
    (workspace / "logo.png").write_bytes(PNG)
    with pytest.raises(ToolError) as info:
        run_tool("read_file", workspace, path="logo.png")
    assert f"logo.png is a binary file (PNG image, {len(PNG):,} bytes)" in str(info.value)
    (workspace / "blob.dat").write_bytes(b"abc\x00def" * 100)
    with pytest.raises(ToolError, match=r"blob.dat is a binary file \(binary data, 700 bytes\)"):
        run_tool("read_file", workspace, path="blob.dat")


def test_latin1_and_utf16_are_decoded_with_a_note(workspace: Path) -> None:
    (workspace / "old.txt").write_bytes("café\nniño\n".encode("latin-1"))
    out = run_tool("read_file", workspace, path="old.txt")
    assert out.text.splitlines() == [
        "[old.txt is not valid UTF-8; shown decoded as Latin-1]",
        "     1\tcafé",
        "     2\tniño",
    ]
    (workspace / "win.txt").write_bytes("hello\nwörld\n".encode("utf-16"))
    out = run_tool("read_file", workspace, path="win.txt")
    assert out.text.splitlines()[1:] == ["     1\thello", "     2\twörld"]


def test_utf8_bom_is_not_shown(workspace: Path) -> None:
    (workspace / "bom.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    assert run_tool("read_file", workspace, path="bom.py").text == "     1\tx = 1"


def test_directory_points_to_list_files(workspace: Path) -> None:
    (workspace / "src").mkdir()
    with pytest.raises(ToolError, match=r"src is a directory.*list_files\(path='src'\)"):
        run_tool("read_file", workspace, path="src")


def test_missing_file(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        run_tool("read_file", workspace, path="nope.py")


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "src/../../secret.txt"])
def test_paths_outside_the_workspace_are_refused(workspace: Path, path: str) -> None:
    (workspace.parent / "secret.txt").write_text("password\n")
    (workspace / "src").mkdir()
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        run_tool("read_file", workspace, path=path)


def test_symlink_inside_pointing_outside_is_refused(workspace: Path) -> None:
    (workspace.parent / "secret.txt").write_text("password\n")
    (workspace / "link.txt").symlink_to(workspace.parent / "secret.txt")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        run_tool("read_file", workspace, path="link.txt")
    (workspace / "inner.txt").write_text("fine\n")
    (workspace / "ok.txt").symlink_to(workspace / "inner.txt")
    assert run_tool("read_file", workspace, path="ok.txt").text == "     1\tfine"


def test_fifo_is_refused_without_blocking(workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    result: list[BaseException] = []

    def attempt() -> None:
        try:
            run_tool("read_file", workspace, path="pipe")
        except ToolError as exc:
            result.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5)
    assert result and "not a regular file" in str(result[0])


def test_huge_file_is_read_by_range(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = builtin_registry().get("read_file")
    assert tool is not None
    monkeypatch.setitem(tool.fn.__globals__, "WHOLE_FILE_BYTES", 10_000)
    (workspace / "huge.log").write_text("".join(f"entry {i}\n" for i in range(1, 5001)))
    out = run_tool("read_file", workspace, path="huge.log", offset=4000, limit=3)
    lines = out.text.splitlines()
    assert lines[0].startswith("[huge.log is large (")
    assert lines[1:] == [
        "  4000\tentry 4000",
        "  4001\tentry 4001",
        "  4002\tentry 4002",
        "... the file continues; call again with offset=4003 to continue",
    ]
    assert out.data == {"path": "huge.log", "start": 4000, "end": 4002, "total_lines": None}
    tail = run_tool("read_file", workspace, path="huge.log", offset=4999)
    assert tail.text.splitlines()[1:] == ["  4999\tentry 4999", "  5000\tentry 5000"]
    with pytest.raises(ToolError, match="past the end"):
        run_tool("read_file", workspace, path="huge.log", offset=6000)


def test_huge_single_line_never_loaded_whole(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = builtin_registry().get("read_file")
    assert tool is not None
    monkeypatch.setitem(tool.fn.__globals__, "WHOLE_FILE_BYTES", 10_000)
    (workspace / "one.json").write_text("[" + "1," * 1_000_000 + "1]\nnext\n")
    out = run_tool("read_file", workspace, path="one.json")
    lines = out.text.splitlines()
    assert lines[1].endswith("… [line cut: 2,000,003 bytes in all]")
    assert len(lines[1]) < 2100
    assert lines[2] == "     2\tnext"
