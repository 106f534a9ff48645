"""find_symbol: where a name is defined and where it is used, from the syntax trees."""

from __future__ import annotations

from typing import Any, Literal

from v4code.errors import ToolError
from v4code.repomap import find_symbol as lookup
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary


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
    comments, strings and partial-word matches are not mixed in. Use it to jump to a
    definition, to find callers before changing a signature, or to see how something is used.

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
    data = {"definitions": len(report.definitions), "references": len(report.references)}
    return ToolOutput(cap_output(report.format(), ctx.output_cap), data=data)
