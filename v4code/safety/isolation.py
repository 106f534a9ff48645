"""Programs v4code starts outside the sandbox, in a PID namespace of their own.

Hooks, MCP servers, engines and commands run without the sandbox (ask mode with the sandbox
off, `sandbox = false`) are the user's programs, trusted to do what they do on the host. They
are not trusted with v4code's API key: `command_env` keeps it out of their environment, the
command line's entry keeps it out of v4code's original environment block (key_handoff), and
this module keeps v4code's process out of their sight, so they cannot read its memory either
(a child running as root could otherwise read `/proc/PID/mem`).

`isolated(argv)` wraps `argv` in bubblewrap with only a new PID namespace (and the mount
namespace it needs for a fresh `/proc`): the host's file system is bound as it is, devices
included (an engine needs its GPU), the network and the user are unchanged. For a child that
runs as root, the capabilities that reach other processes' memory or the mount tree (and so the
host's `/proc`) are dropped. When bubblewrap cannot start here (not installed, no user
namespaces), the program runs as before and v4code says so once.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from v4code.safety.process import WarmUp, capture_process
from v4code.safety.programs import find_program

__all__ = ["isolated", "isolation_problem", "warm_up"]

ROOT_ONLY_CAPS = (
    "CAP_SYS_ADMIN",  # mount and unmount: the host's /proc again
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",  # /dev/mem, /proc/kcore
    "CAP_SYS_MODULE",
    "CAP_BPF",
    "CAP_PERFMON",
)
"""Dropped for a child running as root: each reaches beyond its own PID namespace."""

_warned = False


def _known_caps() -> tuple[str, ...]:
    """ROOT_ONLY_CAPS this kernel has (CAP_BPF and CAP_PERFMON are recent)."""
    last = Path("/proc/sys/kernel/cap_last_cap")
    try:
        highest = int(last.read_text().strip())
    except (OSError, ValueError):
        highest = 37
    numbers = {"CAP_BPF": 39, "CAP_PERFMON": 38}
    return tuple(c for c in ROOT_ONLY_CAPS if numbers.get(c, 0) <= highest)


def _host_binds() -> list[str]:
    """Every top-level entry of `/` as it is, but `/proc` (a fresh one goes there)."""
    args: list[str] = []
    with os.scandir("/") as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = f"/{entry.name}"
            if entry.name == "proc":
                continue
            if entry.is_symlink():
                args += ["--symlink", os.readlink(path), path]
            elif entry.is_dir() or entry.is_file():
                args += ["--dev-bind", path, path]
    return args


def _wrapper(bwrap: str) -> list[str]:
    args = [bwrap, "--unshare-pid", *_host_binds(), "--proc", "/proc"]
    if os.geteuid() == 0:
        for cap in _known_caps():
            args += ["--cap-drop", cap]
    return args


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[list[str] | None, str | None]:
    """(the wrapper's argv, None) when a trivial program runs in it; else (None, why not)."""
    bwrap = find_program("bwrap", Path.cwd())  # never a `bwrap` the workspace holds
    if bwrap is None:
        return None, "bubblewrap (`bwrap`) is not installed"
    try:
        wrapper = _wrapper(bwrap)
        done = capture_process([*wrapper, "--", "true"], cwd=Path("/"), timeout=20)
    except OSError as exc:
        return None, str(exc)
    if done.returncode == 0:
        return wrapper, None
    why = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
    return None, f"bubblewrap cannot start here ({why.splitlines()[-1]})"


_WARM_UP = WarmUp("v4code-isolation-warm-up")


def warm_up() -> None:
    """Start, in the background, the once-per-process check that bubblewrap starts here, so
    that it overlaps a session's start-up instead of delaying the first program it wraps."""
    _WARM_UP.start(_probe)


def isolation_problem() -> str | None:
    """Why unsandboxed programs cannot get a PID namespace here, or None when they can."""
    _WARM_UP.wait()
    return _probe()[1]


def isolated(argv: Sequence[str], *, outlive: bool = False) -> list[str]:
    """`argv` to run in a PID namespace of its own, or `argv` unchanged (said once) when
    none can be had here. The wrapped command keeps its working directory and environment;
    it ends with v4code unless `outlive` (an engine started with `--detach`)."""
    _WARM_UP.wait()
    wrapper, why = _probe()
    if wrapper is not None:
        tie = [] if outlive else ["--die-with-parent"]
        return [wrapper[0], *tie, *wrapper[1:], "--", *argv]
    global _warned
    if not _warned:
        _warned = True
        sys.stderr.write(
            "v4code: hooks, MCP servers, engines and unsandboxed commands see v4code's process "
            f"here ({why}), so they may read its memory, the API key included; bubblewrap "
            "with user namespaces enabled gives them a process view of their own.\n"
        )
    return list(argv)
