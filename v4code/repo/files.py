"""The files of a workspace as a person sees them: gitignore-aware listing and glob matching.

Inside a git work tree the listing is `git ls-files --cached --others --exclude-standard`
(tracked files plus untracked ones that are not ignored); elsewhere it is a walk that skips
version-control metadata, dependency folders and caches. Paths are workspace-relative POSIX
strings, sorted. Used by the `list_files` and `grep` tools, the repo map and the review.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from v4code.cancel import CancelToken

__all__ = [
    "SKIP_DIRS",
    "FileListing",
    "binary_kind",
    "compile_glob",
    "find_git",
    "git_command",
    "glob_matches",
    "is_git_work_tree",
    "list_files",
]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".jj",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".idea",
        ".DS_Store",
    }
)
"""Directory names a walk outside git never enters (git's own ignore rules apply inside it)."""

WALK_LIMIT = 200_000
"""A walk stops after this many files (a workspace that is really a home directory, say)."""


@dataclass(frozen=True)
class FileListing:
    files: list[str]
    """Workspace-relative POSIX paths, sorted."""
    source: str
    """"git" (ls-files) or "walk"."""
    complete: bool = True
    """False when the walk stopped at WALK_LIMIT."""
    note: str = ""
    """Something worth telling the reader (an ignored directory listed anyway, ...)."""


def find_git() -> str | None:
    return shutil.which("git")


def git_command(git: str, *args: str) -> list[str]:
    """A git command line that cannot run hooks configured by the repository being read
    (core.fsmonitor is a command git would start for us)."""
    return [git, "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", *args]


def list_files(
    root: Path, under: Path | None = None, *, cancel: CancelToken | None = None
) -> FileListing:
    """The files below `under` (a resolved path inside `root`; the root by default)."""
    root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(under)) if under is not None else root
    if target.is_file():
        return FileListing([_rel(root, target)], "walk")
    files = _git_files(root, target)
    if files is not None:
        if files or not _has_any_file(target):
            return FileListing(files, "git")
        listing = _walk(root, target, cancel)
        note = f"{_rel(root, target)} is ignored by git (or untracked); listed anyway."
        return FileListing(listing.files, "walk", listing.complete, note)
    return _walk(root, target, cancel)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _git_files(root: Path, target: Path) -> list[str] | None:
    """ls-files output relative to the root, or None when git is missing or this is no repo."""
    git = find_git()
    if git is None or not is_git_work_tree(root):
        return None
    spec = _rel(root, target)
    cmd = git_command(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    try:
        done = subprocess.run(
            [*cmd, "--", spec],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    names = {n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
    return sorted(n for n in names if os.path.lexists(root / n))


def is_git_work_tree(root: Path) -> bool:
    """Whether `root` is inside a git work tree (and git is installed)."""
    git = find_git()
    return git is not None and _inside_work_tree(git, str(root))


def _inside_work_tree(git: str, root: str) -> bool:
    try:
        done = subprocess.run(
            git_command(git, "rev-parse", "--is-inside-work-tree"),
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == b"true"


def _has_any_file(target: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if filenames:
            return True
    return False


def _walk(root: Path, target: Path, cancel: CancelToken | None) -> FileListing:
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(target):
        if cancel is not None:
            cancel.raise_if_cancelled()
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        base = Path(dirpath)
        for name in filenames:
            if name in SKIP_DIRS:
                continue
            files.append(_rel(root, base / name))
            if len(files) >= WALK_LIMIT:
                return FileListing(sorted(files), "walk", complete=False)
    return FileListing(sorted(files), "walk")


# -- binary files ------------------------------------------------------------------------

SNIFF_BYTES = 8192
"""How much of a file's start decides whether it is binary (git and grep look at 8000)."""

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"\x28\xb5\x2f\xfd", "zstd archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-zip archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (8, b"WEBP", "WebP image"),
    (8, b"WAVE", "WAV audio"),
    (0, b"ID3", "MP3 audio"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"\x00\x01\x00\x00", "TrueType font"),
    (0, b"OTTO", "OpenType font"),
    (0, b"\x93NUMPY", "NumPy array"),
    (0, b"PAR1", "Parquet file"),
    (0, b"\x80\x04\x95", "Python pickle"),
    (0, b"\x80\x05\x95", "Python pickle"),
)
_STRONG = frozenset({"PNG image", "PDF document", "GIF image", "SQLite database", "ZIP archive"})
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\b\x1b"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def binary_kind(head: bytes) -> str | None:
    """What kind of binary file starts with `head` ("PNG image", "binary data"), or None
    for text. Binary means: a NUL byte (unless a UTF-16 byte-order mark explains it), a
    well-known signature, or (not UTF-8) mostly control bytes."""
    if head.startswith(UTF16_BOMS):
        return None
    kind = next((k for at, magic, k in _MAGIC if head[at : at + len(magic)] == magic), None)
    if kind in _STRONG:
        return kind
    if b"\0" in head:
        return kind or "binary data"
    if _looks_controlish(head):
        return kind or "binary data"
    return None


def _looks_controlish(head: bytes) -> bool:
    """Not UTF-8, and more than a tenth of the bytes are neither printable ASCII nor Latin-1."""
    if not head:
        return False
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the end of the sample
            return False
    odd = len(head.translate(None, _TEXT_BYTES + bytes(range(160, 256))))
    return odd * 10 > len(head)


# -- globs -------------------------------------------------------------------------------


def _translate(pattern: str) -> str:
    """Glob to regex: `*` and `?` stay within a path segment, `**` crosses segments,
    `**/` also matches no directory at all, `[...]` classes, `{a,b}` alternatives."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i):
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            else:
                out.append(".*")
                i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            start = i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1
            end = pattern.find("]", start + 1 if pattern[start : start + 1] == "]" else start)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        elif c == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            alternatives = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex for one glob, anchored at both ends (a bad class is matched literally)."""
    try:
        return re.compile(f"(?s:{_translate(pattern)})\\Z")
    except re.error:
        return re.compile(f"(?s:{re.escape(pattern)})\\Z")


def glob_matches(path: str, pattern: str) -> bool:
    """Whether a relative POSIX path matches a glob, .gitignore style.

    A pattern without a slash (`*.py`) matches the file name in any directory; one with a
    slash (`src/**/*.ts`) matches the whole relative path; a trailing slash means everything
    below that directory; a leading `./` or `/` anchors at the start (as the slash does).
    """
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if pattern.endswith("/"):
        pattern += "**"
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    if not pattern:
        return True
    regex = compile_glob(pattern)
    if regex.match(path):
        return True
    return not anchored and regex.match(path.rsplit("/", 1)[-1]) is not None
