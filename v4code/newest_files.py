"""The files of v4code's own stores (conversations, undo records), newest first.

Both stores grow with every session; ordering them by stat alone lets a caller open only the
few files it needs (the latest conversation, the newest undo point) however long the history.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def newest_files(
    folders: Iterable[Path], suffix: str, accept: Callable[[str], bool] = lambda _: True
) -> Iterator[tuple[int, Path]]:
    """(mtime in ns, path) of each file in `folders` named `<stem><suffix>` whose stem `accept`
    takes, newest first (then by path, descending); only those are stat'ed, none is opened."""
    found: list[tuple[int, str]] = []
    for folder in folders:
        try:
            entries = os.scandir(folder)
        except OSError:  # no such folder yet
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(suffix) or not accept(name[: -len(suffix)]):
                    continue
                try:
                    found.append((entry.stat().st_mtime_ns, entry.path))
                except OSError:
                    continue  # removed meanwhile
    found.sort(reverse=True)
    return ((mtime_ns, Path(path)) for mtime_ns, path in found)  # a Path only when looked at
