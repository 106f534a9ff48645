"""Regex search over a workspace: ripgrep when on PATH, else `git grep`, else pure Python.

All three backends honour the same rules, so a result does not depend on what is installed:
ignored files (.gitignore) and binary files are skipped, hidden files are searched, `.git` is
not; the glob filter has the semantics of `globs.glob_matches`; matches are sorted by path and
line; paths are workspace-relative; files the caller's `secret` rule names (.env, keys) are
left out whichever backend runs, and counted, so grep can say how many it skipped. The programs run through `safety/process.py` (git through
`repo/git.py`), in their own process group, killed on cancel or timeout. The regex dialect is the backend's (ripgrep's Rust syntax
with PCRE2 for look-around, git's PCRE, Python's `re`): all agree on the common subset.

A file that is not UTF-8 (a Latin-1 source file, a log) is searched by every backend. ripgrep's
PCRE2 engine, which it picks for look-around, backreferences and escapes its default engine
rejects (`\\ `, `\\/`), refuses such a file part-way (PCRE2 builds without
PCRE2_MATCH_INVALID_UTF): then the search runs once more in byte mode and the files that are
not UTF-8 take their matches from that run.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from v4code.cancel import CancelToken
from v4code.errors import Cancelled, ToolError
from v4code.globs import glob_matches
from v4code.repo import git
from v4code.repo.files import is_git_work_tree, list_files
from v4code.safety.process import StreamedProcess, capture_process
from v4code.safety.programs import find_program
from v4code.textio import SNIFF_BYTES, is_binary

__all__ = [
    "BACKENDS",
    "InvalidPattern",
    "Match",
    "SearchError",
    "SearchResult",
    "choose_backend",
    "find_rg",
    "literal",
    "search",
]

BACKENDS = ("rg", "git", "python")
COUNT_CAP = 10_000
"""Matches counted before the search stops; beyond it the total is reported as a lower bound."""
MAX_TEXT = 500
"""Characters of a matching line kept (minified files have megabyte-long lines)."""
MAX_FILE_BYTES = 20 * 1024 * 1024
"""The Python backend skips larger files."""
SHOWN_PATTERN = 200
"""Characters of the pattern repeated in an error message."""
DEFAULT_TIMEOUT = 60.0


class SearchError(ToolError):
    """The search could not run or did not finish (the message says what to change)."""


class InvalidPattern(SearchError):
    """The regex does not compile; the message carries the engine's own explanation."""


@dataclass(frozen=True)
class Match:
    path: str
    """Workspace-relative POSIX path."""
    line: int
    """1-based line number."""
    text: str
    """The line without its end-of-line, cut to MAX_TEXT characters."""

    def __str__(self) -> str:
        """`path:line:text`, the path kept on its line (a repository's file name may hold a
        line break or an escape sequence: textio.one_line)."""
        from v4code.textio import one_line

        return f"{one_line(self.path)}:{self.line}:{self.text}"


@dataclass(frozen=True)
class SearchResult:
    matches: list[Match]
    """The first `limit` matches in (path, line) order."""
    total: int
    """All matches found; a lower bound when `complete` is False."""
    complete: bool
    backend: str
    secrets_skipped: int = 0
    """Files in the searched tree left out as secret (counted whether they match or not, so
    the count says nothing about their content)."""


def find_rg(workspace: Path | None = None) -> str | None:
    """ripgrep's absolute path, found once and never inside a workspace (`safety/programs`)."""
    return find_program("rg", workspace)


def choose_backend(root: Path) -> str:
    """The best backend available for this workspace."""
    if find_rg(root) is not None:
        return "rg"
    if is_git_work_tree(root):
        return "git"
    return "python"


