"""What a task's text names: file paths, traceback frames, dotted module names, identifiers.

These are the strongest evidence of where a task is: a person pasting a traceback or writing
`django.db.models.query` has already half located the bug. Extraction is purely textual;
`resolve` then ties each mention to the repository's files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Mentions", "PathIndex", "extract"]

_FRAME = re.compile(r'File "([^"\n]+)", line (\d+)(?:, in ([A-Za-z_<>][\w<>]*))?')
_IPYTHON_FRAME = re.compile(
    r"^[ \t]*(?:File )?([^\s\"']+\.py)(?::(\d+))?,? in ([A-Za-z_][\w.]*(?=\()|<module>)", re.M
)
"""IPython and Jupyter: `~/env/site-packages/pkg/mod.py in func(args)` (its line on a later
`---> 92` line), or `File ~/pkg/mod.py:92, in Class.func(self)` from IPython 8."""
_PYTEST_FRAME = re.compile(r"^[ \t]*([^\s\"':]+\.py):(\d+): (?:in ([A-Za-z_]\w*))?", re.M)
"""pytest's tracebacks: `src/pkg/mod.py:42: in func`, and the last one `src/pkg/mod.py:42: Error`."""
_ARROW_LINE = re.compile(r"^-+> ?(\d+)", re.M)
_PATH = re.compile(r"(?<![\w.:/@-])((?:[\w.-]+/)*[\w-]+(?:\.[\w-]+)*\.[A-Za-z][A-Za-z0-9]{0,4})\b")
_SLASHED = re.compile(r"(?<![\w.@-])((?:[\w.-]+/)+[\w.-]+)")
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ERROR = re.compile(
    r"^[\s`>]*(?:[\w.]+\.)?(?:\w*(?:Error|Exception|Warning|Exit)|ERROR|WARNING|CRITICAL)"
    r"\s*:\s*(.+?)[\s`]*$",
    re.M,
)
_VARIABLE = re.compile(r"'[^']*'|\"[^\"]*\"|<[^>]*>|\b0x[0-9a-f]+\b|\d+(?:\.\d+)?|[()\[\]{}]")
MIN_MESSAGE = 12
MAX_MESSAGES = 3
_CODE = re.compile(r"`([^`\n]+)`|```.*?```", re.S)
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_METHOD_CALL = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z][a-z]+[A-Z]")

CODE_SUFFIXES = frozenset(
    [
        ".py",
        ".pyi",
        ".pyx",
        ".js",
        ".jsx",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".go",
        ".rs",
        ".java",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".rb",
        ".php",
        ".kt",
        ".scala",
        ".swift",
        ".cs",
        ".toml",
        ".cfg",
        ".ini",
        ".yaml",
        ".yml",
        ".rst",
        ".md",
        ".txt",
        ".sh",
    ]
)


@dataclass
class Mentions:
    paths: list[str] = field(default_factory=list)
    """Path-like strings, in order of appearance."""
    frames: list[tuple[str, int, str]] = field(default_factory=list)
    """Traceback frames (path, line, function), outermost first."""
    dotted: list[str] = field(default_factory=list)
    identifiers: dict[str, float] = field(default_factory=dict)
    """Identifier to how code-like its use is (1 plain word ... 3 clearly code)."""
    messages: list[str] = field(default_factory=list)
    """The fixed part of error messages quoted in the task (to find where they are raised)."""


def extract(text: str) -> Mentions:
    out = Mentions()
    out.frames = _frames(text)
    frame_paths = {f[0].strip("./") for f in out.frames}
    seen: set[str] = set()
    for regex in (_PATH, _SLASHED):
        for m in regex.finditer(text):
            cand = m.group(1).replace("\\", "/").strip("./")
            if not cand or cand in seen or cand in frame_paths:
                continue
            suffix = cand[cand.rfind(".") :].lower() if "." in cand.rsplit("/", 1)[-1] else ""
            if suffix in CODE_SUFFIXES or ("/" in cand and not suffix):
                seen.add(cand)
                out.paths.append(cand)
    for m in _DOTTED.finditer(text):
        name = m.group(1)
        last = name.rsplit(".", 1)[-1].lower()
        if "." + last in CODE_SUFFIXES and name.count(".") == 1:
            continue
        if name not in out.dotted:
            out.dotted.append(name)
    _weigh_identifiers(text, out)
    for m in _ERROR.finditer(text):
        chunks = [c.strip(" :,.") for c in _VARIABLE.split(m.group(1))]
        best = max(chunks, key=len, default="")
        if len(best) >= MIN_MESSAGE and best not in out.messages:
            out.messages.append(best)
        if len(out.messages) >= MAX_MESSAGES:
            break
    return out


