"""Which of a file's errors after an edit it already had before: the rest are the edit's news.

An error is known when the text before had one of the same rule (the diagnostic's `code`,
such as `reportAttributeAccessIssue`) at the line the edit's diff maps it to, or one with the
same message. The message alone is not enough: it can name a type the edit changed
(`Argument of type "Any | None"` becomes `"Any | Literal['utf-8'] | None"` on a line the
edit never touched), and an old error then reads as new. The line alone is not either: lines
move around an edit, and one inside a changed region maps to nothing (an error there is new
unless its message is old). Each old error accounts for one new one at most, rule and line
matched first, so a second error with an old message elsewhere is still news.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsprotocol import types as lsp

__all__ = ["Baseline", "line_map", "unknown"]

MAX_MAPPED_LINES = 5_000
"""Edited middles longer than this (in lines, the lines both texts begin and end with left
out) are not diffed, their errors matched by message only: such a diff could cost more
than the check it serves."""


@dataclass(frozen=True)
class Baseline:
    """A file's errors, and the text they were found in (None: not known, say a new file)."""

    text: str | None
    errors: Sequence[lsp.Diagnostic]


def line_map(before: str, after: str) -> dict[int, int]:
    """0-based lines of `after` that the diff from `before` leaves as they were, mapped to
    their line in `before`; lines the edit changed or added are not in it. The lines both
    texts begin and end with are paired first, so only the edited middle is diffed (an
    edit is local: a whole-file diff of a long module costs a tenth of a second)."""
    a, b = before.splitlines(), after.splitlines()
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    out = {j: j for j in range(head)}
    out.update((len(b) - 1 - k, len(a) - 1 - k) for k in range(tail))
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if max(len(middle_a), len(middle_b)) > MAX_MAPPED_LINES:
        return out
    import difflib  # only once an edit is checked: sessions start without it

    matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
    for i, j, size in matcher.get_matching_blocks():
        out.update((head + j + k, head + i + k) for k in range(size))
    return out


def unknown(
    before: Baseline, after: Baseline, first: Baseline | None = None
) -> list[lsp.Diagnostic]:
    """The errors of `after` that `before` did not have, in line order. An error the file
    had when the session first checked it (`first`) and `before` did not is not new either:
    an edit can hide an old error (code after a new one goes unchecked) and the next edit
    bring it back, which is no news of that edit."""
    left = sorted(after.errors, key=lambda d: (d.range.start.line, d.range.start.character))
    left = _unmatched(before, after.text, left)
    if first is not None and left:
        # `first`'s errors beyond those `before` has with the same message (those are known
        # through `before` already: counting them twice would hide a new error repeating one)
        extra = _unmatched_messages(before.errors, first.errors)
        left = _unmatched(Baseline(first.text, extra), after.text, left)
    return left


def _unmatched(
    known: Baseline, text: str | None, errors: list[lsp.Diagnostic]
) -> list[lsp.Diagnostic]:
    """`errors` less those one of `known`'s accounts for: same rule at the mapped line
    first, then same message; each of `known`'s at most once."""
    pool = list(known.errors)
    lines: dict[int, int] | None = None
    rest = []
    for error in errors:
        twin = None
        if error.code is not None and known.text is not None and text is not None:
            lines = line_map(known.text, text) if lines is None else lines
            was = lines.get(error.range.start.line)
            twin = next((k for k in pool if _same_place(k, error, was)), None)
        if twin is None:
            rest.append(error)
        else:
            pool.remove(twin)
    return _unmatched_messages(pool, rest)


def _same_place(known: lsp.Diagnostic, error: lsp.Diagnostic, line: int | None) -> bool:
    return line is not None and known.code == error.code and known.range.start.line == line


def _unmatched_messages(
    known: Sequence[lsp.Diagnostic], errors: Sequence[lsp.Diagnostic]
) -> list[lsp.Diagnostic]:
    """`errors` less one with the same message for each of `known`'s."""
    counts = Counter(d.message for d in known)
    out = []
    for error in errors:
        if counts[error.message] > 0:
            counts[error.message] -= 1
        else:
            out.append(error)
    return out
