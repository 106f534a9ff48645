"""Text views of the index: a file's outline and the repo map, fitted to a token budget.

Both show signatures with line ranges, never bodies: enough for a reader (or a model) to
know where to look and what to call, at a fraction of the file's size.
"""

from __future__ import annotations

from v4code.repomap.index import RepoIndex
from v4code.repomap.rank import RankedFile, is_test_path
from v4code.repomap.symbols import Definition, FileSymbols
from v4code.textio import one_line

__all__ = ["estimate_tokens", "outline_text", "rank_for_map", "render_map"]

MAX_DEFS_PER_FILE = 40


def estimate_tokens(text: str) -> int:
    """About four characters a token, as the rest of v4code estimates."""
    return (len(text) + 3) // 4


def _def_line(d: Definition, indent: str) -> str:
    return f"{indent}{d.line}-{d.end_line}: {one_line(d.signature)}"


def _indents(defs: list[Definition]) -> dict[int, str]:
    """Each definition's indent by how many others enclose it (a method under its class, a
    closure under its function), keyed by position in `defs` (in source order): the parent
    field names classes only, so a nested function would otherwise look top-level."""
    open_ends: list[int] = []
    indents: dict[int, str] = {}
    for i, d in enumerate(defs):
        while open_ends and open_ends[-1] < d.line:
            open_ends.pop()
        indents[i] = "  " * (len(open_ends) + 1)
        open_ends.append(d.end_line)
    return indents


def outline_text(path: str, symbols: FileSymbols) -> str:
    """Every definition of one file, nested under its class, with its line range."""
    head = f"{one_line(path)} ({symbols.lines} lines, {symbols.language})"
    if not symbols.definitions:
        return head + "\n  (no definitions found)"
    lines = [head]
    indents = _indents(symbols.definitions)
    for i, d in enumerate(symbols.definitions):
        lines.append(_def_line(d, indents[i]))
    return "\n".join(lines)


def _file_block(path: str, symbols: FileSymbols, limit: int) -> list[str]:
    """The file's public definitions in source order (methods of private classes and
    private helpers left out), at most `limit` of them."""
    defs = [d for d in symbols.definitions if d.kind != "module"]
    indents = _indents(defs)
    private_classes = {d.name for d in defs if d.kind == "class" and d.name.startswith("_")}
    shown = [
        (d, indents[i])
        for i, d in enumerate(defs)
        if not (d.name.startswith("_") and not (d.name.startswith("__") and d.name == "__init__"))
        and d.parent not in private_classes
    ]
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
        RankedFile(p, round(w / best, 4), f"used by {len(used_by.get(p, ()))} files")
        for w, p in scored
    ]
