"""The command sandbox: bubblewrap that holds even when v4code runs as root.

`sandboxed(argv, root)` is a context manager that yields the wrapped command line (and sets
up, then removes, a pids cgroup when one can be had); `check_sandbox(root)` tells, once per
process, whether bubblewrap is installed *and* can start here (it cannot in containers without
user namespaces, for example). When it cannot, the command is refused rather than run
unconfined: the permission mode promised a sandbox. Only the user can waive it
(`--no-sandbox`, or `sandbox = false` in the user config), which callers pass as
`allow_unsandboxed`.

Inside, every capability is dropped (as root, a bare `--ro-bind / /` lets a command remount
`/` read-write), and the view of the file system is:

- `/` read-only, fresh `/dev` and `/proc` (with `/proc/sys` read-only: uid 0 could otherwise
  write sysctls without any capability);
- a private `/tmp`, and `/run`, `/var/run` and `$XDG_RUNTIME_DIR` masked, so no host Unix
  socket (docker, D-Bus, ssh-agent) can be reached; the network namespace is private as well;
- `$HOME` an empty scratch tmpfs, except the paths the user lists in `sandbox_allow_read`;
- the v4code home (settings, sessions, checkpoints) masked and read-only;
- the workspace writable, except `.git/` and `.v4code/`, bound read-only on top;
- the user's toolchain readable wherever it lives: every directory on PATH and the
  installation its entries resolve to (pyenv, nvm, cargo under `$HOME`), the active
  virtualenv, the running interpreter's prefix and any virtualenv the command names.

Mounts are applied shallowest first, so a deeper path (the workspace under `/tmp`, a venv
under `$HOME`) lands on top of the mask that hides its parent.

Limits: a process count (a pids cgroup when v4code may create one, which is the only limit
the kernel enforces for uid 0, and `ulimit -u` otherwise) and a file size (`ulimit -f`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from v4code.errors import ToolError
from v4code.safety.process import capture_process

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PROCESSES",
    "SandboxUnavailable",
    "bwrap_argv",
    "check_sandbox",
    "find_bwrap",
    "sandbox_problem",
    "sandboxed",
]

MAX_PROCESSES = 1024
"""Processes (and threads) a sandboxed command may have at once: a parallel build fits."""

MAX_FILE_BYTES = 4 * 1024**3
"""The largest file a sandboxed command may write (`ulimit -f`)."""

SOCKET_DIRS = ("/run", "/var/run")
"""Where host daemons keep their sockets; masked with an empty tmpfs."""

_PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs")

_INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
    "bubblewrap`, Arch: `pacman -S bubblewrap`), or pass --no-sandbox (or set "
    "`sandbox = false` in your user config) to accept running commands unconfined, or use a "
    "permission mode in which each command is approved first (`--permission-mode ask`)."
)

_PATH_IN_COMMAND = re.compile(r"(?:~|/)[^\s'\"`;|&<>(){}$=:,]*")


class SandboxUnavailable(ToolError):
    """The sandbox is required but cannot be used here; the message says why and what to do."""


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@dataclass(frozen=True)
class _Mount:
    op: str  # a bwrap option: --tmpfs, --bind, --ro-bind
    path: Path


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _under(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def _home() -> Path | None:
    home = os.environ.get("HOME")
    if not home or not os.path.isabs(home):
        return None
    real = _real(home)
    return None if real == Path("/") else real


def _v4code_home() -> Path:
    from v4code.config import user_home

    return _real(user_home())


def _masks() -> list[Path]:
    """Directories replaced by an empty tmpfs: scratch, sockets, the person's home."""
    masks = [Path("/tmp")]
    for name in (*SOCKET_DIRS, os.environ.get("XDG_RUNTIME_DIR", "")):
        if name and os.path.isabs(name) and os.path.isdir(name):
            masks.append(_real(name))
    home = _home()
    if home is not None and home.is_dir():
        masks.append(home)
    seen: list[Path] = []
    for mask in masks:
        if mask not in seen and mask != Path("/"):
            seen.append(mask)
    return seen


def _prefix(directory: Path) -> Path:
    """The installation a `bin` (or pyenv `shims`) directory belongs to."""
    if directory.name in ("bin", "sbin", "shims") and directory.parent != directory:
        return directory.parent
    return directory


