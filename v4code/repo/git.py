"""The one way v4code runs git: hardened against the repository it reads.

A repository's own configuration can name programs git starts for us: `core.fsmonitor` (run
by `ls-files`, `diff`, `status`), hooks, external diff drivers and textconv filters (`diff`),
clean filters (`diff` reading the work tree). v4code reads repositories it has not been told
to trust, so every git call goes through `run` (or `stream`), which

- passes `-c` overrides for the keys in `HARDENING` (fsmonitor and hooks off, submodules
  never entered, no signing, paths unquoted, no colour), and `--no-ext-diff --no-textconv`
  to the diff-like commands;
- before a `diff` or `status` that may read the work tree, switches off the clean/smudge/
  process filters (`drivers_off`): those the repository's own configuration defines (in any
  file it includes, whatever the condition) always;
  those only the user's global or system configuration defines (git-lfs) too, unless the
  repository's own configuration holds nothing but the ordinary keys of a clone
  (`_ORDINARY_KEYS`) with plain remote URLs, because git-lfs starts programs it names;
- starts git with `GIT_TERMINAL_PROMPT=0` (never waits for a password) and
  `GIT_OPTIONAL_LOCKS=0` (a read never takes the index lock from a person's git), and without
  the inherited `GIT_*` variables (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`,
  `GIT_CONFIG_*`, `GIT_EXTERNAL_DIFF`, ...) unless a caller passes one on purpose through
  `keep_env` (a pre-commit review keeps the `GIT_INDEX_FILE` git gives its hooks);
- starts the git that `safety/programs.py` resolved once to an absolute path outside the
  workspace (a `.venv/bin/git` a command planted is never run on the host);
- runs git in its own process group with a timeout and cancellation (`safety/process.py`), so
  a stuck git is killed with everything it started;
- raises `GitError` when git is missing, fails or is stopped.

Git runs as a subprocess, not through gitpython: it starts faster than importing gitpython,
and a commit hook pays that cost on every commit. Code that uses gitpython (worktrees for
batch jobs) must give it the same protection, on every `Git` object it uses (`repo.git`):
`g.set_persistent_git_options(c=[f"{k}={v}" for k, v in HARDENING] + drivers_off(path))`,
`--no-gpg-sign` where it commits or picks, `--no-ext-diff --no-textconv` on its diffs. gitpython
copies `os.environ` into every call and cannot drop a variable from it, so its calls are
started by a `Git` subclass in `git_env()`'s environment (`repo/worktrees.py`), never by
changing this process's environment.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Collection, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, ConfigError
from v4code.safety.process import StreamedProcess, capture_process
from v4code.safety.programs import find_program
from v4code.safety.redact import is_secret_env

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_TIMEOUT",
    "HARDENING",
    "drivers_off",
    "GitError",
    "config_args",
    "find_git",
    "git_argv",
    "git_env",
    "run",
    "run_text",
    "stream",
]

DEFAULT_TIMEOUT = 120.0

HARDENING: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.quotepath", "off"),
    ("color.ui", "false"),
    ("diff.ignoreSubmodules", "all"),
    ("status.submoduleSummary", "false"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("log.showSignature", "false"),
    ("commit.gpgSign", "false"),
)
"""Configuration every git call overrides (`-c key=value`). Submodules are never entered: a
nested repository (a gitlink a command initialised, or one `git add --all` recorded) has a
configuration of its own that no `-c` here can see, and `status`, `diff`, `commit` and a
recursing `checkout`/`grep`/`fetch` would run its filters in it. Signatures are neither made
nor checked: both start `gpg.program`, which the repository may name. `diff.external` is not
in it: git has no way to unset it from the command line (an empty value makes every diff fail with
"cannot run"); `--no-ext-diff` on the diff-like commands and dropping GIT_EXTERNAL_DIFF keep
it from running instead."""

DIFF_COMMANDS = frozenset(
    {"diff", "diff-files", "diff-index", "diff-tree", "log", "show", "format-patch"}
)
"""Commands that take `--no-ext-diff --no-textconv`."""

_KEPT_GIT_VARS = frozenset({"GIT_EXEC_PATH", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH"})
"""Inherited GIT_* variables that only say where git itself lives; every other one is dropped."""


class GitError(ConfigError):
    """git is missing, or a git command failed or was stopped (the message says which)."""


def find_git(workspace: Path | None = None) -> str | None:
    """git's absolute path, found once and never inside a workspace (`safety/programs.py`)."""
    return find_program("git", workspace)


def _git_or_fail(workspace: Path | None) -> str:
    git = find_git(workspace)
    if git is None:
        raise GitError("git is not installed (or not on PATH outside the workspace)")
    return git


