"""The index of a repository: every readable file's symbols and terms, from cache or parsed.

Files come from the project's listing (gitignore-aware inside git, a pruned walk outside);
binary files, data files and very large files are left out. Files not in the cache are
parsed, in worker processes when there are many, with an optional progress callback so a
frontend can show indexing that takes a while. The workers are spawned (forking beside the
chat's threads is unsafe), so a script calling this must guard its top level with
`if __name__ == "__main__":`, as for any use of multiprocessing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.cancel import CancelToken
from v4code.errors import WorkspaceError
from v4code.repo.files import list_files
from v4code.repomap.cache import ParseCache, Stamp, cache_path, decode, stamp_of
from v4code.repomap.symbols import Definition, FileSymbols, index_text
from v4code.safety.secret_files import SecretFiles
from v4code.textio import SNIFF_BYTES, binary_kind

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["MAX_FILE_BYTES", "Indexed", "Progress", "RepoIndex", "build_index", "read_source"]

MAX_FILE_BYTES = 2_000_000
"""Larger files are not indexed at all."""
PARALLEL_FROM = 300
"""Files to parse from which worker processes pay for their start-up."""
MAX_WORKERS = 4

SKIP_SUFFIXES = frozenset(
    [
        ".json",
        ".jsonl",
        ".csv",
        ".tsv",
        ".lock",
        ".svg",
        ".map",
        ".min.js",
        ".min.css",
        ".pdf",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".ico",
        ".zip",
        ".gz",
        ".tar",
        ".whl",
        ".so",
        ".dll",
        ".pyc",
        ".bin",
        ".dat",
        ".npy",
        ".npz",
        ".pkl",
        ".parquet",
        ".ipynb",
        ".fits",
        ".h5",
        ".xml",
        ".sum",
        ".mod",
        ".snap",
        ".po",
        ".mo",
        ".pot",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
    ]
)
"""Data rather than code or prose: they would only add noise to the lexical ranking."""

Progress = Callable[[int, int], None]
"""Called as (files done, files to parse) while parsing."""

_BINARY = FileSymbols("binary")
_SECRET = FileSymbols("secret")
"""A secret-looking file (.env, keys) is known by its name only: its content is never read
here, so no tool or `locate` built on the index can show it or be used to probe it."""


@dataclass
class RepoIndex:
    root: Path
    files: dict[str, FileSymbols]
    """Relative POSIX path to symbols, for every indexed file."""
    parsed: int = 0
    """Files parsed in this build (the rest came from the cache)."""
    reused: int = 0
    secret: SecretFiles | None = field(default=None, repr=False)
    """The secret-file rule the index was built with (known by name, content never read)."""
    stamps: dict[str, Stamp] = field(default_factory=dict, repr=False)
    """Size, mtime and ctime of every file read for it (binary ones too): a later build given this
    index as `previous` reuses the entries whose stamp still matches."""
    _definers: dict[str, list[str]] | None = field(default=None, repr=False)
    _used_by: dict[str, set[str]] | None = field(default=None, repr=False)

    def definers(self) -> dict[str, list[str]]:
        """Name to the files defining it."""
        if self._definers is None:
            out: dict[str, list[str]] = {}
            for path, sym in self.files.items():
                for name in {d.name for d in sym.definitions}:
                    out.setdefault(name, []).append(path)
            self._definers = out
        return self._definers

    def used_by(self) -> dict[str, set[str]]:
        """File to the other files using a name it defines (names defined in more than
        three files are too generic to count)."""
        if self._used_by is None:
            definers = self.definers()
            out: dict[str, set[str]] = {}
            for path, sym in self.files.items():
                for name in sym.references:
                    where = definers.get(name)
                    if where is not None and len(where) <= 3:
                        for target in where:
                            if target != path:
                                out.setdefault(target, set()).add(path)
            self._used_by = out
        return self._used_by

    def definitions(self, name: str) -> list[tuple[str, Definition]]:
        return [
            (path, d)
            for path in self.definers().get(name, [])
            for d in self.files[path].definitions
            if d.name == name
        ]


def _skipped(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.find(".", 1)
    while dot != -1:
        if name[dot:] in SKIP_SUFFIXES:
            return True
        dot = name.find(".", dot + 1)
    return False


def _stamp(full: str) -> Stamp | None:
    """Size, mtime and ctime of a regular file; None for what is not indexed: symbolic links (they
    may point outside the repository), devices and pipes, and files above MAX_FILE_BYTES."""
    try:
        st = os.lstat(full)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
        return None
    return stamp_of(st)


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC


def _open_beneath(root: str, path: str) -> int | None:
    """A descriptor for `path` (relative, POSIX) opened one component at a time below `root`
    without following a symbolic link anywhere: a folder or file swapped for a link out of
    the repository since the listing is refused, not read. A pipe opens without blocking."""
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    if os.open not in os.supports_dir_fd:  # no openat: the last component is still checked
        try:
            return os.open(os.path.join(root, *parts), _FILE_FLAGS)
        except OSError:
            return None
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            below = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_source(
    root: str, path: str, limit: int = MAX_FILE_BYTES + 1
) -> tuple[Stamp, bytes] | None:
    """Up to `limit` bytes of the repository file `path` with the stamp of what was read, or
    None when it is no longer a regular file inside `root` (gone, unreadable, a link, a pipe,
    a device): the one way this package reads a repository's file."""
    fd = _open_beneath(root, path)
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return stamp_of(st), b"".join(chunks)


