"""What a program v4code starts can read of the other processes it sees, as an attacker would.

`report(needle)` walks /proc: every visible process's environment and command line, and the
memory of every process whose command line names v4code (through /proc/PID/mem, which a
child running as root may read). It answers which processes it saw and where `needle` was
found. Run as a script: `python snoop.py REVERSED_NEEDLE OUT_FILE` writes the report (the
needle is given reversed so that this process's own command line does not hold it).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_MAX_REGION = 256 * 1024 * 1024


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _in_memory(pid: str, needle: bytes) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)  # noqa: SIM115
    except OSError:
        return False
    with mem:
        for line in maps.splitlines():
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > _MAX_REGION:
                continue
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


def report(needle: str) -> str:
    raw = needle.encode()
    me = str(os.getpid())
    seen: list[str] = []
    found: list[str] = []
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        if pid == me:
            continue
        cmdline = _read(f"/proc/{pid}/cmdline")
        name = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()[:80]
        seen.append(f"{pid}:{name}")
        where = [part for part in ("environ", "cmdline") if raw in _read(f"/proc/{pid}/{part}")]
        if re.search(rb"v4code", cmdline) and _in_memory(pid, raw):
            where.append("memory")
        if where:
            found.append(f"{pid} ({name[:40]}): {', '.join(where)}")
    v4code = [s for s in seen if "v4code" in s and "snoop" not in s]
    return (
        f"saw {len(seen)} processes, v4code among them: {'yes' if v4code else 'no'}\n"
        f"key found in: {'; '.join(found) if found else 'nothing'}"
    )


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(report(sys.argv[1][::-1]))
