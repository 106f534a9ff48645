"""No import cycles in v4code: a reader following any import never comes back where they
started. Every import counts: inside functions and under `if TYPE_CHECKING:`, and
`from v4code.pkg import mod` counts as an import of the module `mod`.
"""

from __future__ import annotations

import ast

from test_architecture import module_name, sources

STILL_TIED: dict[frozenset[str], str] = {}
"""Knots not untied yet, each with why it holds; an entry goes when its knot does."""


def _targets(node: ast.Import | ast.ImportFrom, here: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = here.split(".")[: len(here.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def graph() -> dict[str, set[str]]:
    """Module -> the v4code modules it imports (every import, wherever it stands)."""
    modules = {module_name(p): p for p in sources()}
    edges: dict[str, set[str]] = {}
    for here, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(_targets(node, here, path.name == "__init__.py"))
        edges[here] = {name for name in found if name in modules and name != here}
    return edges


def knots(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected parts with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = {stack.pop()}
            while node not in part:
                part.add(stack.pop())
            if len(part) > 1:
                found.append(frozenset(part))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    found = knots(graph())
    new = [sorted(k) for k in found if k not in STILL_TIED]
    assert new == [], f"import cycles: {new}"
    untied = [sorted(k) for k in STILL_TIED if k not in found]
    assert untied == [], f"untied: remove from STILL_TIED: {untied}"
