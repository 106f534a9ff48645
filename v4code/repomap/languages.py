"""Which tree-sitter grammar reads which file, and the queries that find its symbols.

Grammars come from the official per-language PyPI packages, which ship compiled parsers (no
download at run time). Each is imported only when a file of its language is first parsed,
so importing this module costs nothing; a grammar that is missing or fails to load leaves
its files to plain-text indexing.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Query

__all__ = ["LANGUAGES", "Grammar", "grammar_for", "language_of"]


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    module: str
    """The PyPI package's import name."""
    entry: str
    """The function in that module returning the language pointer."""
    definitions: str
    """Query: `@def.<kind>` captures a definition's node, `@name` inside it its name."""
    references: str
    """Query: `@ref` captures every identifier that may name a definition."""
    containers: tuple[str, ...]
    """Node types whose function definitions are methods (classes, impl blocks)."""


_PY = LanguageSpec(
    "python",
    "tree_sitter_python",
    "language",
    """
    (class_definition name: (identifier) @name) @def.class
    (function_definition name: (identifier) @name) @def.function
    """,
    "(identifier) @ref",
    ("class_definition",),
)

_JS_DEFS = """
    (class_declaration name: (_) @name) @def.class
    (function_declaration name: (identifier) @name) @def.function
    (generator_function_declaration name: (identifier) @name) @def.function
    (method_definition name: (_) @name) @def.function
    (variable_declarator name: (identifier) @name
        value: [(arrow_function) (function_expression)]) @def.function
"""

_JS = LanguageSpec(
    "javascript",
    "tree_sitter_javascript",
    "language",
    _JS_DEFS,
    "[(identifier) (property_identifier)] @ref",
    ("class_declaration", "class"),
)

_TS_DEFS = (
    _JS_DEFS
    + """
    (abstract_class_declaration name: (_) @name) @def.class
    (interface_declaration name: (_) @name) @def.class
    (type_alias_declaration name: (_) @name) @def.class
    (enum_declaration name: (_) @name) @def.class
    (method_signature name: (_) @name) @def.function
    (function_signature name: (_) @name) @def.function
    """
)
_TS_REFS = "[(identifier) (property_identifier) (type_identifier)] @ref"
_TS_CONTAINERS = (
    "class_declaration",
    "abstract_class_declaration",
    "interface_declaration",
    "class",
)
_TS = LanguageSpec(
    "typescript",
    "tree_sitter_typescript",
    "language_typescript",
    _TS_DEFS,
    _TS_REFS,
    _TS_CONTAINERS,
)
_TSX = LanguageSpec(
    "tsx", "tree_sitter_typescript", "language_tsx", _TS_DEFS, _TS_REFS, _TS_CONTAINERS
)

_GO = LanguageSpec(
    "go",
    "tree_sitter_go",
    "language",
    """
    (function_declaration name: (identifier) @name) @def.function
    (method_declaration name: (field_identifier) @name) @def.method
    (type_spec name: (type_identifier) @name) @def.class
    """,
    "[(identifier) (field_identifier) (type_identifier)] @ref",
    (),
)

_RUST = LanguageSpec(
    "rust",
    "tree_sitter_rust",
    "language",
    """
    (function_item name: (identifier) @name) @def.function
    (function_signature_item name: (identifier) @name) @def.function
    (struct_item name: (type_identifier) @name) @def.class
    (enum_item name: (type_identifier) @name) @def.class
    (union_item name: (type_identifier) @name) @def.class
    (trait_item name: (type_identifier) @name) @def.class
    (type_item name: (type_identifier) @name) @def.class
    (mod_item name: (identifier) @name) @def.module
    (macro_definition name: (identifier) @name) @def.function
    """,
    "[(identifier) (field_identifier) (type_identifier)] @ref",
    ("impl_item", "trait_item"),
)

_JAVA = LanguageSpec(
    "java",
    "tree_sitter_java",
    "language",
    """
    (class_declaration name: (identifier) @name) @def.class
    (interface_declaration name: (identifier) @name) @def.class
    (enum_declaration name: (identifier) @name) @def.class
    (record_declaration name: (identifier) @name) @def.class
    (annotation_type_declaration name: (identifier) @name) @def.class
    (method_declaration name: (identifier) @name) @def.method
    (constructor_declaration name: (identifier) @name) @def.method
    """,
    "[(identifier) (type_identifier)] @ref",
    (),
)

LANGUAGES: dict[str, LanguageSpec] = {
    ".py": _PY,
    ".pyi": _PY,
    ".js": _JS,
    ".jsx": _JS,
    ".mjs": _JS,
    ".cjs": _JS,
    ".ts": _TS,
    ".mts": _TS,
    ".cts": _TS,
    ".tsx": _TSX,
    ".go": _GO,
    ".rs": _RUST,
    ".java": _JAVA,
}
"""File suffix to language; other files are indexed as plain text."""


def language_of(path: str) -> LanguageSpec | None:
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:].lower()) if dot > path.rfind("/") else None


@dataclass(frozen=True)
class Grammar:
    """A loaded grammar: a parser factory and its two compiled queries."""

    spec: LanguageSpec
    language: Language
    definitions: Query
    references: Query

    def parser(self) -> Parser:
        from tree_sitter import Parser

        return Parser(self.language)


@functools.cache
def grammar_for(spec: LanguageSpec) -> Grammar | None:
    """The loaded grammar, or None when its package is missing or incompatible."""
    try:
        from tree_sitter import Language, Query

        module = importlib.import_module(spec.module)
        language = Language(getattr(module, spec.entry)())
        return Grammar(
            spec, language, Query(language, spec.definitions), Query(language, spec.references)
        )
    except Exception:  # noqa: BLE001 - any failure means "index as text"
        return None
