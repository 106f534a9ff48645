"""One file's symbols: what it defines (with signature and span) and which names it uses.

Tree-sitter parses the files whose language it knows; every other file, and any file whose
parse fails, is still indexed as plain text (its terms), never an error. Tree-sitter itself
is imported on the first parse.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from v4code.repomap.languages import Grammar, grammar_for, language_of
from v4code.repomap.tokens import IDENTIFIER, counts_of_names, split_identifier

if TYPE_CHECKING:
    from tree_sitter import Node, Point, Query, QueryCursor, Tree

__all__ = ["MAX_PARSE_BYTES", "Definition", "FileSymbols", "index_text", "reference_lines"]

MAX_PARSE_BYTES = 1_000_000
"""Larger files (generated tables, minified bundles) are indexed as text only."""
PARSE_SECONDS = 5.0
"""A file whose parse takes longer is indexed as text: honest code of MAX_PARSE_BYTES parses
in well under a second, while text built to make the parser's error recovery crawl takes
ten; one such file then costs seconds, never minutes."""
MAX_QUERY_DEPTH = 1000
"""Syntax nodes deeper than this are not searched for definitions or references. A query's
time grows with the tree's depth (the references of a generated 100,000-term sum took half
a minute) and no honest definition sits that deep; deeper uses are simply not listed."""
_CHUNK = 1 << 16
MAX_SIGNATURE = 200
_SPACE = re.compile(r"\s+")
_OPEN = re.compile(r"\(\s+")
_CLOSE = re.compile(r",?\s+\)")
_BEFORE_COMMA = re.compile(r"\s+,")


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    """"class" (also struct, interface, enum, trait, type), "function", "method", "module"."""
    line: int
    """1-based first line (the decorator's, when there is one, is not counted)."""
    end_line: int
    signature: str
    """The definition up to its body, on one line: `def area(self, scale: float) -> float`."""
    parent: str = ""
    """The enclosing class (or impl) for a method."""


@dataclass
class FileSymbols:
    language: str
    """The grammar's name, or "text" when the file was not (or could not be) parsed."""
    definitions: list[Definition] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    """Identifiers the file mentions, sorted (their lines are found on demand by
    `reference_lines`, which few questions need)."""
    terms: dict[str, int] = field(default_factory=dict)
    """Term counts of the whole text, for lexical ranking."""
    lines: int = 0
    name_terms: list[str] = field(default_factory=list)
    """The terms of the defined names (split and whole), for ranking by what a file defines."""

    def to_json(self) -> list[Any]:
        defs = [
            [d.name, d.kind, d.line, d.end_line, d.signature, d.parent] for d in self.definitions
        ]
        return [self.language, defs, self.references, self.terms, self.lines, self.name_terms]

    @classmethod
    def from_json(cls, data: list[Any]) -> FileSymbols:
        language, defs, refs, terms, lines, name_terms = data
        # JSON gives back the types to_json wrote; only the shape is checked (a warm index of
        # thousands of files is read on every call, so no per-value conversion).
        if not (
            isinstance(language, str)
            and isinstance(refs, list)
            and isinstance(terms, dict)
            and isinstance(lines, int)
            and isinstance(name_terms, list)
        ):
            raise TypeError("malformed cache entry")
        return cls(language, [Definition(*d) for d in defs], refs, terms, lines, name_terms)


def index_text(path: str, data: bytes, *, parse: bool = True) -> FileSymbols:
    """Symbols of a file's bytes; a file tree-sitter cannot read (or, without `parse`, is
    not given to) gets its terms only."""
    text = data.decode("utf-8", "replace")
    names = Counter(IDENTIFIER.findall(text))
    symbols = FileSymbols("text", terms=dict(counts_of_names(names)), lines=text.count("\n") + 1)
    spec = language_of(path)
    if not parse or spec is None or len(data) > MAX_PARSE_BYTES:
        return symbols
    grammar = grammar_for(spec)
    if grammar is None:
        return symbols
    try:
        _parse_into(grammar, data, symbols)
    except Exception:  # noqa: BLE001 - a parser failure degrades to text indexing
        symbols.definitions, symbols.language = [], "text"
        return symbols
    symbols.references = sorted(names)
    terms: set[str] = set()
    for d in symbols.definitions:
        terms.update(split_identifier(d.name))
        terms.add(d.name.lower())
    symbols.name_terms = sorted(terms)
    return symbols


def reference_lines(path: str, data: bytes, name: str) -> list[int]:
    """The 1-based lines where `name` is used as an identifier (not where it is defined);
    lines mentioning it anywhere (comments, strings too) for a file tree-sitter cannot read,
    or whose tree shows no use but nests deeper than MAX_QUERY_DEPTH (where the uses are)."""
    spec = language_of(path)
    grammar = grammar_for(spec) if spec is not None and len(data) <= MAX_PARSE_BYTES else None
    defined: set[int] = set()
    if grammar is not None:
        try:
            found, defined, deep = _tree_reference_lines(grammar, data, name)
        except Exception:  # noqa: BLE001 - fall back to the text
            found, deep = [], True
        if found or not deep:
            return found
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    text = data.decode("utf-8", "replace")
    lines = enumerate(text.splitlines(), 1)
    return [i for i, line in lines if i not in defined and pattern.search(line)]


def _parse(grammar: Grammar, data: bytes) -> Tree:
    """The syntax tree; ValueError when parsing takes over PARSE_SECONDS (the parser reads
    through a callback because only then does it report progress and accept a stop)."""
    deadline = time.monotonic() + PARSE_SECONDS

    def read(offset: int, _point: Point) -> bytes:
        return data[offset : offset + _CHUNK]

    def overdue(*_state: object) -> bool:
        return time.monotonic() > deadline

    return grammar.parser().parse(read, progress_callback=overdue)


def _cursor(query: Query) -> QueryCursor:
    from tree_sitter import QueryCursor

    cursor = QueryCursor(query)
    cursor.set_max_start_depth(MAX_QUERY_DEPTH)
    return cursor


def _tree_reference_lines(
    grammar: Grammar, data: bytes, name: str
) -> tuple[list[int], set[int], bool]:
    """The lines using `name`, the lines defining it, and (when no use was found) whether
    the tree is deeper than the queries look."""
    root = _parse(grammar, data).root_node
    encoded = name.encode("utf-8")
    skip: set[int] = set()
    defined: set[int] = set()
    for _pattern, caps in _cursor(grammar.definitions).matches(root):
        for node in caps.get("name", []):
            skip.add(node.start_byte)
            if data[node.start_byte : node.end_byte] == encoded:
                defined.add(node.start_point[0] + 1)
    lines: set[int] = set()
    for node in _cursor(grammar.references).captures(root).get("ref", []):
        if node.start_byte in skip or node.end_byte - node.start_byte != len(encoded):
            continue
        if data[node.start_byte : node.end_byte] == encoded:
            lines.add(node.start_point[0] + 1)
    return sorted(lines), defined, not lines and _deeper_than(root, MAX_QUERY_DEPTH)


def _deeper_than(root: Node, limit: int) -> bool:
    """Whether any node lies more than `limit` levels below `root` (an iterative walk that
    stops as soon as one does)."""
    cursor = root.walk()
    depth = 0
    while True:
        if depth > limit:
            return True
        if cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return False
            depth -= 1


def _parse_into(grammar: Grammar, data: bytes, out: FileSymbols) -> None:
    root = _parse(grammar, data).root_node
    definitions: list[tuple[int, int, Definition]] = []
    for _pattern, caps in _cursor(grammar.definitions).matches(root):
        names = caps.get("name")
        kind_key = next((k for k in caps if k.startswith("def.")), None)
        if not names or kind_key is None:
            continue
        node = caps[kind_key][0]
        name_node = names[0]
        name = data[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace")
        kind = kind_key[4:]
        parent = ""
        if kind == "function":
            container = _container_of(node, grammar.spec.containers)
            if container is not None:
                kind, parent = "method", _container_name(container, data)
        elif kind == "method" and node.type == "method_declaration":
            parent = _go_receiver(node, data)
        definitions.append(
            (
                node.start_byte,
                -node.end_byte,
                Definition(
                    name,
                    kind,
                    node.start_point[0] + 1,
                    node.end_point[0] + 1,
                    _signature(node, data),
                    parent,
                ),
            )
        )
    definitions.sort(key=lambda t: (t[0], t[1]))
    out.definitions = [d for _s, _e, d in definitions]
    out.language = grammar.spec.name


def _comments(node: Node, end: int) -> list[tuple[int, int]]:
    """Byte spans of the comments inside `node` before `end` (its body): a signature is the
    code that declares, not the remarks beside it."""
    spans: list[tuple[int, int]] = []
    stack = [node]
    while stack:
        for child in stack.pop().children:
            if child.start_byte >= end:
                break
            if "comment" in child.type:
                spans.append((child.start_byte, min(child.end_byte, end)))
            elif child.children:
                stack.append(child)
    return sorted(spans)


def _container_of(node: Node, containers: tuple[str, ...]) -> Node | None:
    """The nearest enclosing class-like node, unless a function comes first (a closure)."""
    parent = node.parent
    while parent is not None:
        if parent.type in containers:
            return parent
        if "function" in parent.type or parent.type in ("method_definition", "arrow_function"):
            return None
        parent = parent.parent
    return None


def _container_name(node: Node, data: bytes) -> str:
    name = node.child_by_field_name("name") or node.child_by_field_name("type")
    if name is None:
        return ""
    return data[name.start_byte : name.end_byte].decode("utf-8", "replace")


def _go_receiver(node: Node, data: bytes) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    text = data[receiver.start_byte : receiver.end_byte].decode("utf-8", "replace")
    words = re.findall(r"[A-Za-z_]\w*", text)
    return words[-1] if words else ""


def _signature(node: Node, data: bytes) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    end = min(end, node.start_byte + 4 * MAX_SIGNATURE)
    kept, at = bytearray(), node.start_byte
    for start, stop in _comments(node, end):  # `def f(a,  # why` or `):  # note`
        kept += data[at:start]
        at = max(at, stop)
    kept += data[at:end]
    raw = bytes(kept).decode("utf-8", "replace")
    if body is None:
        raw = raw.split("\n", 1)[0]
    text = _SPACE.sub(" ", raw).strip().rstrip("{:").strip()
    text = _OPEN.sub("(", _CLOSE.sub(")", _BEFORE_COMMA.sub(",", text)))
    return text if len(text) <= MAX_SIGNATURE else text[: MAX_SIGNATURE - 3] + "..."
