"""The command sandbox: bubblewrap with a read-only system, a writable workspace, no network.

`sandbox_argv(argv, root)` wraps a command line; `check_sandbox(root)` tells, once per
process, whether bubblewrap is installed *and* can start here (it cannot in containers
without user namespaces, for example). When it cannot, callers refuse to run the command
rather than run it unconfined: the permission mode promised a sandbox.

Inside: `/` read-only, the workspace and `/tmp` read-write, fresh `/dev` and `/proc`,
no network (a private network namespace with only a loopback), its own PID namespace (the
command cannot see or signal the person's other processes) and `--die-with-parent` (killing
bwrap kills everything in the sandbox).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from v4code.errors import ToolError

__all__ = [
    "SandboxUnavailable",
    "bwrap_argv",
    "check_sandbox",
    "find_bwrap",
    "sandbox_argv",
]

_INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `apt install bubblewrap`, Fedora: `dnf install "
    "bubblewrap`, Arch: `pacman -S bubblewrap`), or use a permission mode in which each "
    "command is approved first (`--permission-mode ask`), or set `sandbox = false` in the "
    "v4code config to accept running commands unconfined."
)


class SandboxUnavailable(ToolError):
    """The sandbox is required but cannot be used here; the message says why and what to do."""


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def bwrap_argv(
    argv: Sequence[str], root: Path, *, bwrap: str = "bwrap", network: bool = False
) -> list[str]:
    """The bubblewrap command line that runs `argv` in `root` (the one writable place)."""
    root_s = str(Path(root).resolve())
    wrapped = [
        bwrap,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
    ]
    if not network:
        wrapped.append("--unshare-net")
    wrapped += [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        # /tmp stays the host's and writable: a private tmpfs would hide virtualenvs and
        # checkouts that live there (CI clones often do), and scratch files are not the
        # person's work. Everything else outside the workspace is read-only.
        "--bind", "/tmp", "/tmp",
        "--bind", root_s, root_s,
        "--chdir", root_s,
    ]  # fmt: skip
    return [*wrapped, *argv]


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, root: str) -> str | None:
    """None if a trivial command runs in the sandbox; else bubblewrap's own complaint."""
    try:
        done = subprocess.run(
            bwrap_argv(["true"], Path(root), bwrap=bwrap),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    return done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"


def check_sandbox(root: Path) -> str:
    """Return the bwrap executable to use, or raise SandboxUnavailable saying why not."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "This command must run in the sandbox, but bubblewrap (`bwrap`) is not installed, "
            f"so it was not run. {_INSTALL_HINT}"
        )
    problem = _probe(bwrap, str(Path(root).resolve()))
    if problem is not None:
        raise SandboxUnavailable(
            "This command must run in the sandbox, but bubblewrap cannot start here "
            f"({problem}); this happens in containers without user namespaces. The command "
            f"was not run. {_INSTALL_HINT}"
        )
    return bwrap


def sandbox_argv(argv: Sequence[str], root: Path, *, network: bool = False) -> list[str]:
    """`argv` wrapped in bubblewrap, after checking the sandbox works (SandboxUnavailable)."""
    return bwrap_argv(argv, root, bwrap=check_sandbox(root), network=network)
