"""Indentation: translating the model's indentation into the file's, and the file's style.

`indent_mapper` finds the one consistent change (a prefix added or removed, tabs for spaces at
one width) between the indentation the model used in old_string and the file's; `conform` holds
new lines to the file's indentation character (tabs in a space-indented file are a slip, and
the other way round).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable


def leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def identity(ws: str) -> str | None:
    return ws


def describe_ws(ws: str) -> str:
    if ws and ws == "\t" * len(ws):
        return f"{len(ws)} tab{'s' if len(ws) > 1 else ''}"
    if ws and ws == " " * len(ws):
        return f"{len(ws)} space{'s' if len(ws) > 1 else ''}"
    return repr(ws)


def indent_mapper(
    pairs: list[tuple[str, str]],
) -> tuple[Callable[[str], str | None], str] | None:
    """One consistent translation of the model's indentation into the file's, or None.

    `pairs` are (model's leading whitespace, file's leading whitespace) of the matched
    non-blank lines. Returns a function for new_string's indentation and a description.
    """
    if all(o == f for o, f in pairs):
        return identity, ""
    o0, f0 = pairs[0]
    if f0.endswith(o0):
        prefix = f0[: len(f0) - len(o0)]
        if all(f == prefix + o for o, f in pairs):
            return (lambda ws: prefix + ws), f"+{describe_ws(prefix)}"
    if o0.endswith(f0):
        prefix = o0[: len(o0) - len(f0)]
        if all(o == prefix + f for o, f in pairs):

            def remove(ws: str) -> str | None:
                return ws[len(prefix) :] if ws.startswith(prefix) else None

            return remove, f"-{describe_ws(prefix)}"
    return tab_mapper(pairs)


TABS = re.compile(r"^(\t*)( *)$")
SPACES = re.compile(r"^( *)$")


def tab_mapper(
    pairs: list[tuple[str, str]],
) -> tuple[Callable[[str], str | None], str] | None:
    """Tabs for spaces (or spaces for tabs) at one width, alignment spaces kept."""
    olds = [o for o, _ in pairs]
    files = [f for _, f in pairs]
    if all(SPACES.match(o) for o in olds) and all(TABS.match(f) for f in files):
        for width in (4, 2, 8, 3):
            if all(to_tabs(o, width) == f for o, f in pairs):

                def as_tabs(ws: str, width: int = width) -> str | None:
                    return to_tabs(ws, width) if SPACES.match(ws) else None

                return as_tabs, f"{width} spaces as a tab"
    if all(TABS.match(o) for o in olds) and all(SPACES.match(f) for f in files):
        for width in (4, 2, 8, 3):
            if all(to_spaces(o, width) == f for o, f in pairs):

                def as_spaces(ws: str, width: int = width) -> str | None:
                    return to_spaces(ws, width) if TABS.match(ws) else None

                return as_spaces, f"a tab as {width} spaces"
    return None


def to_tabs(ws: str, width: int) -> str:
    return "\t" * (len(ws) // width) + " " * (len(ws) % width)


def to_spaces(ws: str, width: int) -> str:
    tabs = len(ws) - len(ws.lstrip("\t"))
    return " " * (tabs * width) + ws[tabs:]


NO_INDENTATION = ("none", 0)


def indent_style(lines: list[str], n: int) -> tuple[str, int] | None:
    """The file's indentation: ("tabs", 0), ("spaces", width), NO_INDENTATION when no line is
    indented, or None when it is not clear-cut."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous = 0
    for line in lines[:n]:
        if not line.strip():
            continue
        ws = leading(line)
        if ws.startswith("\t"):
            tabs += 1
        elif ws and "\t" not in ws:
            spaces += 1
            if len(ws) > previous:
                steps[len(ws) - previous] += 1
        previous = len(ws) if "\t" not in ws else previous
    total = tabs + spaces
    if total == 0:
        return NO_INDENTATION
    if tabs >= 0.9 * total:
        return ("tabs", 0)
    if spaces >= 0.9 * total:
        units = [(count, width) for width, count in steps.items() if width in (2, 3, 4, 8)]
        if units:
            return ("spaces", max(units)[1])
    return None


def default_style(path: str) -> tuple[str, int] | None:
    """What a file with no indented line yet should use, by its kind (PEP 8, make, gofmt)."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith((".py", ".pyi")):
        return ("spaces", 4)
    if name in ("Makefile", "GNUmakefile", "makefile") or name.endswith((".mk", ".go")):
        return ("tabs", 0)
    return None


class LazyStyle:
    """The indentation new lines must follow. Tabs or spaces: as in the indented lines
    nearest the edit; the width of a space indent: the file's usual step; a text with no
    indented line at all: the fallback for the file's kind."""

    NEAREST = 12

    def __init__(self, text: str, fallback: tuple[str, int] | None = None) -> None:
        self.text = text
        self.fallback = fallback
        self.lines: list[str] = []
        self.whole: tuple[str, int] | None = None
        self.ready = False

    def get(self, index: int) -> tuple[str, int] | None:
        if not self.ready:
            self.lines = self.text.split("\n")
            self.whole = indent_style(
                self.lines,
                len(self.lines) - 1
                if self.text.endswith("\n") or not self.text
                else len(self.lines),
            )
            self.ready = True
        if self.whole == NO_INDENTATION:
            return self.fallback
        tabs = spaces = 0
        for line in self._nearest_indented(index):
            if line.startswith("\t"):
                tabs += 1
            elif len(leading(line)) % 2 == 0:  # odd widths align text, they do not indent
                spaces += 1
        if tabs and tabs >= 0.9 * (tabs + spaces):
            return ("tabs", 0)
        if spaces and spaces >= 0.9 * (tabs + spaces) and self.whole and self.whole[0] == "spaces":
            return self.whole
        return None

    def _nearest_indented(self, index: int) -> list[str]:
        found: list[str] = []
        lines = self.lines
        for distance in range(len(lines)):
            for j in (index - distance, index + distance + 1):
                if 0 <= j < len(lines) and lines[j][:1] in (" ", "\t") and lines[j].strip():
                    found.append(lines[j])
            if len(found) >= self.NEAREST or (
                index - distance < 0 and index + distance >= len(lines)
            ):
                break
        return found


def conform(
    lines: list[str], context: list[bool], style: tuple[str, int] | None
) -> tuple[list[str], str]:
    """Indent new lines with the file's character: tabs in a space-indented file (or spaces
    in a tab-indented one) are converted; context lines are left as they are."""
    if style is None or style == NO_INDENTATION:
        return lines, ""
    kind, width = style
    targets = [j for j, line in enumerate(lines) if not context[j] and line]
    if kind == "spaces":
        bad = [j for j in targets if "\t" in leading(lines[j])]
        if not bad or not all(TABS.match(leading(lines[j])) for j in bad):
            return lines, ""
        out = list(lines)
        for j in bad:
            ws = leading(out[j])
            out[j] = to_spaces(ws, width) + out[j][len(ws) :]
        return out, f"tabs in new_string indented as {width} spaces, like the file"
    bad = [j for j in targets if leading(lines[j]).startswith(" ")]
    if not bad or not all(SPACES.match(leading(lines[j])) for j in bad):
        return lines, ""
    sizes = [len(leading(lines[j])) for j in bad]
    unit = next((u for u in (4, 2) if all(n % u == 0 for n in sizes)), 0)
    if not unit:
        return lines, ""
    out = list(lines)
    for j in bad:
        ws = leading(out[j])
        out[j] = to_tabs(ws, unit) + out[j][len(ws) :]
    return out, f"new_string's {unit}-space indentation written as tabs, like the file"
