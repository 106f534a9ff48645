"""The one glob dialect for every path pattern a person or the model writes.

grep's and list_files' `glob`, the user's `secret_files` and `review_skip` settings and batch
plans all match paths with `glob_matches`, so a pattern means the same everywhere:

- `*` and `?` stay within one path segment; `**` crosses segments (`**/` also matches no
  directory at all); `[abc]`, `[!abc]` classes; `{a,b}` alternatives.
- A pattern without a slash (`*.key`) matches a file's name in any directory; one with a slash
  (`deploy/*.env`, `src/**/*.ts`) matches the whole workspace-relative path, so `a/*.key`
  matches `a/c.key` but not `a/b/c.key` (write `a/**/*.key` for that).
- A trailing slash means everything below that directory; a leading `./` or `/` anchors at the
  workspace root, as any slash does.

This module imports nothing from v4code, so every layer may use it.
"""

from __future__ import annotations

import functools
import re

__all__ = ["compile_glob", "glob_matches"]


def _translate(pattern: str) -> str:
    """Glob to regex: `*` and `?` stay within a path segment, `**` crosses segments,
    `**/` also matches no directory at all, `[...]` classes, `{a,b}` alternatives."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i):
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            else:
                out.append(".*")
                i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            start = i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1
            end = pattern.find("]", start + 1 if pattern[start : start + 1] == "]" else start)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        elif c == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            alternatives = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex for one glob, anchored at both ends (a bad class is matched literally)."""
    try:
        return re.compile(f"(?s:{_translate(pattern)})\\Z")
    except re.error:
        return re.compile(f"(?s:{re.escape(pattern)})\\Z")


def glob_matches(path: str, pattern: str) -> bool:
    """Whether a relative POSIX path matches a glob, .gitignore style.

    A pattern without a slash (`*.py`) matches the file name in any directory; one with a
    slash (`src/**/*.ts`) matches the whole relative path; a trailing slash means everything
    below that directory; a leading `./` or `/` anchors at the start (as the slash does).
    """
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if pattern.endswith("/"):
        pattern += "**"
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    if not pattern:
        return True
    regex = compile_glob(pattern)
    if regex.match(path):
        return True
    return not anchored and regex.match(path.rsplit("/", 1)[-1]) is not None