def _venv_root(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if (candidate / "pyvenv.cfg").is_file():
            return candidate
    return None


def _venv_base(venv: Path) -> Path | None:
    """The interpreter installation a virtualenv was made from (`home =` in pyvenv.cfg)."""
    try:
        text = (venv / "pyvenv.cfg").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            home = _real(value.strip())
            # pyvenv.cfg can sit in the repository: only a folder that holds a Python is shown
            if not any(home.glob("python*")):
                return None
            return _prefix(home)
    return None


def _toolchain(command_text: str) -> list[Path]:
    """Everything the command's programs need to be found and to run, as real paths."""
    found: list[Path] = []
    path_dirs = [p for p in os.environ.get("PATH", "").split(os.pathsep) if os.path.isabs(p)]
    for entry in path_dirs:
        directory = _real(entry)
        if not directory.is_dir():
            continue
        found += [directory, _prefix(directory)]
        if directory.parts[1:2] in (("usr",), ("bin",), ("sbin",)):
            continue  # system directories: visible anyway, and their links stay there
        with contextlib.suppress(OSError):
            for item in directory.iterdir():
                if item.is_symlink():
                    target = _real(item)
                    found += [target.parent, _prefix(target.parent)]
    if any(_real(p) == _real("~/.cargo/bin") for p in path_dirs):
        found.append(_real(os.environ.get("RUSTUP_HOME", "~/.rustup")))
    for name in (os.environ.get("VIRTUAL_ENV"), sys.prefix, sys.base_prefix):
        if name:
            found.append(_real(name))
    found.append(_prefix(_real(sys.executable).parent))
    for word in _PATH_IN_COMMAND.findall(command_text):
        # Lexically: a venv's bin/python is a link out of the venv.
        venv = _venv_root(Path(os.path.normpath(os.path.expanduser(word))))
        if venv is not None:
            found.append(_real(venv))
    for path in list(found):
        venv = _venv_root(path)
        base = _venv_base(venv) if venv is not None else None
        if base is not None:
            found.append(base)
    return found


def _git_dirs(root: Path) -> list[Path]:
    """Where a worktree's or submodule's `.git` file points (read-only, as `.git/` is)."""
    try:
        text = (root / ".git").read_text(errors="replace")
    except OSError:
        return []  # a directory (the usual case) or nothing
    if not text.startswith("gitdir:"):
        return []
    gitdir = _real(root / text[len("gitdir:") :].strip())
    # the `.git` file is the repository's to write: only a real git directory is shown
    if not (gitdir / "HEAD").is_file() or not (
        (gitdir / "objects").is_dir() or (gitdir / "commondir").is_file()
    ):
        return []
    found = [gitdir]
    with contextlib.suppress(OSError):
        found.append(_real(gitdir / (gitdir / "commondir").read_text().strip()))
    return found


def _mounts(root: Path, command_text: str, allow_read: Iterable[str]) -> tuple[list[_Mount], Path]:
    """The mounts on top of the read-only system, and the v4code home to make read-only."""
    masks = _masks()
    v4home = _v4code_home()

    def hidden(path: Path) -> bool:
        if _under(path, root) or path == Path("/"):
            return False
        return any(_under(path, m) for m in masks) or _under(path, v4home)

    mounts = [_Mount("--tmpfs", m) for m in masks]
    readable: list[Path] = []
    # What v4code finds on its own never unmasks a whole masked directory (`~/bin` on PATH
    # must not make `~` readable); what the user lists is bound as asked.
    found = [
        p
        for p in (*_toolchain(command_text), *_git_dirs(root))
        if not any(_under(m, p) for m in masks)
    ]
    for path in [*found, *(_real(p) for p in allow_read)]:
        if path.exists() and hidden(path) and not _under(path, v4home) and path not in readable:
            readable.append(path)
    mounts += [_Mount("--ro-bind", p) for p in readable]
    if v4home.is_dir() and v4home != Path("/") and not _under(root, v4home):
        mounts.append(_Mount("--tmpfs", v4home))
    mounts.append(_Mount("--bind", root))
    for protected in (".git", ".v4code"):
        if os.path.lexists(root / protected):
            mounts.append(_Mount("--ro-bind", root / protected))
    # Shallowest first (stable for equal depths): deeper mounts land on top.
    mounts.sort(key=lambda m: len(m.path.parts))
    return mounts, v4home


def bwrap_argv(
    argv: Sequence[str],
    root: Path,
    *,
    bwrap: str = "bwrap",
    network: bool = False,
    allow_read: Iterable[str] = (),
    cgroup: Path | None = None,
) -> list[str]:
    """The command line that runs `argv` in the sandbox, with `root` the one writable place."""
    root = _real(root)
    if root == Path("/"):
        raise SandboxUnavailable(
            "The workspace is `/`, so a sandbox that lets commands write to the workspace "
            "would protect nothing; run v4code in a project directory."
        )
    wrapped = [
        bwrap,
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
    ]  # fmt: skip
    if not network:
        wrapped.append("--unshare-net")
    wrapped += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for name in _PROC_READ_ONLY:
        if os.path.lexists(f"/proc/{name}"):
            wrapped += ["--ro-bind", f"/proc/{name}", f"/proc/{name}"]
    mounts, v4home = _mounts(root, " ".join(argv), allow_read)
    for mount in mounts:
        if mount.op == "--tmpfs":
            wrapped += ["--tmpfs", str(mount.path)]
        else:
            wrapped += [mount.op, str(mount.path), str(mount.path)]
    if any(m.op == "--tmpfs" and m.path == v4home for m in mounts):
        wrapped += ["--remount-ro", str(v4home)]  # last: binds inside it need it writable
    wrapped += ["--chdir", str(root)]
    limits = f"ulimit -f {MAX_FILE_BYTES // 1024} && "
    if cgroup is None:
        limits += f"ulimit -u {MAX_PROCESSES} 2>/dev/null; "
    wrapped += ["bash", "-c", limits + 'exec "$@"', "v4code-sandbox"]
    return [*wrapped, *argv]


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, root: str) -> str | None:
    """None if a trivial command runs in the sandbox; else bubblewrap's own complaint."""
    try:
        done = capture_process(
            bwrap_argv(["true"], Path(root), bwrap=bwrap), cwd=Path(root), timeout=20
        )
    except OSError as exc:
        return str(exc)
    if done.timed_out:
        return "it did not finish within 20 seconds"
    if done.returncode == 0:
        return None
    return done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"


