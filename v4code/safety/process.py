"""Run a command in its own process group with a timeout, cancellation and bounded output.

Used by the `run_command` tool and by anything else that runs a user's or the model's
commands (tests, hooks), and by v4code's own helper programs (git, ripgrep) through
`capture_process` (whole output, stdout and stderr apart) and `StreamedProcess` (stdout read
line by line while it runs). The guarantees:

- the command gets its own session / process group, stdin is /dev/null, and it has no
  controlling terminal, so it can neither read the person's keystrokes nor stop the REPL;
- on timeout or cancel the *whole group* gets SIGTERM, then SIGKILL after a grace period, and
  processes the command left running in the background are stopped when it exits, so nothing
  the command started survives it (unless it deliberately escaped with `setsid`);
- stdout and stderr are read incrementally through one pipe (interleaved as a terminal would
  show them) into a bounded head buffer and a ring-buffer tail: a command printing 50 MB never
  holds more than `head_bytes + tail_bytes` in memory.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from v4code.cancel import CancelToken
from v4code.safety.redact import is_secret_env

__all__ = [
    "DEFAULT_GRACE",
    "Captured",
    "OutputBuffer",
    "ProcessResult",
    "StreamedProcess",
    "WarmUp",
    "capture_process",
    "command_env",
    "run_process",
    "secret_free_env",
    "stop_group",
]

DEFAULT_HEAD_BYTES = 64 * 1024
DEFAULT_TAIL_BYTES = 64 * 1024
DEFAULT_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL when a process group is stopped."""
POLL_INTERVAL = 0.05
DRAIN_AFTER_EXIT = 0.5
"""How long to keep reading after the command exits, for output still in flight from
background processes that hold the pipe open."""

_READ_CHUNK = 64 * 1024

# Variables that make tools behave as in CI: no pagers, no prompts, no colours, unbuffered.
_QUIET_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GH_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "GIT_TERMINAL_PROMPT": "0",
    "DEBIAN_FRONTEND": "noninteractive",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1",
}
# Never forwarded: forcing colour fills the output with escapes; the API key (and any other
# key, token or secret v4code reads: redact.is_secret_env) must not be printable by a command
# the model runs (its output goes to the model and the session log).
_DROPPED_ENV = ("FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS")


def secret_free_env() -> dict[str, str]:
    """This process's environment without the secrets v4code reads: what a helper program
    (git, ripgrep, a probe) gets when its caller names no environment."""
    return {name: value for name, value in os.environ.items() if not is_secret_env(name)}


def command_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a command: the caller's, made non-interactive and secret-free."""
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name in _DROPPED_ENV or is_secret_env(name):
            del env[name]
    env.update(_QUIET_ENV)
    env.update(extra)
    return env


class OutputBuffer:
    """Keeps the first `head` bytes and the last `tail` bytes of a stream, counting the rest."""

    def __init__(self, head: int = DEFAULT_HEAD_BYTES, tail: int = DEFAULT_TAIL_BYTES) -> None:
        self.head_limit = max(0, head)
        self.tail_limit = max(0, tail)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data or self.tail_limit == 0:
            return
        if len(data) >= self.tail_limit:
            self._tail[:] = data[-self.tail_limit :]
            return
        self._tail += data
        excess = len(self._tail) - self.tail_limit
        if excess > 0:
            del self._tail[:excess]

    @property
    def dropped(self) -> int:
        return self.total - len(self._head) - len(self._tail)

    def text(self) -> str:
        """The kept output, decoded; the gap (if any) is marked with the dropped byte count."""
        head = self._head.decode("utf-8", errors="replace")
        if not self._tail:
            return head
        tail = self._tail.decode("utf-8", errors="replace")
        if self.dropped == 0:
            return (bytes(self._head) + bytes(self._tail)).decode("utf-8", errors="replace")
        return f"{head}\n\n[... {self.dropped:,} bytes of output omitted ...]\n\n{tail}"


@dataclass(frozen=True)
class ProcessResult:
    """What happened to one command."""

    exit_code: int | None
    """The exit status; negative (-N) when killed by signal N; None if it could not be reaped."""
    output: str
    """stdout and stderr interleaved, head and tail kept, the gap marked."""
    timed_out: bool
    cancelled: bool
    duration: float
    stopped_background: bool = False
    """True when processes the command left behind were stopped after it exited."""


def _group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process is in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed uid; it still exists
        return True
    return _live_member_in_proc(pgid)