def search(
    root: Path,
    pattern: str,
    *,
    under: Path | None = None,
    glob: str | None = None,
    ignore_case: bool = False,
    limit: int = 200,
    backend: str | None = None,
    cancel: CancelToken | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    secret: Callable[[str], object] | None = None,
    count_secrets: bool = True,
) -> SearchResult:
    """Search `under` (a resolved path inside `root`; the root by default) for `pattern`.

    `secret(path)` is truthy for a workspace path that must not be searched. Counting the
    files it leaves out (`secrets_skipped`) lists the whole tree: a caller that shows no
    count passes `count_secrets=False`.
    Raises InvalidPattern for a bad regex, SearchError if the search fails or times out,
    Cancelled if `cancel` is set meanwhile.
    """
    _check_pattern(pattern)
    if cancel is not None:
        cancel.raise_if_cancelled()
    root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(under)) if under is not None else root
    spec = target.relative_to(root).as_posix() or "."
    backend = backend or choose_backend(root)
    if backend not in BACKENDS:
        raise ValueError(f"unknown search backend {backend!r}")
    rg = find_rg(root) if backend == "rg" else None
    if backend == "rg" and rg is None:
        backend = choose_backend(root)  # the next best: rg is not to be had here
    glob = glob.strip() if glob else None
    deadline = time.monotonic() + (cancel.bound(timeout) if cancel is not None else timeout)
    skipped = 0
    if secret is not None and count_secrets:
        listed = list_files(root, target, cancel=cancel).files
        skipped = sum(1 for rel in listed if secret(rel))
    keep = (lambda rel: not secret(rel)) if secret is not None else None
    try:
        if backend == "python":
            found = _python_search(root, target, pattern, glob, ignore_case, cancel, deadline, keep)
        elif rg is not None:
            found = _rg_search(rg, root, spec, pattern, glob, ignore_case, cancel, deadline, keep)
        else:
            timeout = max(deadline - time.monotonic(), 0.0)
            args = _git_grep_args(pattern, spec, ignore_case, perl=_git_has_pcre(root))
            process = git.stream(root, *args, timeout=timeout, cancel=cancel)
            found = _run_backend(backend, root, process, glob, keep)
    except InvalidPattern as exc:
        raise InvalidPattern(
            f"Invalid regular expression {_shown(pattern)}: {exc}\nTo search for literal text, "
            "escape the special characters . * + ? ( ) [ ] { } | \\ ^ $ with a backslash."
        ) from None
    matches, complete = found
    matches.sort(key=lambda m: (m.path, m.line))
    return SearchResult(matches[:limit], len(matches), complete, backend, skipped)


_SPECIAL = re.compile(r"([.*+?()\[\]{}|\\^$])")


def literal(text: str) -> str:
    """A pattern matching `text` itself in every backend. Unlike re.escape, spaces and other
    plain characters stay bare: ripgrep would take an escaped space for PCRE2 syntax, and
    PCRE2 gives up on the first file that is not UTF-8."""
    return _SPECIAL.sub(r"\\\1", text)


# -- subprocess backends --------------------------------------------------------------------


def _check_pattern(pattern: str) -> None:
    """Refuse what no backend can take, with the reason (not an engine's traceback)."""
    if not pattern:
        raise InvalidPattern("The pattern is empty; give a regular expression to search for.")
    if "\0" in pattern:
        raise InvalidPattern(
            f"The pattern {_shown(pattern)} contains a NUL character; binary files are not "
            "searched, so remove it."
        )
    if "\n" in pattern or "\r" in pattern:
        raise InvalidPattern(
            f"The pattern {_shown(pattern)} contains a line break, but grep matches one line "
            "at a time: search for a single line of the text."
        )


def _shown(pattern: str) -> str:
    if len(pattern) <= SHOWN_PATTERN:
        return repr(pattern)
    return f"{pattern[:SHOWN_PATTERN]!r}… ({len(pattern):,} characters)"


def _rg_search(
    rg: str,
    root: Path,
    spec: str,
    pattern: str,
    glob: str | None,
    ignore_case: bool,
    cancel: CancelToken | None,
    deadline: float,
    keep: Callable[[str], bool] | None,
) -> tuple[list[Match], bool]:
    """ripgrep; a second, byte-mode run when PCRE2 refused files that are not UTF-8."""

    def run(byte_mode: bool) -> tuple[list[Match], bool, str]:
        argv = _rg_argv(rg, pattern, spec, glob, ignore_case, byte_mode=byte_mode)
        timeout = max(deadline - time.monotonic(), 0.0)
        process = StreamedProcess(argv, cwd=root, timeout=timeout, cancel=cancel)
        return (*_run_backend("rg", root, process, glob, keep), process.stderr)

    matches, complete, stderr = run(byte_mode=False)
    if not _pcre2_refused_a_file(stderr) or not _rg_flags(rg).no_unicode:
        return matches, complete
    raw, raw_complete, _ = run(byte_mode=True)
    seen = {m.path for m in matches} | {m.path for m in raw}
    not_utf8 = {path for path in seen if not _is_utf8(root / path)}
    merged = [m for m in matches if m.path not in not_utf8]
    merged += [m for m in raw if m.path in not_utf8]
    return merged[:COUNT_CAP], complete and raw_complete and len(merged) <= COUNT_CAP


