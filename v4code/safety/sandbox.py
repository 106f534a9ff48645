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
- a private `/tmp`, and `/run`, `/var/run` and `$XDG_RUNTIME_DIR` masked; every other host
  Unix socket v4code can find (those listening in its network namespace, and a shallow scan
  of /var, /srv, /opt, /mnt, /media, /home, /root) has /dev/null bound over it, so no host
  daemon (docker, D-Bus, a database) can be reached; the network namespace is private too;
- `$HOME` an empty scratch tmpfs, except the paths the user lists in `sandbox_allow_read`;
- the v4code home (settings, sessions, checkpoints) masked and read-only, always, even
  when the workspace (a batch unit's worktree) lies inside it: the workspace is bound on top;
- the workspace writable, except `.git/` and `.v4code/`, bound read-only on top; where its
  `.git` file pointed when this process first looked (a worktree's repository), only if
  that is a real git directory and its `commondir` a real repository;
- the user's toolchain readable wherever it lives: every directory on PATH and the
  installation it belongs to (pyenv, nvm under `$HOME`; of `~/.cargo` only bin, registry
  and git, of `~/.local` only bin and lib/python*), the virtualenvs links there lead into,
  the active virtualenv, the running interpreter's prefix, any virtualenv the command
  names, and a virtualenv's `pyvenv.cfg` `home` when it holds a Python. A PATH folder in the
  workspace (an activated `.venv/bin`) is never followed: a link planted there shows nothing.
  A path that cannot be looked at (`/proc/1/root/...`) is left out; it never stops a command.

Mounts are applied shallowest first, so a deeper path (the workspace under `/tmp`, a venv
under `$HOME`) lands on top of the mask that hides its parent.

Limits: a process count (a pids cgroup when v4code may create one, which is the only limit
the kernel enforces for uid 0, and `ulimit -u` otherwise) and a file size (`ulimit -f`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import shlex
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from v4code.errors import ToolError
from v4code.safety import socket_scan
from v4code.safety.process import WarmUp, capture_process
from v4code.safety.programs import find_program

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PROCESSES",
    "SandboxUnavailable",
    "bwrap_argv",
    "check_sandbox",
    "confined",
    "find_bwrap",
    "sandbox_problem",
    "sandboxed",
    "warm_up",
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


def find_bwrap(workspace: Path | None = None) -> str | None:
    """bubblewrap's absolute path, found once and never inside a workspace: a planted
    `.venv/bin/bwrap` would otherwise *be* the sandbox."""
    return find_program("bwrap", workspace)


def _shell(name: str, root: Path) -> str:
    """The absolute path of a shell v4code puts around the command (`bash`, `sh`)."""
    found = find_program(name, root)
    if found is None:
        raise SandboxUnavailable(
            f"This command must run in the sandbox, but `{name}` was not found outside the "
            "workspace, so it was not run."
        )
    return found


@dataclass(frozen=True)
class _Mount:
    op: str  # a bwrap option: --tmpfs, --bind, --ro-bind; or --socket, --hide (/dev/null)
    path: Path


_REALS: contextvars.ContextVar[dict[str, Path] | None] = contextvars.ContextVar(
    "_REALS", default=None
)
"""While one command line is built: the real paths looked up so far. PATH's folders and
the paths found in them share most of their prefixes; one look each per command line."""


def _real(path: str | Path) -> Path:
    key = str(path)
    seen = _REALS.get()
    if seen is not None and key in seen:
        return seen[key]
    real = Path(os.path.realpath(os.path.expanduser(key)))
    if seen is not None:
        seen[key] = real
    return real


_VENV_CFGS: contextvars.ContextVar[dict[Path, bool] | None] = contextvars.ContextVar(
    "_VENV_CFGS", default=None
)
"""While one command line is built: which folders hold a `pyvenv.cfg`. The links of PATH's
folders lead into a few installations: their parents were looked at once per link."""


@contextlib.contextmanager
def _reals_shared() -> Iterator[None]:
    """`_real` answers each path once within this block (this thread's, this command's), and
    so does the look for a folder's `pyvenv.cfg`."""
    token = _REALS.set({})
    cfgs = _VENV_CFGS.set({})
    try:
        yield
    finally:
        _VENV_CFGS.reset(cfgs)
        _REALS.reset(token)


def _reals(paths: Iterable[str]) -> list[Path]:
    """`_real` of each path that can be looked at (`/proc/1/root/...` cannot, as root)."""
    out: list[Path] = []
    for path in paths:
        with contextlib.suppress(OSError):
            out.append(_real(path))
    return out


def _under(path: Path, base: Path) -> bool:
    """`path` is `base` or lies below it, lexically. Compared as text when both are absolute
    (what pathlib's parts comparison amounts to there, at a fraction of the cost: this runs
    thousands of times per sandboxed command)."""
    p, b = str(path), str(base)
    if p[:1] == "/" and b[:1] == "/" and p[:2] != "//" and b[:2] != "//":
        return p == b or p.startswith(b if b == "/" else b + "/")
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


OUTSIDE_SYSTEM = ("/home", "/root", "/srv", "/mnt", "/media", "/opt", "/var")
"""Where a machine keeps people's and services' files, not its system: masked too for a
program that only reads (a language server), whose reads need no person's yes, so a
repository's server config (`extraPaths` to a web app's settings under /srv) reads none of
them for the model. Its own program and toolchain stay visible."""


def _outside_system(argv0: str) -> tuple[list[Path], list[Path]]:
    """(the folders to mask for a read-only program, its own installation to show)."""
    masks = []
    for name in OUTSIDE_SYSTEM:
        with contextlib.suppress(OSError):
            if os.path.isdir(name) and _real(name) != Path("/"):
                masks.append(_real(name))
    shown: list[Path] = []
    if os.path.isabs(argv0):
        with contextlib.suppress(OSError):
            folder = _real(argv0).parent
            shown += [folder, _prefix(folder)]
    return masks, shown


def _prefix(directory: Path) -> Path:
    """The installation a `bin` (or pyenv `shims`) directory belongs to."""
    if directory.name in ("bin", "sbin", "shims") and directory.parent != directory:
        return directory.parent
    return directory


def _venv_root(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if _holds_venv_cfg(candidate):
            return candidate
    return None


def _holds_venv_cfg(folder: Path) -> bool:
    seen = _VENV_CFGS.get()
    if seen is not None and folder in seen:
        return seen[folder]
    found = (folder / "pyvenv.cfg").is_file()
    if seen is not None:
        seen[folder] = found
    return found


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


def _linked_venvs(directory: Path) -> list[Path]:
    """The virtualenvs and Pythons the links of a PATH folder outside the workspace point
    into (pipx and uv put links in `~/.local/bin`): a link's target is shown only as part
    of a venv or of a Python installation, never just its parent folder."""
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for item in directory.iterdir():
            with contextlib.suppress(OSError):
                if not item.is_symlink():
                    continue
                target = _real(item)
                venv = _venv_root(target)
                if venv is not None:
                    found.append(venv)
                elif target.name.startswith("python") and target.parent.name == "bin":
                    found.append(target.parent.parent)
    return found


def _in_workspace(path: Path, root: Path) -> bool:
    """Whether `path` (as written) is in the workspace, also when the workspace is reached
    through a link (`~/proj` -> `/data/proj`) and a command made `path` a link elsewhere."""
    for prefix in (path, *path.parents):
        with contextlib.suppress(OSError):
            if prefix != Path("/") and _under(_real(prefix), root):
                return True
    return False


def _path_folders(root: Path) -> list[Path]:
    """PATH's folders, their installations and the venvs their links lead into. A folder
    in the workspace (an activated `.venv/bin`) is not followed anywhere: a command can
    plant links there, or make the folder itself a link; only its venv's `pyvenv.cfg`
    names what else is shown (see `_toolchain`)."""
    found: list[Path] = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isabs(entry):
            continue
        lexical = Path(os.path.normpath(entry))
        if _in_workspace(lexical, root):
            venv = _venv_root(lexical)
            found += [] if venv is None else [venv]
            continue
        with contextlib.suppress(OSError):
            directory = _real(entry)
            if not directory.is_dir() or _under(directory, root):
                continue
            found += [directory, _prefix(directory)]
            if directory.parts[1:2] not in (("usr",), ("bin",), ("sbin",)):
                found += _linked_venvs(directory)  # system folders: visible anyway
    return found


def _narrowed(paths: list[Path]) -> list[Path]:
    """Installations that also hold credentials, cut down to what their tools need:
    `~/.cargo` (credentials.toml) to bin, registry and git; `~/.local` (keyrings, tokens
    under share/) to bin and lib/python*."""
    home = _home()
    narrow: dict[Path, tuple[str, ...]] = {}
    if home is not None:
        narrow[home / ".local"] = ("bin", "lib/python*")
        narrow[home / ".cargo"] = ("bin", "registry", "git")
    if os.path.isabs(os.environ.get("CARGO_HOME", "")):
        with contextlib.suppress(OSError):
            narrow[_real(os.environ["CARGO_HOME"])] = ("bin", "registry", "git")
    out: list[Path] = []
    for path in paths:
        parts = narrow.get(path)
        if parts is None:
            out.append(path)
            continue
        with contextlib.suppress(OSError):
            out += sorted(p for part in parts for p in path.glob(part))
    return out


def _toolchain(root: Path, command_text: str) -> list[Path]:
    """Everything the command's programs need to be found and to run, as real paths.

    Nothing a command can inspect stops it: a path that cannot be looked at (`/proc/1/root`
    as root) is left out."""
    found = _path_folders(root)
    path_dirs = [p for p in os.environ.get("PATH", "").split(os.pathsep) if os.path.isabs(p)]
    with contextlib.suppress(OSError):
        if any(_real(p) == _real("~/.cargo/bin") for p in path_dirs):
            found.append(_real(os.environ.get("RUSTUP_HOME", "~/.rustup")))
    for name in (os.environ.get("VIRTUAL_ENV"), sys.prefix, sys.base_prefix):
        if name and os.path.isabs(name):
            found.append(Path(os.path.normpath(name)))
    for word in _PATH_IN_COMMAND.findall(command_text):
        # Lexically: a venv's bin/python is a link out of the venv.
        with contextlib.suppress(OSError, ValueError):
            venv = _venv_root(Path(os.path.normpath(os.path.expanduser(word))))
            if venv is not None:
                found.append(venv)
    out: list[Path] = []
    for path in found:
        with contextlib.suppress(OSError):
            real = _real(path)
            if _in_workspace(path, root) and not _under(real, root) and _venv_root(real) != real:
                continue  # a link out of the workspace is followed only to a virtualenv
            out.append(real)
            venv = _venv_root(path)
            base = _venv_base(venv) if venv is not None else None
            out += [] if base is None else [base]
    return _narrowed(out)


def _mounts(
    root: Path,
    command_text: str,
    allow_read: Iterable[str],
    hide_sockets: bool = True,
    read_only: bool = False,
    hide: Iterable[Path] = (),
) -> tuple[list[_Mount], Path]:
    """The mounts on top of the read-only system, and the v4code home to make read-only."""
    masks = _masks()
    program: list[Path] = []
    if read_only:
        extra, program = _outside_system(command_text.split(" ", 1)[0])
        masks += [m for m in extra if m not in masks]
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
        for p in (*_toolchain(root, command_text), *program, *_git_dirs(root))
        if not any(_under(m, p) for m in masks)
    ]
    for path in [*found, *_reals(allow_read)]:
        if os.path.exists(path) and hidden(path) and not _under(path, v4home):
            readable += [] if path in readable else [path]
    mounts += [_Mount("--ro-bind", p) for p in readable]
    # Always masked, even when the workspace (a batch unit's worktree) lies inside it:
    # the workspace is bound again on top, deeper.
    if v4home.is_dir() and v4home not in (Path("/"), root):
        mounts.append(_Mount("--tmpfs", v4home))
    mounts.append(_Mount("--ro-bind" if read_only else "--bind", root))
    for protected in (".git", ".v4code"):
        if os.path.lexists(root / protected):
            mounts.append(_Mount("--ro-bind", root / protected))
    mounts += [_Mount("--hide", p) for p in map(Path, hide) if _under(p, root) and p != root]
    shown = [root, *readable]
    for sock in _host_sockets() if hide_sockets else []:  # none stays reachable
        if not hidden(sock) or any(_under(sock, p) for p in shown):
            mounts.append(_Mount("--socket", sock))
    # Shallowest first (stable for equal depths): deeper mounts land on top.
    mounts.sort(key=lambda m: len(m.path.parts))
    return mounts, v4home


_GIT_DIRS: dict[Path, list[Path]] = {}
"""What each workspace's `.git` file pointed to when this process first looked (before
any command of the session ran): a `.git` file a command writes later binds nothing."""


def _a_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (
        (path / "objects").is_dir() or (path / "commondir").is_file()
    )


def _read_git_dirs(root: Path) -> list[Path]:
    try:
        text = (root / ".git").read_text(errors="replace")
    except OSError:
        return []  # a directory (the usual case) or nothing
    if not text.startswith("gitdir:"):
        return []
    gitdir = _real(root / text[len("gitdir:") :].strip())
    # the `.git` file is the repository's to write: only a real git directory is shown
    if not _a_git_dir(gitdir):
        return []
    with contextlib.suppress(OSError):  # a worktree's git dir names the worktree back
        back = (gitdir / "gitdir").read_text(errors="replace").strip()
        if _real(back).parent != root:
            return []
    found = [gitdir]
    with contextlib.suppress(OSError):
        common = _real(gitdir / (gitdir / "commondir").read_text().strip())
        if not ((common / "objects").is_dir() and (common / "HEAD").is_file()):
            return []  # `commondir` must name a real repository, not a folder to expose
        found.append(common)
    return found


def _git_dirs(root: Path) -> list[Path]:
    """Where a worktree's or submodule's `.git` file points (read-only, as `.git/` is), as
    it was when this process first looked."""
    if root not in _GIT_DIRS:
        try:
            _GIT_DIRS[root] = _read_git_dirs(root)
        except OSError:
            _GIT_DIRS[root] = []
    return _GIT_DIRS[root]


@functools.lru_cache(maxsize=1)
def _scanned_sockets() -> tuple[str, ...]:
    """`socket_scan`'s socket files, found once per process: by a Python of its own (another
    core, no share of this interpreter's lock), or here when that one cannot run."""
    if sys.executable:
        with contextlib.suppress(OSError):
            done = capture_process(
                [sys.executable, "-I", "-S", socket_scan.__file__], cwd=Path("/"), timeout=60
            )
            if done.returncode == 0:
                names = done.stdout.split(b"\0")[:-1]
                return tuple(os.fsdecode(name) for name in names)
    return tuple(socket_scan.scan())


def _host_sockets() -> list[Path]:
    """Every host Unix socket file v4code can find: those listening in its network
    namespace (/proc/net/unix) and those `_scanned_sockets` found."""
    _WARM_UP.wait()
    paths = set(_scanned_sockets())
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/unix").read_text(errors="replace").splitlines()[1:]:
            fields = line.split(None, 7)
            if len(fields) == 8 and fields[7].startswith("/"):
                paths.add(fields[7])
    return [Path(name) for name in sorted(paths) if socket_scan.is_socket(name)]


def bwrap_argv(
    argv: Sequence[str],
    root: Path,
    *,
    bwrap: str = "bwrap",
    network: bool = False,
    allow_read: Iterable[str] = (),
    cgroup: Path | None = None,
    hide_sockets: bool = True,
    read_only: bool = False,
    hide: Iterable[Path] = (),
) -> list[str]:
    """The command line that runs `argv` in the sandbox, with `root` the one writable place
    (`read_only`: not even that; a language server reads the project and writes only its
    caches, which land in the private /tmp and the empty home). Each file of `hide` inside
    the workspace reads as empty (a language server is shown no secret file)."""
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
    with _reals_shared():
        mounts, v4home = _mounts(root, " ".join(argv), allow_read, hide_sockets, read_only, hide)
    for mount in mounts:
        if mount.op == "--tmpfs":
            wrapped += ["--tmpfs", str(mount.path)]
        elif mount.op in ("--socket", "--hide"):  # /dev/null over it: refused, or empty
            wrapped += ["--ro-bind", "/dev/null", str(mount.path)]
        else:
            wrapped += [mount.op, str(mount.path), str(mount.path)]
    if any(m.op == "--tmpfs" and m.path == v4home for m in mounts):
        wrapped += ["--remount-ro", str(v4home)]  # last: binds inside it need it writable
    wrapped += ["--chdir", str(root)]
    limits = f"ulimit -f {MAX_FILE_BYTES // 1024} && "
    if cgroup is None:
        limits += f"ulimit -u {MAX_PROCESSES} 2>/dev/null; "
    wrapped += [_shell("bash", root), "-c", limits + 'exec "$@"', "v4code-sandbox"]
    return [*wrapped, *argv]


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, root: str) -> str | None:
    """None if a trivial command runs in the sandbox; else bubblewrap's own complaint."""
    try:
        done = capture_process(
            # without the host sockets: one that goes away meanwhile (bwrap cannot create
            # the file it binds over) must not make the sandbox unavailable for the session
            bwrap_argv(["true"], Path(root), bwrap=bwrap, hide_sockets=False),
            cwd=Path(root),
            timeout=20,
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
    _WARM_UP.wait()
    bwrap = find_bwrap(root)
    if bwrap is None:
        return "bubblewrap (`bwrap`) is not installed"
    return _probe(bwrap, str(_real(root)))


_WARM_UP = WarmUp("v4code-sandbox-warm-up")


def warm_up(root: Path) -> None:
    """Start, in the background, what the first sandboxed command would otherwise wait for:
    the check that bubblewrap starts here and the scan for host sockets. Both are done once
    per process anyway; a session that will run commands starts them when it opens, so they
    overlap its start-up and first requests instead of delaying its first command."""

    def warm() -> None:
        bwrap = find_bwrap(root)
        if bwrap is not None:
            _probe(bwrap, str(_real(root)))
        _scanned_sockets()

    _WARM_UP.start(warm)


def check_sandbox(root: Path) -> str:
    """Return the bwrap executable to use, or raise SandboxUnavailable saying why not."""
    _WARM_UP.wait()
    bwrap = find_bwrap(root)
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
    """Members that are still exiting keep the group busy for a moment: try again, soon at
    first (they are usually gone within a millisecond or two), for about a second in all."""
    delay, waited = 0.001, 0.0
    while True:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if waited >= 1.0:
                return
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.02)


@contextlib.contextmanager
def sandboxed(
    argv: Sequence[str],
    root: Path,
    *,
    allow_unsandboxed: bool = False,
    allow_read: Iterable[str] = (),
    network: bool = False,
    read_only: bool = False,
    hide: Iterable[Path] = (),
) -> Iterator[list[str]]:
    """Yield `argv` wrapped in the sandbox; run it inside the `with` block.

    When the sandbox cannot start, raise SandboxUnavailable (never a silent fallback), unless
    the user allowed unconfined commands, in which case `argv` comes back as every program
    run outside the sandbox is started (safety.isolation).
    """
    try:
        bwrap = check_sandbox(root)
    except SandboxUnavailable:
        if not allow_unsandboxed:
            raise
        from v4code.safety.isolation import isolated

        yield isolated(argv)  # unconfined, but out of sight of v4code's process where possible
        return
    cgroup = _pids_cgroup()
    wrapped = bwrap_argv(
        argv,
        root,
        bwrap=bwrap,
        network=network,
        allow_read=allow_read,
        cgroup=cgroup,
        read_only=read_only,
        hide=hide,
    )
    if cgroup is not None:
        enter = f'echo $$ > {shlex.quote(str(cgroup / "cgroup.procs"))} && exec "$@"'
        wrapped = [_shell("sh", root), "-c", enter, "v4code-sandbox", *wrapped]
    try:
        yield wrapped
    finally:
        if cgroup is not None:
            _remove_cgroup(cgroup)


@contextlib.contextmanager
def confined(
    argv: Sequence[str], root: Path, *, sandbox: bool, allow_read: Iterable[str] = ()
) -> Iterator[list[str]]:
    """A shell command v4code runs (the model's, a project's hook, a job's verify command):
    in the sandbox when `sandbox` is on (SandboxUnavailable when it cannot start),
    else only out of sight of v4code's process (safety.isolation)."""
    if not sandbox:
        from v4code.safety.isolation import isolated

        yield isolated(argv)
        return
    with sandboxed(argv, root, allow_read=allow_read) as wrapped:
        yield wrapped