Indexed = tuple[Stamp, FileSymbols]
"""A file's symbols with the stamp of the content they were read from."""


def index_file(root: str, path: str, *, parse: bool = True) -> Indexed | None:
    """One file's symbols, read safely (see `read_source`); None when it cannot be read now,
    so nothing is cached for it and the next build tries again. Without `parse`, its terms
    only (tree-sitter is not run)."""
    read = read_source(root, path)
    if read is None:
        return None
    stamp, data = read
    if binary_kind(data[:SNIFF_BYTES]) is not None:
        return stamp, _BINARY
    return stamp, index_text(path, data, parse=parse)


def _worker_setup() -> None:
    """A worker ignores Ctrl-C: the terminal sends it to the whole process group, and the
    parent cancels the build itself (a worker's KeyboardInterrupt would print a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _index_many(root: str, paths: list[str]) -> list[Indexed | None]:
    return [index_file(root, p) for p in paths]


def build_index(
    root: Path,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
    secret_files: Iterable[str] = (),
    previous: RepoIndex | None = None,
) -> RepoIndex:
    """The index of `root`, reusing entries whose stamp still matches: from `previous`
    (an earlier index of the same root, kept in memory), else from the parse cache."""
    root = Path(os.path.realpath(root))
    if not root.is_dir():
        raise WorkspaceError(f"{root} is not a directory; give the repository's folder.")
    base = str(root)
    secret = SecretFiles(root, secret_files)  # the user's `secret_files` globs included
    stamps, secrets = _listed(root, secret, cancel)
    files: dict[str, FileSymbols] = {}
    fresh: list[str] = []
    known: dict[str, Stamp] = {}
    kept: dict[str, FileSymbols] = {}
    if previous is not None and previous.root == root:
        known, kept = previous.stamps, previous.files
    for path, stamp in stamps.items():
        if known.get(path) == stamp:
            files[path] = kept.get(path, _BINARY)  # a binary file is left out of `files`
        else:
            fresh.append(path)
    # Nothing changed since `previous`: no need to read the cache (most of a warm build).
    cache = ParseCache(cache_path(root)) if use_cache and (fresh or not known) else None
    cached = cache.load() if cache is not None else {}
    todo: list[str] = []
    for path in fresh:
        stamp = stamps[path]
        entry = cached.get(path)
        sym = decode(entry[1]) if entry is not None and entry[0] == stamp else None
        if sym is None:
            todo.append(path)
        else:
            files[path] = sym
    reused = len(files)
    read = _parse_and_cache(base, todo, progress, cancel, stamps, cache, cached)
    files.update((p, sym) for p, (_stamp, sym) in read.items())
    files.update(secrets)
    indexed = {p: files[p] for p in sorted(files) if files[p].language != "binary"}
    return RepoIndex(root, indexed, parsed=len(read), reused=reused, secret=secret, stamps=stamps)


def _listed(
    root: Path, secret: SecretFiles, cancel: CancelToken | None
) -> tuple[dict[str, Stamp], dict[str, FileSymbols]]:
    """The listed files to index with their stamps, and the secret ones (never read)."""
    base = str(root)
    stamps: dict[str, Stamp] = {}
    secrets: dict[str, FileSymbols] = {}
    for path in list_files(root, cancel=cancel).files:
        if _skipped(path):
            continue
        if secret.reason(path) is not None:
            secrets[path] = _SECRET
            continue
        stamp = _stamp(os.path.join(base, path))
        if stamp is not None:
            stamps[path] = stamp
    return stamps, secrets


def _parse_and_cache(
    base: str,
    todo: list[str],
    progress: Progress | None,
    cancel: CancelToken | None,
    stamps: dict[str, Stamp],
    cache: ParseCache | None,
    cached: dict[str, tuple[Stamp, str]],
) -> dict[str, Indexed]:
    """Parse `todo`; what was read, its stamps updated in `stamps` (files gone since the
    listing dropped) and stored in `cache`, even when the build is interrupted: the next
    one goes further."""
    parsed: dict[str, Indexed | None] = {}
    read: dict[str, Indexed] = {}
    unparsed: set[str] = set()
    try:
        _parse_all(base, todo, progress, cancel, parsed, unparsed)
    finally:
        for path, got in parsed.items():
            if got is None:  # gone or unreadable since the listing: left out, never cached
                stamps.pop(path, None)
            else:
                read[path] = got
                stamps[path] = got[0]
        if cache is not None:
            gone = [p for p in cached if p not in stamps]
            rows = ((p, stamp, sym) for p, (stamp, sym) in read.items() if p not in unparsed)
            if read or gone:
                cache.finish(rows, gone)
            else:
                cache.close()
    return read


def _parse_all(
    root: str,
    todo: list[str],
    progress: Progress | None,
    cancel: CancelToken | None,
    out: dict[str, Indexed | None],
    unparsed: set[str],
) -> None:
    """Parse `todo` into `out` (filled as files finish, so a cancelled build keeps them).

    `unparsed` gets the files indexed as text only because a worker died (BrokenProcessPool:
    killed for memory, or a crash in tree-sitter on some file of its chunk): parsing the rest
    in this process could take it down the same way, so they get their terms only, and are
    not cached, so that the next build parses them again (in workers). It is filled as they
    are indexed, so a build cancelled after such a fallback does not cache them either."""
    total = len(todo)
    if progress is not None and total:
        progress(0, total)
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    parse = True
    if total >= PARALLEL_FROM and workers > 1:
        from concurrent.futures.process import BrokenProcessPool  # multiprocessing: only here

        try:
            _parse_parallel(root, todo, workers, progress, cancel, out)
            return
        except BrokenProcessPool:
            parse = False
        except (OSError, RuntimeError, ImportError):
            pass  # no worker processes here: parse what is left in this one
    for i, path in enumerate(todo, 1):
        if path in out:
            continue
        if cancel is not None:
            cancel.raise_if_cancelled()
        out[path] = index_file(root, path, parse=parse)
        if not parse:
            unparsed.add(path)
        if progress is not None and (i % 100 == 0 or i == total):
            progress(i, total)


def _parse_parallel(
    root: str,
    todo: list[str],
    workers: int,
    progress: Progress | None,
    cancel: CancelToken | None,
    out: dict[str, Indexed | None],
) -> None:
    """Parse in spawned processes (fork is unsafe beside the chat's threads). A cancel is
    seen within a tenth of a second and ends the workers at once: the first message's time
    budget, Ctrl-C and the end of a chat do not wait for the chunks being parsed."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    size = max(20, len(todo) // (workers * 8))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_setup)
    try:
        futures = {pool.submit(_index_many, root, chunk): chunk for chunk in chunks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                out.update(zip(futures[future], future.result(), strict=True))
            if done and progress is not None:
                progress(len(out), len(todo))
            if cancel is not None:
                cancel.raise_if_cancelled()
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Drop the chunks not started and end the workers now, then reap them (none is left
    behind). ProcessPoolExecutor has no public way to end its workers before Python 3.14."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)
