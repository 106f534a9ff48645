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


def _depths(defs: list[Definition]) -> dict[int, int]:
    """How deep each definition (by id) is nested in the others by its line span (a closure
    in a method in a class: 2), so it prints at its own indentation. Go methods, declared
    outside their type, count one level for the type their receiver names."""
    depths: dict[int, int] = {}
    open_: list[Definition] = []
    for d in defs:
        while open_ and not (open_[-1].line <= d.line and d.end_line <= open_[-1].end_line):
            open_.pop()
        depths[id(d)] = max(len(open_), 1 if d.parent else 0)
        open_.append(d)
    return depths


def _indent(depths: dict[int, int], d: Definition) -> str:
    return "  " * (depths.get(id(d), 1 if d.parent else 0) + 1)


def outline_text(path: str, symbols: FileSymbols) -> str:
    """Every definition of one file, nested under its class, with its line range."""
    head = f"{one_line(path)} ({symbols.lines} lines, {symbols.language})"
    if not symbols.definitions:
        return head + "\n  (no definitions found)"
    lines = [head]
    depths = _depths([d for d in symbols.definitions if d.kind != "module"])
    for d in symbols.definitions:
        lines.append(_def_line(d, _indent(depths, d)))
    return "\n".join(lines)


def _file_block(path: str, symbols: FileSymbols, limit: int) -> list[str]:
    """The file's public definitions in source order (methods of private classes and
    private helpers left out), at most `limit` of them."""
    defs = [d for d in symbols.definitions if d.kind != "module"]
    private_classes = {d.name for d in defs if d.kind == "class" and d.name.startswith("_")}
    shown = [
        d
        for d in defs
        if not (d.name.startswith("_") and not (d.name.startswith("__") and d.name == "__init__"))
        and d.parent not in private_classes
    ]
    if limit == 0 or not shown:
        count = f" ({len(defs)} definitions)" if defs else ""
        return [f"{one_line(path)}{count}"]
    lines = [f"{one_line(path)}:"]
    depths = _depths(defs)
    for d in shown[:limit]:
        lines.append(_def_line(d, _indent(depths, d)))
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