def config_args(keep_config: Collection[str] = ()) -> list[str]:
    """The `-c key=value` pairs of HARDENING, less the keys named in `keep_config`."""
    out: list[str] = []
    for key, value in HARDENING:
        if key not in keep_config:
            out += ["-c", f"{key}={value}"]
    return out


def git_env(
    keep_env: Collection[str] = (),
    base: Mapping[str, str] | None = None,
    *,
    keep_secrets: bool = False,
) -> dict[str, str]:
    """The environment for git: the caller's, without inherited GIT_* variables (bar those
    in `keep_env`) and without v4code's secrets (unless `keep_secrets`: a unit's own agent
    process needs the key), never prompting, never taking optional locks."""
    source = os.environ if base is None else base
    env = {
        name: value
        for name, value in source.items()
        if (not name.startswith("GIT_") or name in _KEPT_GIT_VARS or name in keep_env)
        and (keep_secrets or not is_secret_env(name))
    }
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_PAGER"] = "cat"
    return env


def git_argv(*args: str, git: str | None = None, keep_config: Collection[str] = ()) -> list[str]:
    """The hardened command line for `git ARGS` (without the filter overrides of `run`);
    GitError when no git may be started."""
    argv = [git or _git_or_fail(None), *config_args(keep_config)]
    if args and args[0] in DIFF_COMMANDS:
        return [*argv, args[0], "--no-ext-diff", "--no-textconv", *args[1:]]
    return [*argv, *args]


def _describe(args: tuple[str, ...]) -> str:
    shown = " ".join(args)
    return shown if len(shown) <= 120 else shown[:117] + "..."


_FILTER_PARTS = ("clean", "smudge", "process")
"""The keys of a filter driver (`filter.<driver>.<part>`) that name a program."""

_USER_SCOPES = frozenset({"global", "system"})
"""Configuration scopes a repository cannot write: ~/.gitconfig (or XDG's git/config) and
/etc/gitconfig, with what they include. GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM and the other
GIT_CONFIG_* variables that could point them elsewhere are dropped by `git_env`."""

_CALLER_SCOPES = _USER_SCOPES | {"command"}
"""Scopes whose keys are not the repository's: the user's, and `-c` pairs (HARDENING's)."""

# fmt: off
_ORDINARY_KEYS = frozenset({
    "core.repositoryformatversion", "core.filemode", "core.bare", "core.logallrefupdates",
    "core.ignorecase", "core.precomposeunicode", "core.symlinks", "core.autocrlf", "core.eol",
    "core.safecrlf", "core.sparsecheckout", "core.sparsecheckoutcone",
    "extensions.*",
    "remote.*.url", "remote.*.pushurl", "remote.*.fetch", "remote.*.tagopt", "remote.*.mirror",
    "remote.*.promisor", "remote.*.partialclonefilter",
    "branch.*.remote", "branch.*.merge", "branch.*.rebase", "branch.*.pushremote",
    "user.name", "user.email", "user.signingkey",
    "init.defaultbranch", "pull.rebase", "pull.ff", "push.default", "fetch.prune", "gc.auto",
    "lfs.repositoryformatversion", "lfs.*.access", "lfs.*.locksverify",
    "submodule.*.url", "submodule.*.active",
})
# fmt: on
"""The keys (`fnmatch` patterns; git prints section and name in lower case) that `git init`,
`git clone`, `git remote add`, `git submodule init`, `git sparse-checkout` and git-lfs write
to a repository's own configuration and that name no program. Left out on purpose, among
others: core.worktree (moves the work tree), core.sshcommand, core.askpass, credential.*,
http.*, url.*, include.*, includeif.*, gpg.*, maintenance.*, submodule.*.update (`!command`),
remote.*.uploadpack/receivepack/vcs, lfs.url and lfs.customtransfer.* (git-lfs starts
programs and connects where they say)."""

_REMOTE_KEYS = frozenset(
    {"remote.*.url", "remote.*.pushurl", "submodule.*.url", "branch.*.remote",
     "branch.*.pushremote", "extensions.partialclone"}
)  # fmt: skip
"""Ordinary keys whose value is a URL, or a remote's name that git and git-lfs take for a
URL when no remote has it: `_plain_url` must accept the value."""

_URL_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})


def _plain_url(url: str) -> bool:
    """Whether `url` is a https/http/ssh/git/file URL, a scp-like `[user@]host:path`, or a
    local path (or a remote's name): no `<transport>::address` (`ext::` runs a command), no
    other scheme, and no host or user that an ssh command line would take for an option."""
    if not url or not url.isprintable() or url.startswith("-") or "::" in url:
        return False
    scheme, sep, rest = url.partition("://")
    if sep:
        authority = rest.split("/", 1)[0].replace("@", ":").split(":")
        return scheme.lower() in _URL_SCHEMES and not any(p.startswith("-") for p in authority)
    head, colon, _ = url.partition(":")
    if colon and "/" not in head:  # scp-like
        return bool(head) and not any(part.startswith("-") for part in head.split("@"))
    return True  # a path


