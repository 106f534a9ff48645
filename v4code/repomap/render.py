"""Text views of the index: a file's outline and the repo map, fitted to a token budget.

Both show signatures with line ranges, never bodies: enough for a reader (or a model) to
know where to look and what to call, at a fraction of the file's size.
"""

from __future__ import annotations

from v4code.repomap.index import RepoIndex
from v4code.repomap.rank import RankedFile, is_test_path
from v4code.repomap.symbols import Definition, FileSymbols
from v4code.textio import counted, one_line

__all__ = ["estimate_tokens", "outline_text", "rank_for_map", "render_map"]

MAX_DEFS_PER_FILE = 40


def estimate_tokens(text: str) -> int:
    """About four characters a token, as the rest of v4code estimates."""
    return (len(text) + 3) // 4


def _def_line(d: Definition, indent: str) -> str:
    return f"{indent}{d.line}-{d.end_line}: {one_line(d.signature)}"


def _enclosing(defs: list[Definition]) -> list[int]:
    """For each definition (in source order), the position of the nearest one enclosing it
    (a method's class, a closure's function), or -1: the parent field names classes only, so a
    nested function would otherwise look top-level."""
    open_defs: list[int] = []
    out: list[int] = []
    for i, d in enumerate(defs):
        while open_defs and defs[open_defs[-1]].end_line < d.line:
            open_defs.pop()
        out.append(open_defs[-1] if open_defs else -1)
        open_defs.append(i)
    return out


def _indents(enclosing: list[int]) -> list[str]:
    """Two spaces a level: one for a top-level definition, one more per enclosing one."""
    depth: list[int] = []
    for outer in enclosing:
        depth.append(depth[outer] + 1 if outer >= 0 else 0)
    return ["  " * (n + 1) for n in depth]


def outline_text(path: str, symbols: FileSymbols) -> str:
    """Every definition of one file, nested under its class, with its line range."""
    head = f"{one_line(path)} ({symbols.lines} lines, {symbols.language})"
    if not symbols.definitions:
        return head + "\n  (no definitions found)"
    lines = [head]
    indents = _indents(_enclosing(symbols.definitions))
    for i, d in enumerate(symbols.definitions):
        lines.append(_def_line(d, indents[i]))
    return "\n".join(lines)


def _file_block(path: str, symbols: FileSymbols, limit: int) -> list[str]:
    """The file's public definitions in source order (private helpers and whatever they
    enclose, such as a private class's methods or a private function's closures, left out),
    at most `limit` of them."""
    defs = [d for d in symbols.definitions if d.kind != "module"]
    enclosing = _enclosing(defs)
    indents = _indents(enclosing)
    visible: list[bool] = []
    for i, d in enumerate(defs):
        public = not d.name.startswith("_") or d.name == "__init__"
        visible.append(public and (enclosing[i] < 0 or visible[enclosing[i]]))
    shown = [(d, indents[i]) for i, d in enumerate(defs) if visible[i]]
    if limit == 0 or not shown:
        count = f" ({len(defs)} definitions)" if defs else ""
        return [f"{one_line(path)}{count}"]
    lines = [f"{one_line(path)}:"]
    for d, indent in shown[:limit]:
        lines.append(_def_line(d, indent))
    if len(shown) > limit:
        lines.append(f"  ... {len(shown) - limit} more")
    return lines


def render_map(ranked: list[RankedFile], files: dict[str, FileSymbols], max_tokens: int) -> str:
    """The ranked files with their key definitions, best first, as many as fit in
    `max_tokens`; a file that does not fit whole is shown with fewer definitions, then by
    name only."""
    out: list[str] = []
    used = 0
    for item in ranked:
        symbols = files.get(item.path)
        if symbols is None:
            continue
        for limit in (MAX_DEFS_PER_FILE, 10, 3, 0):
            block = "\n".join(_file_block(item.path, symbols, limit)) + "\n"
            cost = estimate_tokens(block)
            if used + cost <= max_tokens:
                out.append(block)
                used += cost
                break
        else:
            break
    return "".join(out).rstrip("\n")


def rank_for_map(index: RepoIndex) -> list[RankedFile]:
    """Without a focus: the files whose definitions the most other files use (in-degree
    over the definition/reference graph), tests and docs last."""
    used_by = index.used_by()
    scored = []
    for path, sym in index.files.items():
        weight = len(used_by.get(path, ())) + 0.01 * len(sym.definitions)
        if is_test_path(path):
            weight *= 0.1
        if sym.language == "text":
            weight *= 0.05
        scored.append((weight, path))
    scored.sort(key=lambda t: (-t[0], t[1]))
    best = scored[0][0] if scored and scored[0][0] > 0 else 1.0
    return [
        RankedFile(p, round(w / best, 4), f"used by {counted(len(used_by.get(p, ())), 'file')}")
        for w, p in scored
    ]