def _live_member_in_proc(pgid: int) -> bool:
    """killpg() also succeeds for zombies nobody reaps (a container whose init does not);
    on Linux, look in /proc for a member that is not a zombie."""
    if not os.path.exists("/proc/self/stat"):
        return True
    wanted = str(pgid).encode()
    with os.scandir("/proc") as entries:
        for entry in entries:  # every process on the machine: kept to plain reads of bytes
            if not entry.name.isdigit():
                continue
            try:
                stat = _read_small(entry.path + "/stat")
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split(maxsplit=3)  # state, ppid, pgrp
            if len(fields) > 2 and fields[2] == wanted and fields[0] != b"Z":
                return True
    return False


def _read_small(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _group_empties(pgid: int, within: float, reap: Callable[[], object] | None = None) -> bool:
    """Wait a moment for members that are already exiting (a sandbox's init, say). `reap`
    collects the leader when it is our child, so its zombie does not hold the group open."""
    deadline = time.monotonic() + within
    while True:
        if reap is not None:
            reap()
        if not _group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _reap_pid(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # only succeeds when it is our own child


def stop_group(pgid: int, grace: float, leader: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the whole group, SIGKILL whatever of it is left after `grace` seconds (not only
    its leader: a command's background jobs, an engine's workers holding the GPU), and reap
    the leader: through `leader` when this process started it, else by pid if it is our child."""
    reap = leader.poll if leader is not None else functools.partial(_reap_pid, pgid)
    _signal_group(pgid, signal.SIGTERM)
    if not _group_empties(pgid, grace, reap):
        _signal_group(pgid, signal.SIGKILL)
        # Members that are not our children are reaped by init; wait until they are gone.
        _group_empties(pgid, 5.0, reap)
    reap()  # the leader may have turned zombie after the last look


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
    head_bytes: int = DEFAULT_HEAD_BYTES,
    tail_bytes: int = DEFAULT_TAIL_BYTES,
    grace: float = DEFAULT_GRACE,
) -> ProcessResult:
    """Run `argv` in `cwd` in a new session; never raises for the command's own failures.

    Raises OSError only if the program cannot be started at all (e.g. not found).
    """
    buffer = OutputBuffer(head_bytes, tail_bytes)
    start = time.monotonic()
    deadline = start + (cancel.bound(timeout) if cancel is not None else timeout)
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else command_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    stop = _pump(proc, fd, buffer, deadline, cancel)
    if stop is None:
        stop = _wait_leader(proc, deadline, cancel)
    stopped_background = False
    if stop is not None:
        stop_group(pgid, grace, proc)
    elif not _group_empties(pgid, within=0.5):
        stopped_background = True
        stop_group(pgid, grace, proc)
    _drain(fd, buffer)
    proc.stdout.close()
    return ProcessResult(
        exit_code=proc.poll(),
        output=buffer.text(),
        timed_out=stop == "timeout",
        cancelled=stop == "cancel",
        duration=time.monotonic() - start,
        stopped_background=stopped_background,
    )


def _pump(
    proc: subprocess.Popen[bytes],
    fd: int,
    buffer: OutputBuffer,
    deadline: float,
    cancel: CancelToken | None,
) -> str | None:
    """Copy the pipe into `buffer` until EOF or the leader's exit (plus a short drain).

    Returns "timeout" or "cancel" if reading stopped for that reason, else None.
    """
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if cancel is not None and cancel.cancelled:
                return "cancel"
            if now >= deadline:
                return "timeout"
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at >= DRAIN_AFTER_EXIT:
                return None  # background processes hold the pipe open; stop waiting for them
            for _key, _mask in selector.select(timeout=POLL_INTERVAL):
                try:
                    chunk = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    return None
                buffer.write(chunk)


def _wait_leader(
    proc: subprocess.Popen[bytes], deadline: float, cancel: CancelToken | None
) -> str | None:
    """The pipe is closed but the leader may still run (it closed its stdout).

    Usually it is a moment from exiting (bwrap after its child, a shell after its last
    command): `wait` polls from half a millisecond up, so the result is not held for a
    whole POLL_INTERVAL; the cancel token and the deadline are still looked at that often."""
    while proc.poll() is None:
        if cancel is not None and cancel.cancelled:
            return "cancel"
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=min(POLL_INTERVAL, left))
    return None


def _drain(fd: int, buffer: OutputBuffer) -> None:
    """Read what is already in the pipe without waiting for writers that may never close it."""
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        buffer.write(chunk)


# -- v4code's own helper programs (git, ripgrep) ---------------------------------------------


def _start(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    stderr: int | object,
    stdin: int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else secret_free_env(),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=stderr,  # type: ignore[arg-type]
        start_new_session=True,  # a kill reaches anything it started (rg --pre, a git helper)
        close_fds=True,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL at once: these programs only read, so there is nothing to shut down cleanly.
    Called before the leader is reaped, so its pid (the group id) cannot have been reused."""
    _signal_group(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Captured:
    """A helper program's whole output, stdout and stderr kept apart."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    cancelled: bool = False


def capture_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> Captured:
    """Run a program to completion in its own process group, keeping all of its output.

    For programs whose output v4code parses (git) or that read a message on stdin (hooks),
    not for commands the model runs. The group is killed on timeout or cancel. Raises OSError
    if the program cannot be started.
    """
    pipe_in = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
    proc = _start(argv, cwd, env, subprocess.PIPE, pipe_in)
    deadline = time.monotonic() + (cancel.bound(timeout) if cancel is not None else timeout)
    stop: str | None = None
    pending = stdin
    while True:
        try:
            out, err = proc.communicate(pending, timeout=POLL_INTERVAL * 2)
            break
        except subprocess.TimeoutExpired:
            pending = None  # sent with the first call; a retry must not send it again
            if cancel is not None and cancel.cancelled:
                stop = "cancel"
            elif time.monotonic() >= deadline:
                stop = "timeout"
            else:
                continue
            _kill_group(proc)  # not reaped yet: communicate() raised before its wait()
            out, err = proc.communicate()
            break
    return Captured(proc.wait(), out, err, stop == "timeout", stop == "cancel")


class StreamedProcess:
    """A program whose stdout is read line by line while it runs (a search's matches).

    Use as a context manager: leaving it kills the process group, so a reader that stops early
    (enough matches) or a timeout / cancel (watched by a thread, since the reader may be
    blocked on a read) leaves nothing running. `stopped` says why it was stopped, if it was.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float,
        cancel: CancelToken | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._argv = list(argv)
        self._cwd = cwd
        self._env = env
        self._deadline = time.monotonic() + (cancel.bound(timeout) if cancel else timeout)
        self._cancel = cancel
        self._done = threading.Event()
        self._errors: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: threading.Thread | None = None
        self.stopped: str | None = None
        """"timeout" or "cancel" when the watchdog stopped the program."""
        self.returncode: int | None = None
        self.stderr = ""
        """The first 64 KiB of stderr, decoded (filled in on exit)."""

    def __enter__(self) -> StreamedProcess:
        errors = tempfile.TemporaryFile()  # no pipe: a chatty stderr cannot block it
        try:
            self._proc = _start(self._argv, self._cwd, self._env, errors)
        except BaseException:
            errors.close()
            raise
        self._errors = errors
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()
        return self

    def lines(self) -> Iterator[bytes]:
        assert self._proc is not None and self._proc.stdout is not None
        yield from self._proc.stdout

    def _watch(self) -> None:
        assert self._proc is not None
        while not self._done.wait(POLL_INTERVAL):
            if self._cancel is not None and self._cancel.cancelled:
                self.stopped = "cancel"
            elif time.monotonic() >= self._deadline:
                self.stopped = "timeout"
            else:
                continue
            _kill_group(self._proc)
            return

    def __exit__(self, *_: object) -> None:
        assert self._proc is not None and self._errors is not None
        self._done.set()
        if self._watchdog is not None:
            self._watchdog.join()  # before the wait: no kill may follow the reaping
        _kill_group(self._proc)
        self.returncode = self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._errors.seek(0)
        self.stderr = self._errors.read(64 * 1024).decode("utf-8", "replace").strip()
        self._errors.close()


class WarmUp:
    """A once-per-process check that starts a helper program (can bubblewrap start here),
    begun in the background when a session opens so that it overlaps the start-up; whoever
    needs its answer first calls `wait`, and gets the cached result instead of a second run.
    Every caller waits for every warm-up still running: two commands that start at once both
    wait, rather than the second running the check again beside it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._running: list[threading.Thread] = []

    def start(self, work: Callable[[], object]) -> None:
        def run() -> None:
            with contextlib.suppress(Exception):  # the real call reports what went wrong
                work()

        thread = threading.Thread(target=run, name=self._name, daemon=True)
        with self._lock:  # started under the lock: `wait` never joins an unstarted thread
            self._running = [t for t in self._running if t.is_alive()]
            thread.start()
            self._running.append(thread)

    def wait(self) -> None:
        with self._lock:
            running = list(self._running)
        for thread in running:
            if thread is not threading.current_thread():
                thread.join()
