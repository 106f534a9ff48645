"""Markdown prompt files with front matter: custom commands and named agents alike.

A folder of `NAME.md` files, each read up to a bound (a huge file in a repository is not read
whole), links and non-files passed over; front matter is `key: value` lines between `---`
lines at the top, keys lower-cased, values without their quotes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

MAX_BYTES = 100_000


def markdown_files(folder: Path, max_bytes: int = MAX_BYTES) -> Iterator[tuple[str, str]]:
    """(lower-cased stem, text) of each `*.md` in `folder`, sorted; nothing for a linked or
    missing folder."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.glob("*.md")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with path.open("rb") as file:
                data = file.read(max_bytes)
        except OSError:
            continue
        yield path.stem.lower(), data.decode("utf-8", "replace")


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """(the front matter's keys and values, the body); ({}, text) when there is none."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            meta: dict[str, str] = {}
            for entry in lines[1:i]:
                key, sep, value = entry.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, "\n".join(lines[i + 1 :])
    return {}, text
