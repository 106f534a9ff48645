"""Unified diffs of two versions of a file: the one writer every part of v4code shows diffs with.

The shape is git's: `a/` and `b/` labels, `/dev/null` for a side that does not exist, the
`\\ No newline at end of file` marker, and one line instead of a diff for a binary file, so an
approval prompt, `/diff`, the undo conflict message and `--output json` all read alike.
"""

from __future__ import annotations

import difflib

from v4code.textio import display_text, is_binary, one_line

__all__ = ["NO_NEWLINE", "unified_diff"]

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(
    path: str,
    before: bytes | None,
    after: bytes | None,
    *,
    context: int = 3,
    status: str | None = None,
    label_a: str | None = None,
    label_b: str | None = None,
) -> str:
    """The diff from `before` to `after` (None: the file does not exist on that side).

    `status` (added, deleted, modified, ...) names the change in the line a binary file gets;
    `label_a` / `label_b` replace the `a/PATH` / `b/PATH` labels of existing sides. A path
    keeps to its header line (textio.one_line), whatever characters its name holds.
    """
    if is_binary(before) or is_binary(after):
        if status is None:
            status = "added" if before is None else "deleted" if after is None else "modified"
        size = len(after if after is not None else before or b"")
        return f"Binary file {one_line(path)} {status} ({size} bytes)\n"
    a = "/dev/null" if before is None else one_line(label_a or f"a/{path}")
    b = "/dev/null" if after is None else one_line(label_b or f"b/{path}")
    lines = difflib.unified_diff(_lines(before), _lines(after), a, b, n=context)
    return "".join(line if line.endswith("\n") else line + "\n" + NO_NEWLINE for line in lines)


def _lines(data: bytes | None) -> list[str]:
    """Lines split at LF only (str.splitlines also splits at form feeds and U+2028)."""
    parts = display_text(data).split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines
