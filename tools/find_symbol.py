"""find_symbol: where a name is defined and where it is used: from the session's language
server when one answers (exact and type-aware: it knows module constants the syntax trees do
not, and which class's method a call reaches), from the syntax trees otherwise. The result's
`source` says which answered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from v4code.errors import ToolError
from v4code.repomap import find_symbol as lookup
from v4code.textio import counted, one_line
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary

if TYPE_CHECKING:
    from v4code.repomap.api import SymbolHit, SymbolReport

MAX_ASKED = 5
"""Definitions whose uses a language server is asked for; with more, the syntax trees answer."""
MAX_SIGNATURE = 200
"""Characters of a definition's line shown when the syntax trees have no signature for it."""


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`find_symbol Invoice.total 1 definition, 4 references`."""
    label = f"find_symbol {args['name']}"
    counts = {}
    if isinstance(data, dict) and "definitions" in data:
        d, r = int(data["definitions"]), int(data["references"])
        counts = {"definitions": d, "references": r}
        label += f" {counted(d, 'definition')}, {counted(r, 'reference')}"
    return ToolSummary(label, counts=counts)


@tool(risk="read", summary=_summary)
def find_symbol(
    ctx: ToolContext,
    name: str,
    kind: Literal["class", "function", "method"] | None = None,
) -> ToolOutput:
    """Find where a class, function or method is defined (path:line range and signature) and
    every line that uses it (path:line), across the repository.

    More precise than grep for code names: comments, strings and partial-word matches are
    not mixed in. Where a language server runs, the definitions and uses are its answer
    (exact and type-aware: module constants are found too, and another class's method of
    the same name is not listed); the result says so ("from the language server"), else
    they come from the syntax tree. Use it to jump to a definition, to find callers before
    changing a signature, or to see how something is used.

    Args:
        name: The name as written in code, e.g. "parse_config"; "Class.method" narrows to
            that class's method.
        kind: Only definitions of this kind.
    """
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise ToolError(
            f"name must be one identifier such as 'parse_config' or 'Invoice.total', not {name!r}."
        )
    secret = ctx.secret_files  # the user's globs too
    report = lookup(ctx.root, name, kind, cancel=ctx.cancel, secret_files=secret)
    _ask_server(ctx, report, name.rsplit(".", 1)[-1], kind)
    data = {
        "definitions": len(report.definitions),
        "references": len(report.references),
        "source": report.source,
    }
    return ToolOutput(cap_output(report.format(), ctx.output_cap), data=data)


def _ask_server(ctx: ToolContext, report: SymbolReport, name: str, kind: str | None) -> None:
    """The definitions and their uses from the session's language server, in place of the
    syntax trees' (`source` "lsp"); the report left as it is when no server answers in time,
    or the server knows of no use where the trees see some (a TypeScript project without
    tsconfig.json is one file to its server). The server adds definitions the trees do not
    see (`MAX_LINES = 3`); the trees' definitions it does not list stay, since workspace
    symbols leave out definitions inside functions."""
    servers = ctx.diagnostics
    if servers is None:
        return
    near = dict.fromkeys(ctx.root / h.path for h in (*report.definitions, *report.references))
    found = servers.symbols(name, list(near))
    if found is None:
        return
    parent = report.name.rsplit(".", 1)[0] if "." in report.name else ""
    definitions = _definitions(ctx, report, found, name, parent, kind)
    if not definitions or len(definitions) > MAX_ASKED:
        return
    places: set[tuple[str, int]] = set()
    for hit in definitions:
        uses = servers.references(ctx.root / hit.path, hit.line, name)
        if uses is None:
            return
        places.update(uses)
    if not places and report.references:
        return
    shown = sorted(p for p in places if not _secret(ctx, p[0]))  # as the trees skip them
    report.definitions = definitions
    report.references = [_hit(path, line) for path, line in shown]
    report.source, report.truncated = "lsp", False


def _definitions(
    ctx: ToolContext,
    report: SymbolReport,
    found: Sequence[tuple[str, int, str, str]],
    name: str,
    parent: str,
    kind: str | None,
) -> list[SymbolHit]:
    """The server's definitions of `name` (of `kind`, in class `parent` when given), each
    shown with the trees' line range and signature where they have it, then the trees'
    definitions the server did not list."""
    from v4code.repomap.api import SymbolHit
    from v4code.repomap.symbols import Definition

    out: list[SymbolHit] = []
    for path, line, their_kind, container in found:
        if (kind and their_kind != kind) or _secret(ctx, path):
            continue
        if parent and container and container.rsplit(".", 1)[-1] != parent:
            continue
        tree = [h for h in report.definitions if h.path == path and _spans(h, line)]
        if tree:
            out.append(max(tree, key=lambda h: h.line))  # the innermost
            continue
        if parent:  # a server that names no class (TypeScript's): only the trees' methods
            continue
        signature = _source_line(ctx, path, line)
        out.append(
            SymbolHit(path, line, Definition(name, their_kind, line, line, signature, container))
        )
    out += [h for h in report.definitions if h not in out and not _listed(h, found)]
    return out


def _spans(hit: SymbolHit, line: int) -> bool:
    d = hit.definition
    return d is not None and d.line <= line <= d.end_line


def _listed(hit: SymbolHit, found: Sequence[tuple[str, int, str, str]]) -> bool:
    return any(path == hit.path and _spans(hit, line) for path, line, _, _ in found)


def _source_line(ctx: ToolContext, path: str, line: int) -> str:
    """The definition's line as written (`MAX_LINES = 3`), for one the trees do not know."""
    try:
        lines = (ctx.root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return one_line(lines[line - 1].strip())[:MAX_SIGNATURE] if line <= len(lines) else ""


def _secret(ctx: ToolContext, path: str) -> bool:
    from v4code.safety.secret_files import secret_reason

    return bool(secret_reason(path, root=ctx.root, globs=ctx.secret_files))


def _hit(path: str, line: int) -> SymbolHit:
    from v4code.repomap.api import SymbolHit

    return SymbolHit(path, line)
