"""find_symbol: where a name is defined (the syntax trees) and where it is used (the
session's language server when one answers for the definitions' files, exact and type-aware;
the syntax trees otherwise). The result's `source` says which gave the uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from v4code.errors import ToolError
from v4code.repomap import find_symbol as lookup
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary

if TYPE_CHECKING:
    from v4code.repomap.api import SymbolHit, SymbolReport

MAX_ASKED = 5
"""Definitions whose uses a language server is asked for; with more, the syntax trees answer."""


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`find_symbol Invoice.total 1 definition, 4 references`."""
    label = f"find_symbol {args['name']}"
    counts = {}
    if isinstance(data, dict) and "definitions" in data:
        d, r = int(data["definitions"]), int(data["references"])
        counts = {"definitions": d, "references": r}
        label += f" {d} definition{'' if d == 1 else 's'}, {r} reference{'' if r == 1 else 's'}"
    return ToolSummary(label, counts=counts)


@tool(risk="read", summary=_summary)
def find_symbol(
    ctx: ToolContext,
    name: str,
    kind: Literal["class", "function", "method"] | None = None,
) -> ToolOutput:
    """Find where a class, function or method is defined (path:line range and signature) and
    every line that uses it (path:line), across the repository.

    More precise than grep for code names: definitions come from the syntax tree, so
    comments, strings and partial-word matches are not mixed in. Where a language server
    runs, the uses are its answer (exact and type-aware: another class's method of the same
    name is not listed); the result says which ("from the language server"). Use it to jump
    to a definition, to find callers before changing a signature, or to see how something
    is used.

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
    _ask_server(ctx, report, name.rsplit(".", 1)[-1])
    data = {
        "definitions": len(report.definitions),
        "references": len(report.references),
        "source": report.source,
    }
    return ToolOutput(cap_output(report.format(), ctx.output_cap), data=data)


def _ask_server(ctx: ToolContext, report: SymbolReport, name: str) -> None:
    """The uses of every definition found, from the session's language server, in place of
    the syntax trees' (a name used by several definitions gets all their uses); left as it
    is when no server answers for one of them in time, or the server knows of no use where
    the trees see some."""
    servers = ctx.diagnostics
    if servers is None or not report.definitions or len(report.definitions) > MAX_ASKED:
        return
    places: set[tuple[str, int]] = set()
    for hit in report.definitions:
        found = servers.references(ctx.root / hit.path, hit.line, name)
        if found is None:
            return
        places.update(found)
    if not places and report.references:
        return  # a server that does not see the whole project (no tsconfig.json) answers none
    from v4code.safety.secret_files import secret_reason

    hidden = {p for p, _ in places if secret_reason(p, root=ctx.root, globs=ctx.secret_files)}
    shown = sorted(place for place in places if place[0] not in hidden)  # as the trees skip them
    report.references = [_hit(path, line) for path, line in shown]
    report.source, report.truncated = "lsp", False


def _hit(path: str, line: int) -> SymbolHit:
    from v4code.repomap.api import SymbolHit

    return SymbolHit(path, line)
