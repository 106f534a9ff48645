"""Workspace trust: a repository's `.v4code/` is ignored until its user trusts it.

`.v4code/` can hold settings, Python tools (imported, so they run with the user's rights before
any model call) and prompts. A cloned project, a pull request in CI or one repository of many in
a batch job was not written by the person running v4code, so none of that is used until the user
says so with `v4code trust`. A trust record is the repository's real path plus a digest of what
every entry of its `.v4code/` holds (a linked file by its content, a linked folder refused), and
of every repository file a hook or MCP server command of its config names (`./scripts/hook.sh`,
`node tools/server.js`); any change to those afterwards (a pull, a checkout, a planted file, the
model rewriting a script) makes it untrusted again until the user looks at it and trusts it once
more. The summary `v4code trust` shows names the commands hooks and MCP servers would run.

Records live in the user's own v4code home, never in the repository, so a repository cannot
trust itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from v4code.errors import V4codeError
from v4code.home import user_home
from v4code.project_rules import never_from_project
from v4code.textio import one_line
from v4code.toml_tables import TomlFile, read_toml_file

TrustStatus = Literal["trusted", "untrusted", "changed", "nothing"]

PROJECT_DIR = ".v4code"
# What v4code itself writes under `.v4code/` (and .gitignore leaves out): not the repository's
# instructions, so its churn never revokes trust.
STATE_DIRS = frozenset({"sessions"})
MAX_ENTRIES = 5_000
MAX_BYTES = 64 * 1024 * 1024
STORE_VERSION = 1

UNTRUSTED_NOTICE = (
    "this repository's .v4code/ is not trusted: using your settings only; "
    "run `v4code trust` to use it"
)
CHANGED_NOTICE = (
    "this repository's .v4code/ changed since you trusted it: using your settings only; "
    "run `v4code trust` to use it"
)


class TrustError(V4codeError):
    """`.v4code/` cannot be read or recorded (too large, unreadable, a broken trust file)."""


@dataclass(frozen=True)
class TrustState:
    """Whether a repository's `.v4code/` may be used, and what it would change."""

    root: Path
    status: TrustStatus
    digest: str
    summary: tuple[str, ...] = field(default=())
    config: TomlFile | None = None
    """`.v4code/config.toml` as hashed into `digest` (read once, a link never followed); the
    settings use it only when the status is trusted."""

    @property
    def trusted(self) -> bool:
        return self.status == "trusted"

    @property
    def notice(self) -> str | None:
        """The one line a user sees when `.v4code/` is there but not used."""
        if self.status == "untrusted":
            return UNTRUSTED_NOTICE
        if self.status == "changed":
            return CHANGED_NOTICE
        return None


@dataclass
class _Entry:
    rel: str
    kind: Literal["file", "link", "other", "named"]  # named: a file a project command names
    digest: str = ""
    target: str = ""


def project_dir(root: Path) -> Path:
    return Path(root) / PROJECT_DIR


def trust_store_path() -> Path:
    return user_home() / "trusted.json"


def _real(root: Path) -> str:
    return os.path.realpath(root)


def _file_digest(path: Path, budget: list[int]) -> str:
    """sha256 of a regular file, opened without following a link and without blocking."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    h = hashlib.sha256()
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not-a-file"
        while chunk := os.read(fd, 1 << 16):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise TrustError(
                    f"{PROJECT_DIR}/ holds more than {MAX_BYTES // (1024 * 1024)} MB; "
                    "v4code does not use a directory that large"
                )
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest()


def _read_config(root: Path) -> TomlFile:
    """`.v4code/config.toml`, read once per trust computation (a link is not read: it is
    never used as settings): its hooks and servers name files, the summary shows its keys."""
    return read_toml_file(project_dir(root) / "config.toml", follow_links=False)


def _entries(root: Path, config: TomlFile) -> list[_Entry]:
    """Every entry of `.v4code/` (links recorded, never followed), v4code's own state left out."""
    base = project_dir(root)
    entries: list[_Entry] = []
    budget = [MAX_BYTES]

    def walk_error(exc: OSError) -> None:
        raise TrustError(f"cannot read {one_line(str(exc.filename))}: {exc.strerror}")

    for dirpath, dirnames, filenames in os.walk(base, onerror=walk_error, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(base).as_posix()
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in STATE_DIRS]
        dirnames.sort()
        names = sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]
        for name in names:
            path = here / name
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    # Walking never follows a link, but a linked file is loaded through it, so
                    # the content of a linked regular file is part of the digest. A linked
                    # folder's files would be loaded through it unhashed: it is refused.
                    real = Path(os.path.realpath(path))
                    if real.is_dir():
                        raise TrustError(
                            f"{PROJECT_DIR}/{one_line(rel)} is a link to a folder "
                            f"({one_line(os.readlink(path))}); trust covers what files hold, "
                            "not where a link points: put the folder itself there"
                        )
                    content = _file_digest(real, budget) if real.is_file() else ""
                    entries.append(_Entry(rel, "link", digest=content, target=os.readlink(path)))
                elif stat.S_ISREG(st.st_mode):
                    entries.append(_Entry(rel, "file", digest=_file_digest(path, budget)))
                else:
                    entries.append(_Entry(rel, "other", digest=oct(stat.S_IFMT(st.st_mode))))
            except OSError as exc:
                raise TrustError(
                    f"cannot read {PROJECT_DIR}/{one_line(rel)}: {exc.strerror}"
                ) from None
            if len(entries) > MAX_ENTRIES:
                raise TrustError(
                    f"{PROJECT_DIR}/ holds more than {MAX_ENTRIES} files; "
                    "v4code does not use a directory that large"
                )
    entries.sort(key=lambda e: e.rel)
    for rel in _named_files(root, config):
        try:
            entries.append(_Entry(rel, "named", digest=_file_digest(Path(root) / rel, budget)))
        except OSError as exc:
            raise TrustError(f"cannot read {one_line(rel)}: {exc.strerror}") from None
    return entries


