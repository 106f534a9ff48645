"""read_file: a text file with line numbers, a range at a time."""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from v4code.errors import ToolError
from v4code.textio import SNIFF_BYTES, UTF16_BOMS, binary_kind
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary
from v4code.workspace import relative_to_root

MAX_LIMIT = 2000
"""Most lines one call returns."""
MAX_LINE_CHARS = 2000
"""Longer lines are cut (minified code, data files)."""
WHOLE_FILE_BYTES = 10 * 1024 * 1024
"""Files up to this size are decoded whole and their lines counted; larger ones are read
line by line up to the requested range (so any range of a huge log can still be read)."""


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`read src/app.py 1-120` (the range once it has been read)."""
    label = f"read {args['path']}"
    if isinstance(data, dict) and data.get("end"):
        label += f" {data.get('start', 1)}-{data['end']}"
    return ToolSummary(label, paths=(args["path"],))


@tool(risk="read", summary=_summary)
def read_file(ctx: ToolContext, path: str, offset: int = 1, limit: int = 2000) -> ToolOutput:
    """Read a text file in the workspace and return its lines with line numbers.

    Each line is shown as its number, a tab, then the text (like `cat -n`). When the file has
    more lines than were shown, the output ends with the offset to continue from. Lines longer
    than 2000 characters are cut. Binary files (images, archives, executables) are refused.

    Args:
        path: Path of the file, relative to the workspace root.
        offset: Line number to start from (1 is the first line).
        limit: Maximum number of lines to return (at most 2000).
    """
    if offset < 1:
        raise ToolError(f"offset must be 1 or more (line numbers start at 1), not {offset}.")
    if limit < 1:
        raise ToolError(f"limit must be 1 or more, not {limit}.")
    limit = min(limit, MAX_LIMIT)
    real = ctx.resolve(path, must_exist=True)
    rel = relative_to_root(ctx.root, real)
    info = _check_regular(real, rel, path)
    with open(real, "rb") as f:
        head = f.read(SNIFF_BYTES)
        kind = binary_kind(head)
        if kind is not None:
            raise ToolError(
                f"{rel} is a binary file ({kind}, {info.st_size:,} bytes); read_file shows "
                "text only. Describe it from its name and size, or inspect it with a command "
                "(for example `file` or `xxd | head`) if you need its bytes."
            )
        f.seek(0)
        if info.st_size <= WHOLE_FILE_BYTES:  # as the editor has it, when one shares it
            lines, note = _decode_lines(ctx.viewed(real, f.read()), rel)
            return _render(ctx, rel, lines, offset, limit, total=len(lines), note=note, cut=True)
        if head.startswith(UTF16_BOMS):
            raise ToolError(f"{rel} is a UTF-16 file of {info.st_size:,} bytes, too large to read.")
        window, more = _stream_window(f, offset, limit)
    note = f"[{rel} is large ({info.st_size:,} bytes); its lines were not counted]"
    if not window and offset > 1:
        raise ToolError(f"offset={offset} is past the end of {rel}.")
    return _render(ctx, rel, window, offset, limit, total=None, note=note, more=more, first=offset)


def _check_regular(real: Path, rel: str, asked: str) -> os.stat_result:
    info = real.stat()
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(
            f"{asked} is a directory, not a file. Use list_files(path={rel!r}) to see its files."
        )
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(
            f"{asked} is not a regular file (a device, socket or pipe); not reading it."
        )
    return info


def _decode_lines(data: bytes, rel: str) -> tuple[list[str], str]:
    """The file's lines (split on \\n only, as editors and grep number them) and a note
    when it is not plain UTF-8."""
    note = ""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if data.startswith(UTF16_BOMS):
        try:
            text = data.decode("utf-16")
            note = f"[{rel} is UTF-16 text]"
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            note = f"[{rel} is not valid UTF-8 or UTF-16; shown decoded as Latin-1]"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            note = f"[{rel} is not valid UTF-8; shown decoded as Latin-1]"
    if not text:
        return [], note
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines, note


def _stream_window(f: BinaryIO, offset: int, limit: int) -> tuple[list[str], bool]:
    """Lines offset..offset+limit-1 of a large file, and whether more follow."""
    window: list[str] = []
    for number, (raw, size) in enumerate(_bounded_lines(f), 1):
        if number < offset:
            continue
        if len(window) == limit:
            return window, True
        try:
            line = raw.decode("utf-8", errors="ignore" if size > len(raw) else "strict")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
        if size > len(raw) or len(line) > MAX_LINE_CHARS:
            line = f"{line[:MAX_LINE_CHARS]}… [line cut: {size:,} bytes in all]"
        window.append(line)
    return window, False


def _bounded_lines(f: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """(line prefix without its newline, the line's full size in bytes): one 500 MB line
    never has to fit in memory."""
    cap = MAX_LINE_CHARS * 4
    while True:
        raw = f.readline(cap)
        if not raw:
            return
        if raw.endswith(b"\n"):
            yield raw[:-1], len(raw) - 1
            continue
        size = len(raw)
        while True:  # skip the remainder of an over-long line
            more = f.readline(1024 * 1024)
            if more.endswith(b"\n"):
                size += len(more) - 1
                break
            if not more:
                break
            size += len(more)
        yield raw, size


def _render(
    ctx: ToolContext,
    rel: str,
    lines: list[str],
    offset: int,
    limit: int,
    *,
    total: int | None,
    note: str = "",
    more: bool = False,
    first: int = 1,
    cut: bool = False,
) -> ToolOutput:
    """Number the lines offset.. (`lines[0]` is line `first`), within the output budget."""
    if total == 0:
        return ToolOutput(f"[{rel} is empty]", data=_data(rel, 0, 0, 0))
    if total is not None and offset > total:
        raise ToolError(
            f"offset={offset} is past the end of {rel}, which has {total:,} lines. "
            f"Use an offset between 1 and {total}."
        )
    budget = max(2000, ctx.output_cap - 300)
    out: list[str] = [note] if note else []
    used = len(note)
    end = offset - 1
    for line in lines[offset - first : offset - first + limit]:
        line = line.removesuffix("\r")
        entry = f"{end + 1:>6}\t{_cut(line) if cut else line}"
        if used + len(entry) + 1 > budget and end >= offset:
            break
        out.append(entry)
        used += len(entry) + 1
        end += 1
    shown_all_asked = end - offset + 1 == min(limit, len(lines) - (offset - first))
    if total is not None and end < total:
        reason = "" if shown_all_asked else " (output size limit reached)"
        out.append(
            f"... {total - end:,} more lines{reason}; call again with offset={end + 1} to continue"
        )
    elif total is None and (more or not shown_all_asked):
        out.append(f"... the file continues; call again with offset={end + 1} to continue")
    text = cap_output("\n".join(out), ctx.output_cap)
    return ToolOutput(text, data=_data(rel, offset, end, total))


def _cut(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}… [line cut: {len(line):,} characters in all]"


def _data(rel: str, start: int, end: int, total: int | None) -> dict[str, object]:
    return {"path": rel, "start": start, "end": end, "total_lines": total}
