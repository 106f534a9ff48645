"""Find where an edit applies: a cascade of ever more tolerant, never ambiguous, matches.

Steps, in order; each is used only when the ones before found nothing, and only when it finds
exactly one place:

1. `exact`: `old_string` is a substring of the text.
2. `trailing-whitespace`: whole lines equal once trailing whitespace is ignored.
3. `indentation`: whole lines equal ignoring leading and trailing whitespace, *and* the
   file's indentation differs from the model's by one consistent change (a prefix added or
   removed, or tabs for spaces at one width); `new_string` is re-indented the same way.
4. `typography`: as 3, after mapping typographic quotes, dashes and non-breaking spaces to ASCII.

For the tolerant steps (2-4), lines that `new_string` keeps unchanged from `old_string` (its
context) are written back exactly as they are in the file, so the model's whitespace slips never
leak into lines it did not mean to change. Several matches, or none, raise `MatchError` with the
candidates and their line numbers: a refused edit is recoverable, a wrong one is not.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from v4code.edits.candidates import nearest_candidates
from v4code.edits.indent import (
    LazyStyle,
    conform,
    identity,
    indent_mapper,
    leading,
)
from v4code.errors import ToolError

TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)

STEP_NOTES = {
    "exact": "",
    "trailing-whitespace": "matched ignoring trailing whitespace",
    "indentation": "matched ignoring indentation",
    "typography": "matched treating typographic quotes and dashes as ASCII",
}
IGNORING = {
    "trailing-whitespace": "ignoring trailing whitespace",
    "indentation": "ignoring indentation",
    "typography": "ignoring indentation and typographic quotes and dashes",
}
MAX_LISTED = 8
SNIPPET_LINES = 12


@dataclass(frozen=True)
class MatchResult:
    """The text after the edit, and where it changed (for the model's summary)."""

    text: str
    count: int
    step: str
    spans: tuple[tuple[int, int], ...]  # (first line, number of lines) in the new text
    note: str = ""


class MatchError(ToolError):
    """No match, or several: the message shows the nearest candidates with line numbers."""

    def __init__(self, message: str, kind: str, lines: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind  # "not-found" | "ambiguous" | "inconsistent-indentation" | "invalid"
        self.lines = lines  # 1-based line numbers of the candidates shown


# ---------------------------------------------------------------------------------------------
# entry point


def find_match(
    text: str,
    old: str,
    new: str,
    *,
    replace_all: bool = False,
    label: str = "the file",
    fallback_style: tuple[str, int] | None = None,
    parses: Callable[[str], bool] | None = None,
) -> MatchResult:
    """Apply `old -> new` to `text` through the cascade, or raise MatchError.

    `fallback_style` is the indentation to hold new lines to when no line of the text is
    indented yet (see `default_style`). `parses`, when the file's language has a parser,
    settles one ambiguity: new_string's indentation read as written or relative to an
    old_string that starts after the indentation. If exactly one reading parses, it is used;
    otherwise the edit is refused.
    """
    style = LazyStyle(text, fallback_style)
    if old == "":
        raise MatchError("old_string is empty.", "invalid")
    if old == new:
        raise MatchError(
            "old_string and new_string are identical; nothing would change.", "invalid"
        )
    positions = _find_all(text, old)
    if len(positions) == 1 or (replace_all and positions):
        chosen = positions if replace_all else positions[:1]
        return _replace_exact(text, old, new, chosen, label, style, parses)
    if positions:
        at = tuple(_line_of(text, p) for p in positions)
        raise MatchError(
            f"old_string occurs {len(positions)} times in {label} (at {_list_lines(at)}). "
            "Add surrounding lines to old_string to make it unique, or set replace_all to "
            "true to replace every occurrence.",
            "ambiguous",
            at,
        )
    lines = text.split("\n")
    old_lines, _ = _split(old)
    if all(not line.strip() for line in old_lines):
        raise _not_found(text, lines, old_lines, label)
    for step, key, reindent in STEPS:
        starts = _window_matches(lines, _real_len(text, lines), old_lines, key)
        if len(starts) == 1:
            return _replace_lines(text, lines, starts[0], old, new, step, reindent, label, style)
        if starts:
            shown = tuple(s + 1 for s in starts)
            raise MatchError(
                f"old_string does not occur exactly in {label}; {IGNORING[step]}, it matches "
                f"{len(starts)} places (at {_list_lines(shown, len(old_lines))}), so v4code "
                "cannot tell which one is meant. Copy old_string exactly from the file, with "
                "enough surrounding lines to make it unique.",
                "ambiguous",
                shown,
            )
    raise _not_found(text, lines, old_lines, label)


def _key_trailing(line: str) -> str:
    return line.rstrip()


def _key_strip(line: str) -> str:
    return line.strip()


def _key_typography(line: str) -> str:
    return line.translate(TYPOGRAPHY).strip()


STEPS: tuple[tuple[str, Callable[[str], str], bool], ...] = (
    ("trailing-whitespace", _key_trailing, False),
    ("indentation", _key_strip, True),
    ("typography", _key_typography, True),
)


# ---------------------------------------------------------------------------------------------
# exact


def _find_all(text: str, old: str, limit: int = 1000) -> list[int]:
    """Every start of `old` in `text`, overlapping ones included (they make a match ambiguous)."""
    out: list[int] = []
    pos = text.find(old)
    while pos != -1 and len(out) < limit:
        out.append(pos)
        pos = text.find(old, pos + 1)
    return out


def _replace_exact(
    text: str,
    old: str,
    new: str,
    positions: list[int],
    label: str,
    style: LazyStyle,
    parses: Callable[[str], bool] | None,
) -> MatchResult:
    # Non-overlapping, left to right (what str.replace does).
    chosen: list[int] = []
    end = -1
    for p in positions:
        if p >= end:
            chosen.append(p)
            end = p + len(old)
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    notes: set[str] = set()
    cursor = 0
    line_count = 1
    for p in chosen:
        oracle = parses if len(chosen) == 1 else None
        replacement, note, begin = _fit_exact(text, p, old, new, style, label, oracle)
        chunk = text[cursor:begin]
        parts.append(chunk)
        line_count += chunk.count("\n")
        replacement = _eol_like(text, p, replacement)
        if note:
            notes.add(note)
        spans.append((line_count, _n_lines(replacement)))
        parts.append(replacement)
        line_count += replacement.count("\n")
        cursor = p + len(old)
    parts.append(text[cursor:])
    return MatchResult("".join(parts), len(chosen), "exact", tuple(spans), "; ".join(sorted(notes)))


def _fit_exact(
    text: str,
    pos: int,
    old: str,
    new: str,
    style: LazyStyle,
    label: str,
    parses: Callable[[str], bool] | None,
) -> tuple[str, str, int]:
    """new_string for an exact match at `pos`, checked against the file's indentation.

    Returns the replacement, a note for the model, and where the replacement starts (moved to
    the start of the line when whole lines lose their indentation-less copy).
    """
    new_lines, new_nl = _split(new)
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    if not prefix and len(new_lines) == 1 and not new_lines[0][:1].isspace():
        return new, "", pos
    if prefix and not prefix.strip() and old.endswith("\n") and new == "":
        return "", "", line_start  # deleting whole lines: their indentation goes too
    if prefix and len(new_lines) == 1:
        return new, "", pos
    old_lines, _ = _split(old)
    context = _context_flags(old_lines, new_lines)
    note = ""
    if prefix:
        context[0] = True  # the first line continues the file's line: not indentation
        if not any(line.strip() for line in old_lines[1:]):
            indent = leading(prefix) if prefix.strip() else prefix
            strict = not prefix.strip()
            try:
                _check_anchor(new_lines, context, indent, _line_of(text, pos), label, strict)
            except MatchError:
                if parses is None:
                    raise
                rest = (text[:pos], text[pos + len(old) :], new_nl)
                new_lines, note = _by_parsing(new_lines, context, indent, rest, parses, label)
    fitted, fit_note = conform(new_lines, context, style.get(_line_of(text, pos) - 1))
    note = "; ".join(n for n in (note, fit_note) if n)
    if not note:
        return new, "", pos
    return "\n".join(fitted) + ("\n" if new_nl else ""), note, pos


def _by_parsing(
    new_lines: list[str],
    context: list[bool],
    indent: str,
    rest: tuple[str, str, bool],
    parses: Callable[[str], bool],
    label: str,
) -> tuple[list[str], str]:
    """Read new_string's indentation as written or relative to the line old_string starts in:
    whichever reading alone gives a text that parses. Re-raises the ambiguity otherwise."""
    head, tail, new_nl = rest
    relative = [
        indent + line if j and line.strip() and not context[j] else line
        for j, line in enumerate(new_lines)
    ]

    def whole(lines: list[str]) -> str:
        return head + "\n".join(lines) + ("\n" if new_nl else "") + tail

    as_written, as_relative = parses(whole(new_lines)), parses(whole(relative))
    if as_written and not as_relative:
        return (
            new_lines,
            "new_string's indentation read as written (the other reading does not parse)",
        )
    if as_relative and not as_written:
        return relative, (
            "new_string's indentation read as relative to old_string's first line "
            "(the other reading does not parse)"
        )
    line_no = head.count("\n") + 1
    raise MatchError(
        f"old_string starts after the indentation of line {line_no} of {label} and shows no "
        "other line's indentation, and "
        + ("both readings" if as_written else "neither reading")
        + " of new_string's indentation (as written, or relative to old_string's first line) "
        "parse. Start old_string and new_string at the beginning of the line, with its "
        "indentation.",
        "inconsistent-indentation",
        (line_no,),
    )


def _check_anchor(
    new_lines: list[str],
    context: list[bool],
    indent: str,
    line_no: int,
    label: str,
    strict: bool,
) -> None:
    """old_string starts inside an indented line and shows no other line's indentation, so
    the indentation of new_string's other lines may be meant as written or relative to that
    line. `strict` (old_string starts right after the indentation): any such line is a guess;
    otherwise lines indented at least like the file's line are taken as written."""
    if not indent:
        return
    later = [line for j, line in enumerate(new_lines[1:], 1) if line.strip() and not context[j]]
    if not later or (not strict and all(line.startswith(indent) for line in later)):
        return
    raise MatchError(
        f"old_string starts after the indentation of line {line_no} of {label} and shows no "
        "other line's indentation, so v4code cannot tell whether the indentation of "
        "new_string's other lines is meant as written or relative to old_string's first line. "
        "Start old_string and new_string at the beginning of the line, with its indentation.",
        "inconsistent-indentation",
        (line_no,),
    )


def _eol_like(text: str, pos: int, new: str) -> str:
    """In a raw (mixed-endings) text, new lines inside a CRLF line get CRLF too."""
    if "\n" not in new or "\r\n" in new:
        return new
    eol = text.find("\n", pos)
    if eol > 0 and text[eol - 1] == "\r" and "\r" not in new:
        return new.replace("\n", "\r\n")
    return new


# ---------------------------------------------------------------------------------------------
# line-wise steps


def _split(value: str) -> tuple[list[str], bool]:
    """Lines of a model string and whether it ended with a newline."""
    if value.endswith("\n"):
        return value[:-1].split("\n"), True
    return value.split("\n"), False


def _real_len(text: str, lines: list[str]) -> int:
    """Number of real lines (a final newline does not start another line)."""
    return len(lines) - 1 if text.endswith("\n") or text == "" else len(lines)


def _window_matches(
    lines: list[str], n: int, old_lines: list[str], key: Callable[[str], str]
) -> list[int]:
    k = len(old_lines)
    want = [key(line) for line in old_lines]
    keys: list[str | None] = [None] * n
    starts = []
    first = want[0]
    for s in range(0, n - k + 1):
        if keys[s] is None:
            keys[s] = key(lines[s])
        if keys[s] != first:
            continue
        ok = True
        for i in range(1, k):
            j = s + i
            if keys[j] is None:
                keys[j] = key(lines[j])
            if keys[j] != want[i]:
                ok = False
                break
        if ok:
            starts.append(s)
    return starts


def _replace_lines(
    text: str,
    lines: list[str],
    start: int,
    old: str,
    new: str,
    step: str,
    reindent: bool,
    label: str,
    style: LazyStyle,
) -> MatchResult:
    old_lines, old_nl = _split(old)
    new_lines, new_nl = _split(new)
    k = len(old_lines)
    matched = lines[start : start + k]
    note = STEP_NOTES[step]
    mapper: Callable[[str], str | None] = identity
    anchor, evidence = "", True
    if reindent:
        mapper, how, anchor, evidence = _indentation(old_lines, matched, lines, start, label)
        if how:
            note = f"{note}; new_string re-indented ({how})"
    crlf_region = bool(matched) and all(line.endswith("\r") for line in matched)
    replaced: list[str] = []
    if new:
        replaced, context = _merge_context(old_lines, new_lines, matched, mapper, anchor, label)
        if anchor and not evidence:
            flags = _context_flags(old_lines, new_lines)
            _check_anchor(new_lines, flags, anchor, start + 1, label, strict=True)
        replaced, fitted = conform(replaced, context, style.get(start))
        if fitted:
            note = f"{note}; {fitted}"
        if crlf_region:
            replaced = [
                line if flag or line.endswith("\r") else line + "\r"
                for line, flag in zip(replaced, context, strict=True)
            ]
    begin = sum(len(line) + 1 for line in lines[:start])
    end = begin + sum(len(line) + 1 for line in matched) - 1  # end of the last line's content
    has_eol = start + k < len(lines)  # the last matched line is followed by "\n"
    if old_nl and has_eol:
        end += 1
    replacement = "\n".join(replaced)
    if new and new_nl and (has_eol or not old_nl):
        replacement += "\n"
    new_text = text[:begin] + replacement + text[end:]
    first = text.count("\n", 0, begin) + 1
    return MatchResult(new_text, 1, step, ((first, _n_lines(replacement)),), note)


def _indentation(
    old_lines: list[str], matched: list[str], lines: list[str], start: int, label: str
) -> tuple[Callable[[str], str | None], str, str, bool]:
    """How to re-indent new_string: (mapper, description, anchor, whether any line beyond an
    anchored first line showed the model's indentation)."""
    pairs = [(leading(o), leading(f)) for o, f in zip(old_lines, matched, strict=True) if o.strip()]
    anchor = ""
    if old_lines[0].strip() and not leading(old_lines[0]) and leading(matched[0]):
        # old_string starts at the first line's text, as an exact match could.
        anchor = leading(matched[0])
        pairs = pairs[1:]
    found = indent_mapper(pairs) if pairs else (identity, "")
    if found is None:
        k = len(old_lines)
        shown = (start + 1,)
        raise MatchError(
            f"old_string matches {label} at {_list_lines(shown, k)} only if indentation is "
            "ignored, and its indentation differs from the file's by no consistent amount, "
            "so v4code cannot re-indent new_string safely. Copy old_string with the file's "
            "exact indentation.\n" + _snippet(lines, start, k, old_lines),
            "inconsistent-indentation",
            shown,
        )
    return found[0], found[1], anchor, bool(pairs)


def _merge_context(
    old_lines: list[str],
    new_lines: list[str],
    matched: list[str],
    mapper: Callable[[str], str | None],
    anchor: str,
    label: str,
) -> tuple[list[str], list[bool]]:
    """new_string's lines, with its unchanged context taken verbatim from the file; the flags
    tell which output lines are such context."""
    out: list[str] = []
    flags: list[bool] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(matched[i1:i2])
            flags.extend([True] * (i2 - i1))
            continue
        for j in range(j1, j2):
            line = new_lines[j]
            if j == 0 and anchor and line.strip() and not leading(line):
                line = anchor + line  # new_string starts where old_string did
            elif line.strip():
                ws = leading(line)
                mapped = mapper(ws)
                if mapped is None:
                    raise MatchError(
                        f"old_string matched in {label} only with different indentation, and "
                        f"line {j + 1} of new_string is indented in a way v4code cannot "
                        "translate to the file's indentation. Copy old_string with the file's "
                        "exact indentation and indent new_string the same way.",
                        "inconsistent-indentation",
                    )
                line = mapped + line[len(ws) :]
            out.append(line)
            flags.append(False)
    return out, flags


def _context_flags(old_lines: list[str], new_lines: list[str]) -> list[bool]:
    """Which lines of new_string repeat old_string unchanged (a line diff's equal blocks)."""
    flags = [False] * len(new_lines)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            flags[j1:j2] = [True] * (j2 - j1)
    return flags


# ---------------------------------------------------------------------------------------------
# messages


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _n_lines(replacement: str) -> int:
    if not replacement:
        return 0
    return replacement.count("\n") + (0 if replacement.endswith("\n") else 1)


def _list_lines(lines: tuple[int, ...], height: int = 1) -> str:
    shown = [f"line {n}" if height <= 1 else f"lines {n}-{n + height - 1}" for n in lines]
    if len(shown) > MAX_LISTED:
        shown = [*shown[:MAX_LISTED], f"and {len(lines) - MAX_LISTED} more"]
    return ", ".join(shown)


def _snippet(lines: list[str], start: int, k: int, old_lines: list[str]) -> str:
    """File lines [start, start+k) with numbers; `!` marks lines that differ from old_string."""
    out = []
    stop = min(len(lines), start + k)
    for i in range(start, stop):
        if i - start >= SNIPPET_LINES:
            out.append(f"       ... ({stop - i} more lines)")
            break
        want = old_lines[i - start] if i - start < len(old_lines) else None
        mark = " " if want is not None and want.rstrip("\r") == lines[i].rstrip("\r") else "!"
        out.append(f"  {mark}{i + 1:>5}| {_clip(lines[i].rstrip(chr(13)))}")
    return "\n".join(out)


def _clip(line: str, width: int = 160) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _not_found(text: str, lines: list[str], old_lines: list[str], label: str) -> MatchError:
    n = _real_len(text, lines)
    head = (
        f"old_string was not found in {label}, neither exactly nor ignoring whitespace "
        "and typographic quotes."
    )
    starts = nearest_candidates(lines, n, old_lines) if n else []
    if not starts:
        return MatchError(
            f"{head} No similar lines either: read the file again before editing it.",
            "not-found",
        )
    parts = [head]
    k = len(old_lines)
    for rank, s in enumerate(starts):
        same = sum(
            1
            for i, want in enumerate(old_lines)
            if s + i < n and want.strip() == lines[s + i].strip()
        )
        title = "Nearest candidate" if rank == 0 else "Another candidate"
        last = min(n, s + k)
        where = f"line {s + 1}" if last <= s + 1 else f"lines {s + 1}-{last}"
        parts.append(
            f"{title}, {where} ({same} of {k} lines equal; ! marks the others):\n"
            + _snippet(lines, s, k, old_lines)
        )
        if rank == 0:
            diff = _first_difference(lines, n, s, old_lines)
            if diff:
                parts.append(diff)
    parts.append("Copy old_string exactly from the current file (read it again if unsure).")
    return MatchError("\n".join(parts), "not-found", tuple(s + 1 for s in starts))


def _first_difference(lines: list[str], n: int, start: int, old_lines: list[str]) -> str:
    for i, want in enumerate(old_lines):
        j = start + i
        have = lines[j].rstrip("\r") if j < n else None
        if have is None:
            return f"old_string line {i + 1} ({_clip(want)!r}) runs past the end of the file."
        if want.strip() != have.strip():
            return (
                f"First difference: old_string line {i + 1} is {_clip(want.strip())!r}; "
                f"file line {j + 1} is {_clip(have.strip())!r}."
            )
    return ""
