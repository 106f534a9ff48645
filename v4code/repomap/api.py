"""The library the rest of v4code calls: `locate`, `repo_map`, `find_symbol`, `outline`.

Each call indexes the repository and answers from that index. The last index of a
repository is kept in memory and revalidated by each file's size and times, so a later call
(the repo_map and find_symbol tools during a session) re-reads only the files that changed;
the first one reads the parse cache (well under a second for thousands of files when it is
warm). One build runs at a time in a process: a second caller (the first message, while the
index is warmed up in the background) waits for it and then starts from its result. Paths in
and out are relative to the root, POSIX style. `progress(done, total)` is called while files
are parsed, so a frontend can show indexing that takes a while; `cancel` stops it between
files, or while it waits for another build.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, WorkspaceError
from v4code.repomap.index import (
    MAX_FILE_BYTES,
    Progress,
    RepoIndex,
    build_index,
    index_file,
    read_source,
)
from v4code.repomap.rank import RankedFile, rank_files
from v4code.repomap.render import outline_text, rank_for_map, render_map
from v4code.repomap.symbols import Definition, reference_lines
from v4code.repomap.tokens import split_identifier
from v4code.textio import one_line
from v4code.workspace import relative_to_root, resolve_in_workspace

__all__ = [
    "Definition",
    "RankedFile",
    "RepoMap",
    "SymbolHit",
    "SymbolReport",
    "find_symbol",
    "focused_map",
    "locate",
    "outline",
    "repo_index",
    "repo_map",
]

MAX_REFERENCE_FILES = 50
"""find_symbol reports references in at most this many files (the report says so)."""
KEPT_INDEXES = 2
"""Repositories whose last index stays in memory (a session works in one)."""

_building = threading.Lock()
_kept: OrderedDict[tuple[str, tuple[str, ...]], RepoIndex] = OrderedDict()


def repo_index(
    root: Path | str,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    secret_files: Iterable[str] = (),
) -> RepoIndex:
    """The index of `root` now: the kept one with the files that changed since re-read."""
    secret = tuple(secret_files)
    key = (os.path.realpath(root), secret)
    _acquire(cancel)
    try:
        index = build_index(
            Path(root),
            progress=progress,
            cancel=cancel,
            secret_files=secret,
            previous=_kept.get(key),
        )
        _kept[key] = index
        _kept.move_to_end(key)
        while len(_kept) > KEPT_INDEXES:
            _kept.popitem(last=False)
        return index
    finally:
        _building.release()


def _acquire(cancel: CancelToken | None) -> None:
    """Wait for a build in progress (its result is then reused), unless cancelled meanwhile."""
    while not _building.acquire(timeout=0.05):
        if cancel is not None:
            cancel.raise_if_cancelled()
    if cancel is not None and cancel.cancelled:
        _building.release()
        raise Cancelled()


def locate(
    root: Path | str,
    text: str,
    top: int = 10,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    secret_files: Iterable[str] = (),
) -> list[RankedFile]:
    """The `top` files of `root` most likely to matter for the task `text`, best first, each
    with its score (1.0 for the best) and why it ranks there."""
    index = repo_index(root, progress=progress, cancel=cancel, secret_files=secret_files)
    return rank_files(index, text, top=top)


def repo_map(
    root: Path | str,
    focus: str | None = None,
    max_tokens: int = 2048,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    secret_files: Iterable[str] = (),
) -> str:
    """The files that matter most (for `focus`, a task's text, when given; else the ones
    defining the most) with their key definitions' signatures and line ranges, within
    `max_tokens` (about four characters a token)."""
    found = focused_map(
        root, focus, max_tokens, progress=progress, cancel=cancel, secret_files=secret_files
    )
    return found.text


@dataclass(frozen=True)
class RepoMap:
    text: str
    focus_missed: bool = False
    """A focus was given and no file matched it: `text` is the map without one."""


def focused_map(
    root: Path | str,
    focus: str | None = None,
    max_tokens: int = 2048,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    secret_files: Iterable[str] = (),
    overview_on_miss: bool = True,
) -> RepoMap:
    """`repo_map`, saying whether the focus matched nothing. Such a focus still gets the
    map, ranked as without one: an empty map of a repository that has files would read as
    "nothing here" (to a person or the model) when it means "nothing matched these words".
    `overview_on_miss=False`: a caller that drops that map (the first message) gets "" and
    nothing is ranked or rendered for it."""
    index = repo_index(root, progress=progress, cancel=cancel, secret_files=secret_files)
    focused = focus if focus and focus.strip() else None
    ranked = rank_files(index, focused, top=200) if focused is not None else []
    missed = focused is not None and not ranked
    if missed and not overview_on_miss:
        return RepoMap("", missed)
    if not ranked:
        ranked = rank_for_map(index)
    return RepoMap(render_map(ranked, index.files, max_tokens), missed)


@dataclass(frozen=True)
class SymbolHit:
    path: str
    line: int
    definition: Definition | None = None
    """Set for a definition, None for a reference."""

    def __str__(self) -> str:
        if self.definition is None:
            return f"{one_line(self.path)}:{self.line}"
        d = self.definition
        return f"{one_line(self.path)}:{d.line}-{d.end_line}: {one_line(d.signature)}"


@dataclass
class SymbolReport:
    name: str
    definitions: list[SymbolHit] = field(default_factory=list)
    references: list[SymbolHit] = field(default_factory=list)
    truncated: bool = False
    """True when more files use the name than MAX_REFERENCE_FILES."""
    source: str = "tree-sitter"
    """Where the definitions and references come from: "tree-sitter" (the syntax trees),
    or "lsp" (a language server's answer, set by the caller that asked one)."""

    def format(self) -> str:
        if not self.definitions and not self.references:
            return f"No definition of or reference to {self.name!r} found."
        via = ", from the language server" if self.source == "lsp" else ""
        out = [f"Definitions of {self.name} ({len(self.definitions)}{via}):"]
        out += [f"  {h}" for h in self.definitions] or ["  (none found)"]
        out.append(f"References ({len(self.references)}{via}):")
        out += [f"  {h}" for h in self.references] or ["  (none found)"]
        if self.truncated:
            out.append(f"  ... only the first {MAX_REFERENCE_FILES} files using it are shown")
        return "\n".join(out)


def find_symbol(
    root: Path | str,
    name: str,
    kind: str | None = None,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    secret_files: Iterable[str] = (),
) -> SymbolReport:
    """Where `name` is defined (optionally only of `kind`: class, function, method) and the
    lines that use it. `Class.method` narrows to methods of that class."""
    index = repo_index(root, progress=progress, cancel=cancel, secret_files=secret_files)
    parent = ""
    if "." in name:
        parent, name = name.rsplit(".", 1)
    report = SymbolReport(name if not parent else f"{parent}.{name}")
    for path, d in index.definitions(name):
        if kind and d.kind != kind:
            continue
        if parent and d.parent != parent:
            continue
        report.definitions.append(SymbolHit(path, d.line, d))
    users = [p for p in index.files if _uses(index, p, name)]
    report.truncated = len(users) > MAX_REFERENCE_FILES
    for path in users[:MAX_REFERENCE_FILES]:
        if cancel is not None:  # each file is parsed again: a stop is seen between them
            cancel.raise_if_cancelled()
        data = _read(index.root, path)
        if data is None:
            continue
        for line in reference_lines(path, data, name):
            report.references.append(SymbolHit(path, line))
    return report


def _uses(index: RepoIndex, path: str, name: str) -> bool:
    """Whether a file may use `name`: its identifiers (sorted) hold it, or, for a file
    indexed as text, its terms hold the name's first part."""
    sym = index.files[path]
    if sym.language == "text":
        parts = split_identifier(name)
        return bool(parts) and parts[0] in sym.terms
    at = bisect.bisect_left(sym.references, name)
    return at < len(sym.references) and sym.references[at] == name


def _read(root: Path, path: str) -> bytes | None:
    """The file as it is now, if still a regular file inside the root (it may have been
    swapped for a pipe or a link out since the index was built)."""
    read = read_source(str(root), path, MAX_FILE_BYTES)
    return None if read is None else read[1]


def outline(root: Path | str, path: str) -> str:
    """One file's definitions, nested by class, each with its line range and signature.
    Raises WorkspaceError for a path outside the root or not a file."""
    real = resolve_in_workspace(Path(root), path, must_exist=True)
    if not real.is_file():
        raise WorkspaceError(f"{path!r} is not a file.")
    rel = relative_to_root(Path(root), real)
    indexed = index_file(os.path.realpath(root), rel)
    if indexed is None:
        raise WorkspaceError(f"{path!r} cannot be read (not a regular file, or not readable).")
    return outline_text(rel, indexed[1])