def sandbox_problem(root: Path) -> str | None:
    """Why the sandbox cannot start for `root` (bubblewrap missing, or bubblewrap's own
    complaint), or None when it can: for callers that check before they start anything and
    word their own advice (`batch run`)."""
    bwrap = find_bwrap()
    if bwrap is None:
        return "bubblewrap (`bwrap`) is not installed"
    return _probe(bwrap, str(_real(root)))


def check_sandbox(root: Path) -> str:
    """Return the bwrap executable to use, or raise SandboxUnavailable saying why not."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "This command must run in the sandbox, but bubblewrap (`bwrap`) is not installed, "
            f"so it was not run. {_INSTALL_HINT}"
        )
    problem = _probe(bwrap, str(_real(root)))
    if problem is not None:
        raise SandboxUnavailable(
            "This command must run in the sandbox, but bubblewrap cannot start here "
            f"({problem}); this happens in containers without user namespaces. The command "
            f"was not run. {_INSTALL_HINT}"
        )
    return bwrap


def _pids_cgroup() -> Path | None:
    """A fresh pids cgroup limited to MAX_PROCESSES, or None when none can be made here."""
    if os.geteuid() != 0:
        return None  # ulimit -u holds for other users
    try:
        own = Path("/proc/self/cgroup").read_text()
    except OSError:
        return None
    for line in own.splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "pids":
            base = Path("/sys/fs/cgroup/pids") / path.lstrip("/")
        elif controllers == "" and (Path("/sys/fs/cgroup") / "cgroup.controllers").is_file():
            base = Path("/sys/fs/cgroup") / path.lstrip("/")
        else:
            continue
        group = base / f"v4code-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(MAX_PROCESSES))
            return group
        except OSError:
            _remove_cgroup(group)
    return None


def _remove_cgroup(group: Path) -> None:
    for _ in range(50):  # members that are still exiting keep it busy for a moment
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


@contextlib.contextmanager
def sandboxed(
    argv: Sequence[str],
    root: Path,
    *,
    allow_unsandboxed: bool = False,
    allow_read: Iterable[str] = (),
    network: bool = False,
) -> Iterator[list[str]]:
    """Yield `argv` wrapped in the sandbox; run it inside the `with` block.

    When the sandbox cannot start, raise SandboxUnavailable (never a silent fallback), unless
    the user allowed unconfined commands, in which case `argv` comes back unchanged.
    """
    try:
        bwrap = check_sandbox(root)
    except SandboxUnavailable:
        if not allow_unsandboxed:
            raise
        yield list(argv)
        return
    cgroup = _pids_cgroup()
    wrapped = bwrap_argv(
        argv, root, bwrap=bwrap, network=network, allow_read=allow_read, cgroup=cgroup
    )
    if cgroup is not None:
        enter = f'echo $$ > {shlex.quote(str(cgroup / "cgroup.procs"))} && exec "$@"'
        wrapped = ["sh", "-c", enter, "v4code-sandbox", *wrapped]
    try:
        yield wrapped
    finally:
        if cgroup is not None:
            _remove_cgroup(cgroup)