def _project_commands(config: TomlFile) -> list[tuple[str, str]]:
    """(what, command line) for every hook and MCP server the project's config.toml sets."""
    data = config.data
    found: list[tuple[str, str]] = []
    hooks = data.get("hooks")
    for event, value in hooks.items() if isinstance(hooks, dict) else ():
        commands = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found += [(f"{event} hook", c) for c in commands if isinstance(c, str) and c.strip()]
    mcp = data.get("mcp")
    servers = mcp.get("servers") if isinstance(mcp, dict) else None
    for name, table in servers.items() if isinstance(servers, dict) else ():
        if not isinstance(table, dict):
            continue
        command, args = table.get("command"), table.get("args") or []
        if isinstance(command, str):
            words = [command, *(a for a in args if isinstance(a, str))]
            found.append((f"MCP server {name}", shlex.join(words)))
        elif isinstance(table.get("url"), str):
            found.append((f"MCP server {name}", f"connects to {table['url']}"))
    return found


def _words(command: str, depth: int = 0) -> list[str]:
    """The words of a command line, an option's value (`--file=x`) and the words of a quoted
    inner command (`sh -c 'python scripts/x.py'`) included."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words += [w.split("=", 1)[1] for w in words if "=" in w]
    if depth < 2:
        words += [x for w in words if any(c.isspace() for c in w) for x in _words(w, depth + 1)]
    return words


def _named_files(root: Path, config: TomlFile) -> list[str]:
    """Repository files (workspace-relative) that a project hook or MCP server command names:
    what they hold is part of the trust, as `.v4code/`'s own files are."""
    base = Path(_real(root))
    named: set[str] = set()
    for _, command in _project_commands(config):
        for word in _words(command):
            if not word or word.startswith("-") or len(named) >= 64:
                continue
            real = Path(os.path.realpath(base / word))
            try:
                rel = real.relative_to(base).as_posix()
            except ValueError:
                continue  # outside the repository: the user's own programs
            if not rel.startswith((".git/", f"{PROJECT_DIR}/")) and real.is_file():
                named.add(rel)
    return sorted(named)


