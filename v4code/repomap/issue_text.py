"""Boilerplate an issue's text carries that says nothing about where the change goes.

Issue templates leave HTML comments ("Thanks for submitting an issue! Here's a quick
checklist..."), and pasted interpreter sessions start with the IPython banner. Their words
match files all over a repository and drown the few words that matter, so they are removed
before ranking. Tracebacks, code, logs and prose are kept as they are (package listings too:
the names of a project's neighbours turn out to help as much as they hurt).
"""

from __future__ import annotations

import re

__all__ = ["strip_boilerplate"]

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_BANNER = re.compile(
    r"^[ \t]*(?:Python \d+\.\d+\.\d+ \|[^\n]*|IPython \d[^\n]*|Type \"copyright\"[^\n]*|"
    r"\?\s+-> Introduction[^\n]*|%quickref\s+->[^\n]*|help\s+-> Python's own help[^\n]*|"
    r"object\?\s+-> Details about[^\n]*)$",
    re.M,
)


def strip_boilerplate(text: str) -> str:
    """`text` without template comments and interpreter banners."""
    return _BANNER.sub("", _COMMENT.sub(" ", text))