def _pcre2_refused_a_file(stderr: str) -> bool:
    """rg's note for a file PCRE2 stopped matching in: `path: PCRE2: error matching: UTF-8
    error: ...` (rg carries on with the other files; matches before the bad byte are printed)."""
    return "PCRE2: error matching: UTF-8 error" in stderr


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (an unreadable one counts as UTF-8: rg's
    first run had the last word on it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except OSError:
        return True
    return True


def _rg_argv(
    rg: str,
    pattern: str,
    spec: str,
    glob: str | None,
    ignore_case: bool,
    *,
    byte_mode: bool = False,
) -> list[str]:
    argv = [rg, "--no-config", "--line-number", "--no-heading", "--with-filename", "--null"]
    argv += ["--color", "never", "--hidden", "--glob", "!.git"]
    if byte_mode:
        argv += ["--pcre2", "--no-unicode"]  # PCRE2 without its UTF-8 check: any bytes
    elif _rg_flags(rg).engine:
        argv += ["--engine", "auto"]  # PCRE2 for look-around and backreferences
    if ignore_case:
        argv.append("--ignore-case")
    if glob and "/" not in glob.strip("/"):
        argv += ["--glob", glob.strip("/")]  # same meaning in rg; slash globs filtered here
    return [*argv, "--regexp", pattern, "--", spec]


def _git_grep_args(pattern: str, spec: str, ignore_case: bool, *, perl: bool) -> list[str]:
    args = ["grep", "--line-number", "-z", "--no-color", "-I"]
    args.append("--untracked")  # untracked files that are not ignored, as rg would
    args.append("--perl-regexp" if perl else "--extended-regexp")
    if ignore_case:
        args.append("--ignore-case")
    return [*args, "-e", pattern, "--", spec]


def _run_backend(
    backend: str,
    root: Path,
    process: StreamedProcess,
    glob: str | None,
    keep: Callable[[str], bool] | None = None,
) -> tuple[list[Match], bool]:
    """The matches, and whether the search saw everything."""
    matches: list[Match] = []
    complete = True
    with process:
        for match in _parse(backend, process.lines(), root):
            if glob and not glob_matches(match.path, glob):
                continue
            if keep is not None and not keep(match.path):
                continue
            matches.append(match)
            if len(matches) >= COUNT_CAP:
                complete = False
                break
    if process.stopped == "cancel":
        raise Cancelled()
    if process.stopped == "timeout":
        raise SearchError(_too_slow())
    refused = backend == "rg" and _pcre2_refused_a_file(process.stderr)
    if complete and process.returncode not in (0, 1) and not matches and not refused:
        _raise_for(backend, process.stderr)
    return matches, complete


def _parse(backend: str, stream: Iterable[bytes], root: Path) -> Iterator[Match]:
    """rg --null: `path\\0line:text`; git grep -z: `path\\0line\\0text`. Other lines (rg's
    "binary file matches" notes) are skipped. A file name may hold a line break, which splits
    its record: a line without the NUL is kept, and the next record's path is joined to it
    when a file of that name exists in `root` (else the name is taken as it came)."""
    second = b":" if backend == "rg" else b"\0"
    pending = b""
    for raw in stream:
        path, sep, rest = raw.partition(b"\0")
        if not sep:
            pending += raw
            continue
        if pending:
            joined, pending = pending + path, b""
            if os.path.lexists(root / os.fsdecode(joined)):
                path = joined
        number, sep2, text = rest.partition(second)
        if not sep2 or not number.isdigit():
            continue
        name = path.decode("utf-8", "surrogateescape")
        if name.startswith("./"):
            name = name[2:]
        yield Match(name, int(number), _clip(text.decode("utf-8", "replace")))


def _clip(text: str) -> str:
    text = text.rstrip("\r\n")
    if len(text) > MAX_TEXT:
        return f"{text[:MAX_TEXT]}… [line cut at {MAX_TEXT} of {len(text):,} characters]"
    return text


def _raise_for(backend: str, stderr: str) -> None:
    lowered = stderr.lower()
    regex_problem = (
        "regex parse error" in lowered
        or "error parsing regex" in lowered
        or "could not be compiled" in lowered
        or "error compiling pattern" in lowered
        or (backend == "git" and ("-e option" in lowered or "regexp" in lowered))
    )
    if regex_problem:
        lines = stderr.removeprefix("fatal: ").splitlines()
        width = SHOWN_PATTERN + 40  # the engines echo the pattern, with a caret line under it
        raise InvalidPattern("\n".join(ln[:width] for ln in lines if ln.strip("~ ")))
    raise SearchError(f"The search failed ({backend}): {stderr or 'no error message'}")


@dataclass(frozen=True)
class _RgFlags:
    engine: bool
    """`--engine auto` (ripgrep 12+): PCRE2 only for what the default engine rejects."""
    no_unicode: bool
    """`--no-unicode` (ripgrep 13+): the byte-mode run for files that are not UTF-8."""


@functools.lru_cache(maxsize=4)
def _rg_flags(rg: str) -> _RgFlags:
    try:
        done = capture_process([rg, "--help"], cwd=Path.cwd(), timeout=20)
    except OSError:
        return _RgFlags(engine=False, no_unicode=False)
    return _RgFlags(b"--engine" in done.stdout, b"--no-unicode" in done.stdout)


_GIT_PCRE: dict[str, bool] = {}


def _git_has_pcre(root: Path) -> bool:
    """git built without PCRE refuses -P; then fall back to POSIX extended regexes.
    (A property of the git build: cached per executable; `root` only gives it a repo.)"""
    key = git.find_git(root) or "git"
    if key not in _GIT_PCRE:
        try:
            git.run(root, "grep", "-P", "-e", "x", "--", ":(exclude)*", ok=(0, 1), timeout=20)
            _GIT_PCRE[key] = True
        except git.GitError as exc:
            complaint = str(exc).lower()
            if "did not finish" in complaint:
                return False
            _GIT_PCRE[key] = "perl" not in complaint and "pcre" not in complaint
    return _GIT_PCRE[key]


def _too_slow() -> str:
    return (
        "The search did not finish in time; narrow it with `path` (a subdirectory) or `glob` "
        "(e.g. '*.py')."
    )


# -- the pure-Python backend ----------------------------------------------------------------


def _python_search(
    root: Path,
    target: Path,
    pattern: str,
    glob: str | None,
    ignore_case: bool,
    cancel: CancelToken | None,
    deadline: float,
    keep: Callable[[str], bool] | None = None,
) -> tuple[list[Match], bool]:
    try:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise InvalidPattern(str(exc)) from None
    matches: list[Match] = []
    for rel in list_files(root, target, cancel=cancel).files:
        if cancel is not None:
            cancel.raise_if_cancelled()
        if time.monotonic() >= deadline:
            raise SearchError(_too_slow())
        if glob and not glob_matches(rel, glob):
            continue
        if keep is not None and not keep(rel):
            continue
        for number, line in _text_lines(root, rel):
            if regex.search(line):
                matches.append(Match(rel, number, _clip(line)))
                if len(matches) >= COUNT_CAP:
                    return matches, False
    return matches, True


def _text_lines(root: Path, rel: str) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text file; nothing for binaries, huge files, links leaving root."""
    path = root / rel
    real = os.path.realpath(path)
    if real != str(root) and not real.startswith(str(root) + os.sep):
        return
    try:
        if not os.path.isfile(real) or os.path.getsize(real) > MAX_FILE_BYTES:
            return
        with open(real, "rb") as f:
            if is_binary(f.read(SNIFF_BYTES)):
                return
            f.seek(0)
            for number, raw in enumerate(f, 1):
                yield number, raw.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return
