"""Reading a repository: tree-sitter symbols, a ranker that locates the files a task is
about, a repo map fitted to a token budget, outlines and symbol lookup.

The API is in `v4code.repomap.api` (re-exported here); `cli_entry` prints what the `map`
and `locate` commands show. Nothing heavy is imported until a file is parsed.
"""

from v4code.repomap.api import (
    RankedFile,
    SymbolHit,
    SymbolReport,
    find_symbol,
    locate,
    outline,
    repo_map,
)

__all__ = [
    "RankedFile",
    "SymbolHit",
    "SymbolReport",
    "find_symbol",
    "locate",
    "outline",
    "repo_map",
]
