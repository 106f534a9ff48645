"""grep: regex search across the workspace (ripgrep, git grep or Python; see v4code.repo.search)."""

from __future__ import annotations

from typing import Any

from v4code.repo.search import search
from v4code.safety.secret_files import SecretFiles
from v4code.textio import counted
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary
from v4code.workspace import relative_to_root

MAX_MATCHES = 200


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`grep 'TODO' src 14 matches`."""
    where = args.get("path")
    label = f"grep {args['pattern']!r}" + (f" {where}" if where not in (None, ".") else "")
    counts = {}
    if isinstance(data, dict) and "matches" in data:
        n = counts["matches"] = int(data["matches"])
        label += f" {counted(n, 'match', 'matches')}"
    return ToolSummary(label, paths=(where,) if isinstance(where, str) else (), counts=counts)


@tool(risk="read", summary=_summary)
def grep(
    ctx: ToolContext,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    ignore_case: bool = False,
) -> ToolOutput:
    """Search file contents with a regular expression; returns `path:line:text` per match.

    Searches text files under `path`, skipping files ignored by git and binary files. The
    syntax is ripgrep's (Rust/PCRE-like): escape special characters such as ( [ { . * + ? |
    for literal text. At most 200 matches are shown; narrow the search when there are more.

    Args:
        pattern: Regular expression to search for, e.g. "def \\w+_handler" or "TODO|FIXME".
        path: File or directory to search, relative to the workspace root.
        glob: Only search files matching this glob, e.g. "*.py" or "src/**/*.ts".
        ignore_case: Match letters regardless of case.
    """
    real = ctx.resolve(path, must_exist=True)
    rel = relative_to_root(ctx.root, real)
    rule = None
    if real.is_dir() and not ctx.allow_secrets:
        rule = SecretFiles(ctx.root, ctx.secret_files).reason  # a file: approved
    result = search(
        ctx.root,
        pattern,
        under=real,
        glob=glob,
        ignore_case=ignore_case,
        limit=MAX_MATCHES,
        cancel=ctx.cancel,
        secret=rule,
    )
    data = {"matches": result.total, "complete": result.complete, "backend": result.backend}
    skipped = ""
    if result.secrets_skipped:
        n = result.secrets_skipped
        skipped = (
            f"[{n} secret file{'' if n == 1 else 's'} (.env, keys, credentials) not searched; "
            "read_file asks the user for one]"
        )
    if not result.matches:
        where = "the workspace" if rel == "." else rel
        also = f" in files matching {glob!r}" if glob else ""
        text = f"No matches for {pattern!r} in {where}{also}."
        return ToolOutput(f"{text}\n{skipped}" if skipped else text, data=data)
    lines = [str(m) for m in result.matches]
    if skipped:
        lines.append(skipped)
    hidden = result.total - len(result.matches)
    if hidden > 0 or not result.complete:
        count = f"{hidden:,}" if result.complete else f"at least {hidden:,}"
        lines.append(
            f"... {count} more matches (showing the first {len(result.matches)}); "
            "narrow the search with path=, glob= or a more specific pattern"
        )
    return ToolOutput(cap_output("\n".join(lines), ctx.output_cap), data=data)
