"""The socket files a few levels below the folders host daemons keep them in: those of
daemons in other network namespaces, which /proc/net/unix does not list (the sandbox hides
them from commands).

Shallowest first and a bounded number of entries (about a tenth of a second, once per
process). The sandbox's warm-up runs this file as a script in a Python of its own
(`python -I -S socket_scan.py`: standard library only, nothing of v4code imported), so its ten
thousand directory entries are read on another core while the session starts, not in a
thread that would share the session's one interpreter lock with it. The paths come back on
stdout, each ended by a NUL.
"""

from __future__ import annotations

import collections
import contextlib
import os
import stat
import sys

FOLDERS = ("/var", "/srv", "/opt", "/mnt", "/media", "/home", "/root")
"""Where host daemons keep sockets outside the masked folders; scanned once, not deeply."""
DEPTH = 4
ENTRIES = 10000


def is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def scan() -> list[str]:
    """The socket files found, shallowest first, within ENTRIES directory entries."""
    found: list[str] = []
    budget = ENTRIES
    todo = collections.deque((top, 0) for top in FOLDERS)  # shallowest first
    while todo and budget > 0:
        folder, depth = todo.popleft()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                budget -= 1
                if budget <= 0:
                    break
                try:  # (not a context manager per entry: thousands of entries, each counts)
                    if entry.is_dir(follow_symlinks=False):
                        if depth + 1 < DEPTH:
                            todo.append((entry.path, depth + 1))
                    elif _maybe_socket(entry) and is_socket(entry.path):
                        found.append(entry.path)
                except OSError:
                    continue
    return found


def _maybe_socket(entry: os.DirEntry[str]) -> bool:
    """What the directory listing alone cannot rule out as a socket (no regular file, no
    link: `lstat` only for what is left)."""
    return not entry.is_file(follow_symlinks=False) and not entry.is_symlink()


if __name__ == "__main__":
    out = sys.stdout.buffer
    for path in scan():
        out.write(os.fsencode(path) + b"\0")
    out.flush()