def _frames(text: str) -> list[tuple[str, int, str]]:
    """Traceback frames in the order they appear, whichever tool printed them."""
    found: list[tuple[int, str, int, str]] = []
    for m in _FRAME.finditer(text):
        found.append((m.start(), m.group(1), int(m.group(2)), m.group(3) or ""))
    for m in _IPYTHON_FRAME.finditer(text):
        line = m.group(2)
        if line is None:
            arrow = _ARROW_LINE.search(text, m.end())
            line = arrow.group(1) if arrow else "0"
        found.append((m.start(), m.group(1), int(line), m.group(3).rsplit(".", 1)[-1]))
    for m in _PYTEST_FRAME.finditer(text):
        found.append((m.start(), m.group(1), int(m.group(2)), m.group(3) or ""))
    found.sort()
    return [(path.replace("\\", "/"), line, func) for _pos, path, line, func in found]


def _weigh_identifiers(text: str, out: Mentions) -> None:
    code_spans = " ".join(m.group(0) for m in _CODE.finditer(text))
    in_code = set(_IDENT.findall(code_spans))
    called = set(_CALL.findall(text))
    methods = set(_METHOD_CALL.findall(code_spans))
    dotted_parts = {p for d in out.dotted for p in d.split(".")}
    frame_funcs = {f[2] for f in out.frames if f[2]}
    for name in _IDENT.findall(text):
        if name in out.identifiers:
            continue
        if len(name) < 3:
            # `Q(...)`, `F(...)`: a short class called in the text is still a name to look
            # up (rank.py counts only classes for these); any other short word is noise.
            if name[0].isupper() and name in called:
                out.identifiers[name] = 3.0
            continue
        weight = 1.0
        if "_" in name.strip("_") or _CAMEL.search(name) or name.startswith("_"):
            weight += 1.0
        if name in in_code or name in called or name in dotted_parts or name in frame_funcs:
            weight += 1.0
        if name in methods:
            weight += 1.0
        out.identifiers[name] = min(weight, 3.0)


class PathIndex:
    """Resolves a mentioned path, whatever prefix it carries (an absolute path from another
    machine, site-packages, `a/b/c.py` for `src/a/b/c.py`), to the repository's files."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self._by_name: dict[str, list[str]] = {}
        for path in self.files:
            self._by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)

    def resolve(self, mention: str, *, min_parts: int = 1) -> list[str]:
        """The files whose path ends with the longest matching tail of `mention`."""
        parts = [p for p in mention.split("/") if p and p != "."]
        if not parts:
            return []
        if parts[-1] not in self._by_name:
            return self._directory(parts)
        return self._tail(parts, min_parts)

    def _tail(self, parts: list[str], min_parts: int) -> list[str]:
        candidates = self._by_name.get(parts[-1], [])
        best: list[str] = []
        best_len = 0
        for cand in candidates:
            cparts = cand.split("/")
            n = 0
            while n < min(len(parts), len(cparts)) and parts[-1 - n] == cparts[-1 - n]:
                n += 1
            if n > best_len:
                best, best_len = [cand], n
            elif n == best_len:
                best.append(cand)
        if best_len < min_parts:
            return []
        return sorted(best)

    def _directory(self, parts: list[str]) -> list[str]:
        """A mentioned directory: its package marker, when it has one."""
        for marker in ("__init__.py", "mod.rs", "index.ts", "index.js"):
            found = self._tail([*parts, marker], len(parts) + 1)
            if found:
                return found
        return []

    def module(self, dotted: str) -> tuple[list[str], list[str]]:
        """The files a dotted name points to (longest module prefix first) and the attribute
        names after the module part."""
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            base = "/".join(parts[:n])
            need = n + 1 if n == 1 else n
            for tail in (base + ".py", base + "/__init__.py"):
                found = self.resolve(tail, min_parts=need if tail.endswith("__init__.py") else n)
                if found and (n > 1 or len(found) == 1):
                    return found, parts[n:]
        return [], parts
