"""Code-aware tokens: identifiers split the way people name things.

`parse_tree_sitter` and `getItemCount` both yield their parts ("parse", "tree", "sitter";
"get", "item", "count") and the whole name, lower-cased, so a task saying "item count"
meets the code that says `getItemCount`, and one naming `getItemCount` meets it more
strongly still (the whole name is rarer than its parts).
"""

from __future__ import annotations

import functools
import re
from collections import Counter

__all__ = ["IDENTIFIER", "counts_of_names", "split_identifier", "terms_of"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
MIN_LEN = 2
MAX_LEN = 60

STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "not",
        "no",
        "can",
        "do",
        "does",
        "should",
        "would",
        "could",
        "i",
        "we",
        "you",
        "me",
        "my",
        "our",
        "your",
        "self",
        "cls",
        "def",
        "class",
        "return",
        "import",
        "none",
        "true",
        "false",
        "else",
        "elif",
    ]
)
"""Words too common in prose or in every file to say which file a task is about."""


@functools.lru_cache(maxsize=200_000)
def split_identifier(name: str) -> tuple[str, ...]:
    """The lower-cased terms of one identifier: its parts, then the whole when it has several."""
    if len(name) > MAX_LEN:
        return ()
    parts: list[str] = []
    for chunk in name.split("_"):
        parts.extend(p.lower() for p in _PARTS.findall(chunk))
    out = [p for p in parts if len(p) >= MIN_LEN and p not in STOP]
    whole = name.lower().strip("_")
    if len(parts) > 1 and whole and whole not in out:
        out.append(whole)
    return tuple(out)


def counts_of_names(names: Counter[str]) -> Counter[str]:
    """Term counts from identifier counts."""
    counts: Counter[str] = Counter()
    for name, n in names.items():
        for term in split_identifier(name):
            counts[term] += n
    return counts


def terms_of(text: str) -> list[str]:
    """The terms of a text, in order, duplicates kept (for queries)."""
    out: list[str] = []
    for name in IDENTIFIER.findall(text):
        out.extend(split_identifier(name))
    return out
