"""What `v4code map` and `v4code locate` print, as plain functions the CLI calls.

Kept apart from the click commands so the output can be tested without the CLI and the CLI
stays a thin wiring layer.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from v4code.repomap.api import focused_map, locate
from v4code.repomap.index import Progress
from v4code.textio import one_line, shown_lines

__all__ = ["TerminalProgress", "format_locate", "print_locate", "print_map"]


def print_map(
    root: Path | str,
    focus: str | None = None,
    max_tokens: int = 2048,
    *,
    out: TextIO | None = None,
    progress: Progress | None = None,
    secret_files: Iterable[str] = (),
) -> None:
    """`v4code map [FOCUS]`: the repo map, ending with a newline. A focus that matches no
    file is said on stderr (stdout stays the map a script reads), and the map is the one
    without a focus."""
    found = focused_map(root, focus, max_tokens, progress=progress, secret_files=secret_files)
    if found.focus_missed:
        said = f"v4code map: no file matches the focus {one_line(focus or '')!r}; "
        sys.stderr.write(said + "the most-used files instead\n")
    (out or sys.stdout).write(shown_lines(found.text or "(no files to map)") + "\n")  # names, code


class TerminalProgress:
    """Indexing progress on a terminal's standard error, shown only once indexing has taken
    more than `after` seconds (a warm cache answers in a blink and should print nothing) and
    only when the stream is a terminal (a script reading stderr gets no carriage returns)."""

    def __init__(self, stream: TextIO | None = None, after: float = 1.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.after = after
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.shown or time.monotonic() - self.started > self.after:
            if not self.shown and not _is_tty(self.stream):
                return
            self.shown = True
            self.stream.write(f"\rindexing {done:,}/{total:,} files")
            self.stream.flush()

    def finish(self) -> None:
        """Clear the progress line, if one was shown."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def format_locate(
    root: Path | str,
    text: str,
    top: int = 10,
    *,
    as_json: bool = False,
    progress: Progress | None = None,
    secret_files: Iterable[str] = (),
) -> str:
    ranked = locate(root, text, top=top, progress=progress, secret_files=secret_files)
    if as_json:
        files = [{"path": r.path, "score": r.score, "why": r.why} for r in ranked]
        return json.dumps({"files": files}, indent=2) + "\n"
    if not ranked:
        return "No file matches.\n"
    # A file name may carry escape sequences for the terminal, or line breaks: shown escaped.
    rows = [(r.score, one_line(r.path), one_line(r.why)) for r in ranked]
    width = max(len(path) for _s, path, _w in rows)
    return "".join(f"{score:5.2f}  {path:<{width}}  {why}\n" for score, path, why in rows)


def print_locate(
    root: Path | str,
    text: str,
    top: int = 10,
    *,
    as_json: bool = False,
    out: TextIO | None = None,
    progress: Progress | None = None,
    secret_files: Iterable[str] = (),
) -> None:
    """`v4code locate [--top N] [--json] TEXT|-`: ranked files, best first (`-` as TEXT is
    for the caller to replace with standard input)."""
    text = format_locate(
        root, text, top, as_json=as_json, progress=progress, secret_files=secret_files
    )
    (out or sys.stdout).write(text)