def _ordinary(key: str, value: str | None) -> bool:
    """Whether the repository's configuration may hold `key = value` with the user's filter
    drivers kept (see `_ORDINARY_KEYS`, `_REMOTE_KEYS`)."""
    if not any(fnmatchcase(key, pattern) for pattern in _ORDINARY_KEYS):
        return False
    if any(fnmatchcase(key, pattern) for pattern in _REMOTE_KEYS):
        return value is not None and _plain_url(value)
    return True


def _config_list(
    root: Path, env: Mapping[str, str], timeout: float, *options: str
) -> list[str] | None:
    """The NUL-separated fields `git config OPTIONS -z --list` prints ([] when git cannot
    start or hangs), or None when git refuses (an old git that does not know an option)."""
    try:
        argv = git_argv("config", *options, "-z", "--list", git=find_git(root))
    except GitError:
        return []
    try:
        done = capture_process(argv, cwd=root, timeout=timeout, env=env)
    except OSError:
        return []
    if done.timed_out:
        return []
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]


ConfigEntry = tuple[str, str, str, str | None]
"""(scope, origin, key, value) of one configuration entry (value None for a key without `=`;
origin `file:PATH` or "" when git cannot tell)."""


def _entries(fields: list[str], width: int, scope: str = "unknown") -> list[ConfigEntry]:
    """Fields of `git config [--show-scope] [--show-origin] -z --list`, `width` a row."""
    out: list[ConfigEntry] = []
    for i in range(0, len(fields) - width + 1, width):
        row = fields[i : i + width]
        key, newline, value = row[-1].partition("\n")
        out.append((row[0] if width == 3 else scope, row[-2] if width > 1 else "", key,
                    value if newline else None))  # fmt: skip
    return out


def _scoped_config(root: Path, env: Mapping[str, str], timeout: float) -> list[ConfigEntry]:
    """Every configuration entry git sees in `root`; scope "unknown" for them all when git
    cannot tell (older than 2.26)."""
    for options in (("--show-scope", "--show-origin"), ("--show-origin",), ()):
        fields = _config_list(root, env, timeout, *options)
        if fields is not None and len(fields) % (len(options) + 1) == 0:
            return _entries(fields, len(options) + 1)
    return []


_INCLUDE_DEPTH = 10
"""As deep as git itself follows includes."""


def _include_target(origin: str, value: str | None, root: Path) -> Path | None:
    """The file an `include.path` / `includeIf.*.path` entry names, resolved as git does
    (relative to the file that holds it, `~/` in the home folder)."""
    if not value or not origin.startswith("file:") or value.startswith("%(prefix)"):
        return None
    if value.startswith("~"):
        return Path(os.path.expanduser(value))
    return (root / origin.removeprefix("file:")).parent / value


def _with_every_include(
    root: Path, env: Mapping[str, str], timeout: float, entries: list[ConfigEntry]
) -> list[ConfigEntry]:
    """`entries` plus those of every file the repository's own configuration includes,
    whatever the condition (`includeIf "onbranch:..."`, `gitdir:`, `hasconfig:`): git reads
    a conditional file on the branch or in the worktree where the condition holds, not
    where v4code asked, so all of them count as the repository's (scope "local")."""
    out = list(entries)
    queue = [(e, 0) for e in entries if e[0] not in _CALLER_SCOPES]
    seen: set[Path] = set()
    while queue:
        (_, origin, key, value), depth = queue.pop()
        if not (key == "include.path" or (key.startswith("includeif.") and key.endswith(".path"))):
            continue
        target = _include_target(origin, value, root)
        if target is None or target in seen or depth >= _INCLUDE_DEPTH or not target.is_file():
            continue
        seen.add(target)
        fields = _config_list(root, env, timeout, "--file", str(target), "--no-includes")
        found = _entries(fields or [], 1, "local")
        found = [("local", f"file:{target}", k, v) for _, _, k, v in found]
        out += found
        queue += [(e, depth + 1) for e in found]
    return out


