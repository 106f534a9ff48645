"""The API key out of v4code's original environment block.

The kernel keeps a process's original environment (`/proc/PID/environ`) for as long as the
process lives; deleting a variable from `os.environ` does not touch that copy. Any program
v4code starts outside the sandbox (a hook, an MCP server, an engine) could read the key from
there. So the command line's entry starts, finds the secret variables, and takes them out of
the block where it lies: the entries are overwritten through `/proc/self/mem` (the block is
this process's own writable stack, and `/proc/self/environ` is read from it), and read back to
check they are gone. Their values stay in `os.environ` only (not the C environment), so they
stay in its own memory: no child inherits them unless it is handed an environment built from
`os.environ`, and those (`command_env`, `git_env`) drop them.

Where the block cannot be overwritten (no `/proc`, a kernel that refuses the write), the
entry executes itself again without the secrets, passing their values through an inherited
pipe, and the new process reads them back the same way: the same result for a second
interpreter start.

Cheap on purpose: it runs before anything else is imported, and not at all for `--help` or
`--version` (which start nothing); the process that executes again imports next to nothing
(no json, no re: the secrets travel as NUL-separated names and values, which an environment
cannot contain). This module imports nothing from v4code but the leaf `redact`.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping, Sequence

from v4code.safety.redact import is_secret_env

__all__ = ["HANDOFF_FD", "hand_over", "secret_names", "take_out"]

HANDOFF_FD = "V4CODE_HANDOFF_FD"
"""The variable naming the pipe that carries the secrets into the executed process."""

_LOOKS_SECRET = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
"""A profile's `key_env` may name any variable; its name is not known before the config is
read, so every variable named like a key leaves the block (and comes back in memory)."""

_NO_WORK = frozenset({"--help", "-h", "--version", "-V"})
"""The command line's help and version options: as its first word, each prints and stops.
Further on, a word can be an option's value (`v4code -p --help` runs the task `--help`)."""
_ENV_START = 47
"""Where the block starts (`env_start`, field 50 of /proc/self/stat), counted from the field
after the command name: that name is in parentheses and may hold spaces."""
_MAX_PAYLOAD = 60 * 1024  # below a pipe's buffer: the write never blocks
_ENTRY: list[bool] = []
"""Holds True once hand_over ran in this process: this process is v4code's own command, whose
block is its to overwrite (not a library user's, nor a test's)."""


def secret_names(environ: Mapping[str, str]) -> list[str]:
    """The variables that must not stay in the original environment block."""
    return [
        name
        for name in environ
        if name != HANDOFF_FD and (is_secret_env(name) or name.upper().endswith(_LOOKS_SECRET))
    ]


def _starts_nothing(args: Sequence[str]) -> bool:
    return bool(args) and args[0] in _NO_WORK


def _receive(value: str) -> None:
    """Read the secrets from the pipe named by HANDOFF_FD back into os.environ."""
    try:
        fd = int(value)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return  # not a pipe this module made: leave it alone
    except (ValueError, OSError):
        return
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    parts = b"".join(chunks).split(b"\0")
    if len(parts) % 2:
        return  # not what _exec_without wrote
    for name, secret in zip(parts[0::2], parts[1::2], strict=True):
        _restore(os.fsdecode(name), os.fsdecode(secret))


def _restore(name: str, secret: str) -> None:
    """Put a secret back into os.environ but not into the C environment (no putenv): a
    program started without an explicit environment (multiprocessing's workers, a library's
    subprocess) then inherits none of them. CPython keeps os.environ's values in `_data`."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict):
        data[os.fsencode(name)] = os.fsencode(secret)
    else:
        os.environ[name] = secret


def hand_over(args: Sequence[str] | None = None) -> None:
    """Take the secret variables out of this process's original environment block: in place,
    or else by executing this process again without them (and returning in the new one).

    Called first by the command line's entry. Returns at once when there is nothing to
    move or when the command starts nothing; when neither way is possible (not POSIX, no
    interpreter path), the process goes on as before.
    """
    _ENTRY.append(True)
    inherited = os.environ.pop(HANDOFF_FD, None)
    if inherited is not None:
        _receive(inherited)
        return
    if os.name != "posix":
        return
    names = secret_names(os.environ)
    if not names or _starts_nothing(sys.argv[1:] if args is None else args):
        return
    if _scrubbed_in_place(names):
        return
    payload = b"\0".join(os.fsencode(x) for name in names for x in (name, os.environ[name]))
    if sys.executable and hasattr(sys, "orig_argv") and len(payload) <= _MAX_PAYLOAD:
        _exec_without(names, payload)


def take_out(name: str) -> None:
    """Take one more variable out of the block, once the config names it as a key (a
    profile's `key_env` named unlike a key, which hand_over could not know at start-up).
    Only in v4code's own command, and only in place: where that is refused, the variable is
    at least out of the C environment, so no child inherits it."""
    if _ENTRY and os.name == "posix" and name in os.environ and name != HANDOFF_FD:
        _scrubbed_in_place([name])


def _scrubbed_in_place(names: list[str]) -> bool:
    """Take `names` out of the C environment (their values stay in os.environ) and overwrite
    their entries in the original block with NULs; True when a read of the block shows none
    of them. On False the values are in os.environ, for the pipe."""
    try:
        block = _read_proc("environ")
        start = int(_read_proc("stat").rpartition(b")")[2].split()[_ENV_START])
    except (OSError, ValueError, IndexError):
        return False
    wanted = {os.fsencode(name) for name in names}
    spans, offset = [], 0
    for entry in block.split(b"\0"):
        if entry.partition(b"=")[0] in wanted:
            spans.append((offset, len(entry)))
        offset += len(entry) + 1
    for name in names:
        secret = os.environ.pop(name)  # unsetenv: out of the C environment
        _restore(name, secret)
    try:
        fd = os.open("/proc/self/mem", os.O_RDWR)
        try:
            for where, size in spans:
                os.pwrite(fd, bytes(size), start + where)
        finally:
            os.close(fd)
        left = _read_proc("environ")
    except OSError:
        return False
    return not any(entry.partition(b"=")[0] in wanted for entry in left.split(b"\0"))


def _read_proc(name: str) -> bytes:
    with open(f"/proc/self/{name}", "rb", buffering=0) as fh:
        return fh.read()


def _exec_without(names: list[str], payload: bytes) -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, payload)
    finally:
        os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {k: v for k, v in os.environ.items() if k not in names}
    env[HANDOFF_FD] = str(read_end)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    except OSError:
        os.close(read_end)  # cannot execute again: go on with the key where it was