def _digest(entries: list[_Entry]) -> str:
    h = hashlib.sha256(b"v4code-trust-1\0")
    for e in entries:
        h.update(f"{e.kind}\0{e.rel}\0{e.digest}\0{e.target}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _summary(entries: list[_Entry], config: TomlFile) -> tuple[str, ...]:
    """A few lines on what `.v4code/` would change: settings, tools, prompts, anything else."""
    lines: list[str] = []
    used: set[str] = set()
    config_entry = next((e for e in entries if e.rel == "config.toml"), None)
    if config_entry is not None:
        used.add(config_entry.rel)
        lines.append(_settings_line(config_entry, config))
    tools = [e.rel for e in entries if e.rel.startswith("tools/") and e.rel.endswith(".py")]
    if tools:
        used.update(tools)
        names = ", ".join(one_line(Path(t).stem) for t in tools)
        lines.append(f"tools (Python, run by v4code with your rights): {names}")
    prompts = [e.rel for e in entries if e.rel.startswith("prompts/") and e.rel.endswith(".md")]
    if prompts:
        used.update(prompts)
        names = ", ".join(one_line(Path(p).stem) for p in prompts)
        lines.append(f"prompts replacing v4code's own: {names}")
    for what, command in _project_commands(config):
        lines.append(f"{what} runs with your rights: {one_line(command)}")
    named = [e.rel for e in entries if e.kind == "named"]
    if named:
        lines.append(f"files those commands run (their content counts): {', '.join(named)}")
    links = [e for e in entries if e.kind == "link"]
    if links:
        shown = ", ".join(one_line(f"{e.rel} -> {e.target}") for e in links[:5])
        lines.append(f"symbolic links (the linked file's content counts): {shown}")
    rest = [e.rel for e in entries if e.rel not in used and e.kind not in ("link", "named")]
    if rest:
        more = f" and {len(rest) - 5} more" if len(rest) > 5 else ""
        lines.append(f"other files: {', '.join(map(one_line, rest[:5]))}{more}")
    return tuple(lines)


def _settings_line(entry: _Entry, config: TomlFile) -> str:
    if entry.kind != "file":
        return "config.toml: not a regular file (ignored)"
    if config.error is not None:
        return "config.toml: not valid TOML (v4code stops with an error once trusted)"
    data = config.data
    keys = [str(k).replace("-", "_") for k in data]
    if not keys:
        return "config.toml: sets nothing"
    used = [k for k in keys if not never_from_project(k, data.get(k))]
    ignored = [k for k in keys if never_from_project(k, data.get(k))]
    line = f"settings: {', '.join(map(one_line, used)) or 'none'}"
    if ignored:
        line += f" (ignored even when trusted: {', '.join(map(one_line, ignored))})"
    return line


def _read_store() -> dict[str, Any]:
    path = trust_store_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": STORE_VERSION, "repositories": {}}
    except (OSError, ValueError) as exc:
        raise TrustError(f"cannot read the trust file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("repositories"), dict):
        raise TrustError(f"the trust file {path} is not v4code's; move it aside and trust again")
    return data


def _write_store(data: dict[str, Any]) -> None:
    from v4code.edits.atomic import atomic_write

    path = trust_store_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        atomic_write(path, text.encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise TrustError(f"cannot write the trust file {path}: {exc.strerror}") from None


def _recorded(root: Path) -> str | None:
    record = _read_store()["repositories"].get(_real(root))
    if isinstance(record, dict) and isinstance(record.get("digest"), str):
        return str(record["digest"])
    return None


# A file changed this close (in ns) before its folder was hashed may change again without its
# times moving (timestamps are coarse on some file systems): such a hash is not remembered.
RACY_NS = 2_000_000_000

# Per repository: the stat signature of its `.v4code/`, the digest and summary computed from
# it and the sha256 of the config.toml read then. A session start asks once (its project
# layer); hooks and MCP restarts ask again during the session: the folder is hashed again
# only when it changed.
_hashed: dict[str, tuple[tuple[Any, ...], str, tuple[str, ...], str]] = {}


def _signature(root: Path, config: TomlFile) -> tuple[Any, ...] | None:
    """What `.v4code/` holds as far as stat tells (every entry's identity, size and times, a
    link's target too), walked as `_entries` walks it; None when that cannot be read, or when
    a file changed too recently for a later change to be sure to move its times."""
    base = project_dir(root)
    signature: list[Any] = []
    newest = 0

    def walk_error(exc: OSError) -> None:
        raise exc

    try:
        for dirpath, dirnames, filenames in os.walk(base, onerror=walk_error, followlinks=False):
            here = Path(dirpath)
            if here == base:
                dirnames[:] = [d for d in dirnames if d not in STATE_DIRS]
            for name in sorted(filenames) + sorted(dirnames):
                path = here / name
                stats = [os.lstat(path)]
                if stat.S_ISDIR(stats[0].st_mode):
                    continue  # walked into: its entries are what counts
                if stat.S_ISLNK(stats[0].st_mode):
                    signature.append(os.readlink(path))
                    with contextlib.suppress(OSError):
                        stats.append(os.stat(path))  # a linked file's content counts
                for st in stats:
                    signature.append(
                        (name, st.st_mode, st.st_dev, st.st_ino, st.st_size)
                        + (st.st_mtime_ns, st.st_ctime_ns)
                    )
                    newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
            signature.append(dirpath)
            if len(signature) > 3 * MAX_ENTRIES:
                return None
        for rel in _named_files(root, config):
            st = os.stat(Path(root) / rel)
            signature.append(
                (rel, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            )
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        return None
    if newest >= time.time_ns() - RACY_NS:
        return None
    return tuple(signature)


def _hash_folder(root: Path) -> tuple[str, tuple[str, ...], TomlFile]:
    """The digest and summary of `.v4code/` ("" for an empty one) and its config.toml as
    hashed, hashed again only when its stat signature changed since the last time; TrustError
    when it cannot be read safely.

    The config is read first and the signature taken before hashing, so a change made while
    hashing changes the next signature and is hashed then; a config.toml that changed between
    its reading and its hashing is refused (the settings used are always the bytes hashed).
    """
    key = _real(root)
    config = _read_config(root)
    signature = _signature(root, config)
    remembered = _hashed.pop(key, None)
    if (
        signature is not None
        and remembered is not None
        and remembered[0] == signature
        and remembered[3] == config.digest
    ):
        _hashed[key] = remembered
        return remembered[1], remembered[2], config
    entries = _entries(root, config)
    _check_config(entries, config)
    digest = _digest(entries) if entries else ""
    summary = _summary(entries, config) if entries else ()
    if signature is not None:
        _hashed[key] = (signature, digest, summary, config.digest)
    return digest, summary, config


def _check_config(entries: list[_Entry], config: TomlFile) -> None:
    """TrustError unless the config.toml read is the one hashed (a plain file both times)."""
    entry = next((e for e in entries if e.rel == "config.toml"), None)
    hashed = entry.digest if entry is not None and entry.kind == "file" else None
    if hashed != (config.digest if config.present else None):
        raise TrustError(
            f"{PROJECT_DIR}/config.toml changed while v4code read it; start v4code again"
        )


def trust_state(root: Path) -> TrustState:
    """The repository's trust as of now: its `.v4code/` as it is on disk against the record.

    Anything that cannot be read safely (too large, unreadable, a broken trust file) counts as
    untrusted, with the reason in the summary: refusing is always the safe side.
    """
    base = project_dir(root)
    if base.is_symlink() or (base.exists() and not base.is_dir()):
        return TrustState(
            Path(_real(root)),
            "untrusted",
            "",
            (f"{PROJECT_DIR} is not a plain directory; v4code never uses it",),
        )
    if not base.is_dir():
        return TrustState(Path(_real(root)), "nothing", "")
    try:
        digest, summary, config = _hash_folder(root)
        if not digest:
            return TrustState(Path(_real(root)), "nothing", "")
        recorded = _recorded(root)
    except TrustError as exc:
        return TrustState(Path(_real(root)), "untrusted", "", (exc.message,))
    if recorded is None:
        status: TrustStatus = "untrusted"
    elif recorded == digest:
        status = "trusted"
    else:
        status = "changed"
    return TrustState(Path(_real(root)), status, digest, summary, config)


def is_trusted(root: Path) -> bool:
    return trust_state(root).trusted


def grant(root: Path) -> TrustState:
    """Trust `.v4code/` exactly as it is now; a later change makes it untrusted again."""
    state = trust_state(root)
    if state.status == "nothing":
        return state
    if not state.digest:
        raise TrustError("; ".join(state.summary) or f"{PROJECT_DIR}/ cannot be trusted")
    data = _read_store()
    data["version"] = STORE_VERSION
    data["repositories"][_real(root)] = {"digest": state.digest, "granted": int(time.time())}
    appeared = data.get("appeared")
    if isinstance(appeared, dict):
        appeared.pop(_real(root), None)  # the user looked at it and trusts it
    _write_store(data)
    return TrustState(state.root, "trusted", state.digest, state.summary, state.config)


def remember_appeared(root: Path) -> None:
    """Note that `.v4code/` appeared while v4code ran a command here (the model's command may
    have made it): the chat never offers to trust it (`appeared`); the user's own `v4code
    trust` (`grant`) still can, and forgets the note."""
    data = _read_store()
    appeared = data.get("appeared")
    data["appeared"] = appeared if isinstance(appeared, dict) else {}
    data["appeared"][_real(root)] = int(time.time())
    _write_store(data)


def appeared(root: Path) -> bool:
    """Whether `.v4code/` appeared during a v4code command (`remember_appeared`) and the user
    has not trusted it since; a trust file that cannot be read counts as yes."""
    try:
        recorded = _read_store().get("appeared")
    except TrustError:
        return True
    return isinstance(recorded, dict) and _real(root) in recorded


def forget_appeared(root: Path) -> None:
    """Drop the note of `remember_appeared` (`.v4code/` is gone: a new one is the user's)."""
    with contextlib.suppress(TrustError):
        data = _read_store()
        recorded = data.get("appeared")
        if isinstance(recorded, dict) and recorded.pop(_real(root), None) is not None:
            _write_store(data)


def revoke(root: Path) -> bool:
    """Forget the repository's trust record; True when there was one."""
    data = _read_store()
    if data["repositories"].pop(_real(root), None) is None:
        return False
    _write_store(data)
    return True


def describe(state: TrustState) -> list[str]:
    """What `v4code trust` and the chat show: the state, then what `.v4code/` holds."""
    where = f"{state.root / PROJECT_DIR}"
    head = {
        "trusted": f"{where} is trusted",
        "untrusted": f"{where} is not trusted",
        "changed": f"{where} changed since you trusted it: not trusted until you trust it again",
        "nothing": f"{state.root} has no {PROJECT_DIR}/ to trust",
    }[state.status]
    return [head, *(f"  {line}" for line in state.summary)]