def drivers_off(
    root: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    users_too: bool = False,
) -> list[str]:
    """`key=value` settings that switch off the filter and merge drivers v4code must not
    start: the programs a checkout (smudge), an add or a diff of the work tree (clean) or a
    cherry-pick's three-way merge would run.

    A filter driver is the user's own when each of its clean/smudge/process programs is set
    only in the user's global or system configuration, as `git lfs install` writes it. It is
    kept (LFS files are real content in batch worktrees) only when every key of the
    repository's own configuration (any scope but global, system and command: `.git/config`,
    `config.worktree` and the files they include) is one `_ORDINARY_KEYS` allows, each URL
    or remote name in it plain (`_plain_url`): a kept driver reads that configuration, and
    git-lfs starts programs it names (custom transfer agents, credential helpers, ssh and
    askpass commands) that no list of forbidden keys could be sure to cover. Otherwise,
    silently, every driver is off and LFS files stay pointers. A driver the repository
    defines or redefines, one set on the command line, and every driver when git cannot tell
    scopes (older than 2.26) are always off. `users_too` switches the user's drivers off as
    well (for a copy that lacks what they keep in the repository, e.g. git-lfs objects).

    A merge driver the repository defines becomes git's own text merge (`git merge-file`):
    the pick merges as it would without the driver, or conflicts. The repository's own
    configuration includes every file it names under any condition (`_with_every_include`),
    so what is off does not depend on the branch or worktree git runs in.

    One `git config --list` answers it all (one more a file the repository includes).
    """
    env = git_env() if env is None else env
    entries = _with_every_include(root, env, timeout, _scoped_config(root, env, timeout))
    users_kept = not users_too and all(
        _ordinary(key, value) for scope, _, key, value in entries if scope not in _CALLER_SCOPES
    )
    scopes: dict[str, set[str]] = {}
    merges: set[str] = set()
    for scope, _, key, _ in entries:
        driver, _, part = key.rpartition(".")
        if driver.startswith("filter.") and part in _FILTER_PARTS:
            scopes.setdefault(driver, set()).add(scope)
        elif driver.startswith("merge.") and part == "driver" and scope not in _USER_SCOPES:
            merges.add(driver)
    out: list[str] = []
    for driver, defined_in in sorted(scopes.items()):
        if defined_in <= _USER_SCOPES and users_kept:
            continue
        out += [f"{driver}.{part}=" for part in _FILTER_PARTS]
        out.append(f"{driver}.required=false")
    text_merge = f"{shlex.quote(find_git() or 'git')} merge-file --marker-size=%L %A %O %B"
    return out + [f"{driver}.driver={text_merge}" for driver in sorted(merges)]


def _reads_work_tree(args: tuple[str, ...]) -> bool:
    """Commands that may run the repository's clean/smudge filters on work-tree files."""
    command = args[0] if args else ""
    if command == "diff-index":
        return "--cached" not in args
    return command in ("diff", "status", "diff-files") and not {"--cached", "--staged"} & set(args)


def run(
    root: Path,
    *args: str,
    ok: Collection[int] = (0,),
    timeout: float = DEFAULT_TIMEOUT,
    cancel: CancelToken | None = None,
    keep_env: Collection[str] = (),
    keep_config: Collection[str] = (),
) -> bytes:
    """Run `git ARGS` in `root` and return its stdout.

    Raises GitError when git is not installed, exits with a status outside `ok`, or times
    out; Cancelled when `cancel` is set meanwhile. `keep_env` names inherited GIT_* variables
    to pass on; `keep_config` names HARDENING keys to leave as the repository sets them (only
    for commands that start nothing, e.g. `rev-parse --git-path hooks`).
    """
    git = _git_or_fail(root)
    env = git_env(keep_env)
    argv = git_argv(*args, git=git, keep_config=keep_config)
    if _reads_work_tree(args):  # a diff of the work tree would run the clean filters
        argv[1:1] = [arg for pair in drivers_off(root, env, timeout) for arg in ("-c", pair)]
    try:
        done = capture_process(argv, cwd=root, timeout=timeout, cancel=cancel, env=env)
    except OSError as exc:
        raise GitError(f"git could not be started: {exc.strerror or exc}") from None
    if done.cancelled:
        raise Cancelled()
    if done.timed_out:
        raise GitError(f"git {_describe(args)} did not finish within {timeout:g} s")
    if done.returncode not in ok:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise GitError(f"git {_describe(args)} failed: {message}")
    return done.stdout


class RunOptions(TypedDict, total=False):
    """`run`'s keyword options (see there), so that `run_text` takes the same ones."""

    ok: Collection[int]
    timeout: float
    cancel: CancelToken | None
    keep_env: Collection[str]
    keep_config: Collection[str]


def run_text(root: Path, *args: str, **options: Unpack[RunOptions]) -> str:
    """`run`, decoded as UTF-8 (undecodable bytes replaced: for reading, never for writing)."""
    return run(root, *args, **options).decode("utf-8", "replace")


def stream(
    root: Path,
    *args: str,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: CancelToken | None = None,
) -> StreamedProcess:
    """`git ARGS` with stdout read line by line (a context manager; see StreamedProcess).

    Raises GitError when git is not installed. For commands that read files as they are
    (`grep`), not for `diff`, which would need the filter overrides of `run`.
    """
    git = _git_or_fail(root)
    return StreamedProcess(
        git_argv(*args, git=git), cwd=root, timeout=timeout, cancel=cancel, env=git_env()
    )
