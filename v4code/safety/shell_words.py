"""A shell command line as the words its programs receive, parsed with tree-sitter-bash.

Shared by the destructive-command guard (command_guard.py) and the "always allow" prefixes
(prefixes.py), so both read quoting, wrappers and assignments the same way: a command the
guard sees as `rm -rf` is never remembered by the prefixes as something else.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = [
    "WRAPPERS",
    "command_words",
    "node_text",
    "parser",
    "program_name",
    "unwrap",
    "walk",
    "word_value",
]

# Wrappers that run the command after them; the values are options that take an argument.
WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "setsid": frozenset(),
    "chronic": frozenset(),
    "unbuffer": frozenset(),
    "xargs": frozenset(
        {"-I", "-i", "-n", "-P", "-d", "-L", "-l", "-s", "-a", "-E", "-e", "--delimiter"}
    ),
}


@functools.lru_cache(maxsize=1)
def parser() -> Parser:
    """One tree-sitter-bash parser, built on first use (tree-sitter is a heavy import)."""
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def program_name(word: str) -> str:
    """`/usr/bin/rm` and `rm` are the same program to every rule."""
    return word.rsplit("/", 1)[-1]


def node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")  # None only for a tree with no source


def word_value(node: Node) -> str:
    """An argument as the program receives it (quotes removed; expansions left as written)."""
    kind = node.type
    if kind == "raw_string":
        return node_text(node)[1:-1]
    if kind == "ansi_c_string":
        return node_text(node)[2:-1]
    if kind == "string":
        inner = [c for c in node.children if c.type != '"']
        if all(c.type == "string_content" for c in inner):
            return "".join(node_text(c) for c in inner)
        return node_text(node)[1:-1]
    if kind == "concatenation":
        return "".join(word_value(c) for c in node.children)
    if kind == "word":
        text = node_text(node)
        out, i = [], 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        return "".join(out)
    return node_text(node)


def command_words(node: Node) -> list[str]:
    """A simple command's words as the program receives them: its name, then its arguments
    (the variables it assigns and its redirections left out)."""
    words = []
    for child in node.children:
        if child.type in ("variable_assignment", "file_redirect", "herestring_redirect"):
            continue
        if child.type == "command_name":
            words.append(word_value(child.children[0]) if child.children else node_text(child))
        elif child.is_named and child.type != "comment":
            words.append(word_value(child))
    return words


def walk(node: Node) -> Iterator[Node]:
    """Every node under `node` (itself first), depth first."""
    yield node
    for child in node.children:
        yield from walk(child)


def unwrap(words: list[str]) -> list[str]:
    """The command a chain of wrappers (`sudo env A=1 nice -n 5 rm ...`) finally runs.

    After `xargs`, a `--xargs` marker stands first: the operands come from input as well.
    """
    through_xargs = False
    for _ in range(16):
        if not words:
            return words
        name = program_name(words[0])
        if name == "timeout":
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                rest = rest[2:] if rest[0] in ("-s", "-k", "--signal", "--kill-after") else rest[1:]
            words = rest[1:]  # the duration
            continue
        takes = WRAPPERS.get(name)
        if takes is None:
            return [words[0], "--xargs", *words[1:]] if through_xargs else words
        through_xargs = through_xargs or name == "xargs"
        rest = words[1:]
        while rest:
            head = rest[0]
            if head == "--":
                rest = rest[1:]
                break
            if name == "env" and "=" in head and not head.startswith("-"):
                rest = rest[1:]
            elif head.startswith("-") and len(head) > 1:
                rest = rest[2:] if head in takes else rest[1:]
            else:
                break
        if name == "env" and rest and rest[0].startswith("-"):
            rest = rest[1:]
        words = rest
    return words
