"""Boilerplate an issue's text carries that says nothing about where the change goes.

Issue templates leave HTML comments ("Thanks for submitting an issue! Here's a quick
checklist..."), people paste `pip list` or `conda list` output, environment dumps and the
IPython banner. Their words match files all over a repository and drown the few words that
matter, so they are removed before ranking. Tracebacks, code and prose are kept as they are.
"""

from __future__ import annotations

import re

__all__ = ["strip_boilerplate"]

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_PACKAGE_ROW = re.compile(
    r"^\s*[A-Za-z][\w.\-\[\]]*\s+(?:==\s*)?v?\d+(?:\.\w+)+\S*(?:\s+\S+){0,3}\s*$", re.M
)
_PIN = re.compile(r"^\s*[A-Za-z][\w.\-\[\]]*\s*(?:==|@)\s*\S+\s*$", re.M)
_RULE_ROW = re.compile(r"^\s*-{3,}(?:\s+-{3,})+\s*$", re.M)
_BANNER = re.compile(
    r"^\s*(?:Python \d+\.\d+\.\d+[^\n]*|IPython \d[^\n]*|Type \"copyright\"[^\n]*|"
    r"\?\s+-> Introduction[^\n]*|%quickref\s+->[^\n]*|help\s+-> Python's own help[^\n]*|"
    r"object\?\s+-> Details about[^\n]*)$",
    re.M,
)
_PACKAGE_HEADER = re.compile(r"^\s*(?:Package|Name)\s+Version\b[^\n]*$", re.M)
MIN_LIST_ROWS = 3
"""Fewer package-like rows than this are probably part of the issue (a version table)."""


def strip_boilerplate(text: str) -> str:
    """`text` without template comments, package listings and interpreter banners."""
    text = _COMMENT.sub(" ", text)
    text = _BANNER.sub("", text)
    text = _PACKAGE_HEADER.sub("", text)
    text = _RULE_ROW.sub("", text)
    for rows in (_PACKAGE_ROW, _PIN):
        if len(rows.findall(text)) >= MIN_LIST_ROWS:
            text = rows.sub("", text)
    return text
