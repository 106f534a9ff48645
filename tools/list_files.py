"""list_files: the files under a directory, gitignore-aware, optionally filtered by a glob."""

from __future__ import annotations

from typing import Any

from v4code.errors import ToolError
from v4code.globs import glob_matches
from v4code.repo.files import WALK_LIMIT
from v4code.repo.files import list_files as workspace_files
from v4code.textio import counted, one_line
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import ToolSummary
from v4code.workspace import relative_to_root

MAX_ENTRIES = 1000


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`list src *.py 42 files`."""
    path = args.get("path", ".")
    label = f"list {path}" + (f" {args['pattern']}" if args.get("pattern") else "")
    counts = {}
    if isinstance(data, dict) and "count" in data:
        counts["files"] = int(data["count"])
        label += f" {counted(counts['files'], 'file')}"
    return ToolSummary(label, paths=(path,), counts=counts)


@tool(risk="read", summary=_summary)
def list_files(ctx: ToolContext, path: str = ".", pattern: str | None = None) -> ToolOutput:
    """List the files under a directory of the workspace, one path per line, sorted.

    Files ignored by git (.gitignore) are left out, and so are .git, node_modules, caches
    and virtualenvs. Paths are relative to the workspace root, ready for read_file.

    Args:
        path: Directory to list, relative to the workspace root ("." for all of it).
        pattern: Optional glob to keep only some files: "*.py" matches that name in any
            directory, "src/**/*.ts" matches paths from the workspace root (or from `path`),
            "*.{js,ts}" matches either extension.
    """
    real = ctx.resolve(path, must_exist=True)
    rel = relative_to_root(ctx.root, real)
    listing = workspace_files(ctx.root, real, cancel=ctx.cancel)
    files = listing.files
    if pattern:
        prefix = "" if rel == "." else rel + "/"
        files = [
            f
            for f in files
            if glob_matches(f, pattern) or glob_matches(f.removeprefix(prefix), pattern)
        ]
    where = "the workspace" if rel == "." else rel
    if not files:
        if pattern:
            return _output(f"No files matching {pattern!r} in {where}.", rel, pattern, 0)
        if not real.is_dir():
            raise ToolError(f"{path} is not a directory.")
        return _output(
            f"No files in {where} (empty, or everything in it is ignored).", rel, None, 0
        )
    lines = [one_line(f) for f in files[:MAX_ENTRIES]]  # a name cannot start a line of its own
    if listing.note:
        lines = [f"[{listing.note}]", *lines]
    if len(files) > MAX_ENTRIES:
        lines.append(
            f"... {len(files) - MAX_ENTRIES:,} more files (showing the first {MAX_ENTRIES:,}); "
            "narrow the listing with path= or pattern="
        )
    if not listing.complete:
        lines.append(f"[the listing stopped after {WALK_LIMIT:,} files]")
    return _output(cap_output("\n".join(lines), ctx.output_cap), rel, pattern, len(files))


def _output(text: str, rel: str, pattern: str | None, count: int) -> ToolOutput:
    return ToolOutput(text, data={"path": rel, "pattern": pattern, "count": count})
