"""A tool's arguments without pydantic, for the plain signatures most tools have.

Importing pydantic and building a model per tool is a large share of a session's start-up,
and nearly every tool takes only strings, integers, booleans, lists of strings, a choice of
strings, or one of those or None. For such a signature this module writes the JSON schema
pydantic would write (byte for byte: `tests/golden/tool_schemas.json` pins it) and checks
arguments that match it exactly, returning what pydantic would return. Anything else (a
value of another type, a missing or unknown argument) goes to pydantic, built on first need,
so the model sees the same error messages as before; a signature with any other type is
pydantic's from the start (`plain_arguments` returns None).

This module imports nothing from v4code.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

__all__ = ["PlainArguments", "plain_arguments"]

Accepts = Callable[[Any], bool]

_SCALARS: dict[Any, str] = {str: "string", int: "integer", bool: "boolean"}
_DEFAULTS = (str, int, bool, type(None))
_INT_LIMIT = 2**63  # pydantic takes larger ones too; those are left to it


def _is_str(value: Any) -> bool:
    """A str pydantic takes as it is: lone surrogates (which JSON can carry) it refuses."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: Any) -> bool:
    return type(value) is int and -_INT_LIMIT < value < _INT_LIMIT


def _is_bool(value: Any) -> bool:
    return type(value) is bool


_CHECKS: dict[Any, Accepts] = {str: _is_str, int: _is_int, bool: _is_bool}


def _base(annotation: Any) -> tuple[dict[str, Any], Accepts] | None:
    """The schema and the exact check of a type that is not optional, if it is a plain one."""
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}, _CHECKS[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args == (str,):
        return {
            "items": {"type": "string"},
            "type": "array",
        }, lambda v: type(v) is list and all(_is_str(x) for x in v)
    if origin is Literal and len(args) >= 2 and all(type(a) is str for a in args):
        choices = frozenset(args)
        return {"enum": list(args), "type": "string"}, lambda v: type(v) is str and v in choices
    return None


def _field(annotation: Any) -> tuple[dict[str, Any], Accepts] | None:
    """A plain type, or a plain type or None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        others = [a for a in args if a is not type(None)]
        if len(args) != 2 or len(others) != 1:
            return None
        base = _base(others[0])
        if base is None:
            return None
        schema, accepts = base
        return {"anyOf": [schema, {"type": "null"}]}, lambda v: v is None or accepts(v)
    return _base(annotation)


_REQUIRED = object()


class PlainArguments:
    """The schema of a plain signature, and the check of arguments that match it exactly."""

    def __init__(self, schema: dict[str, Any], fields: list[tuple[str, Accepts, Any]]) -> None:
        self.schema = schema
        self._fields = fields
        self._names = frozenset(name for name, _, _ in fields)

    def check(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """The arguments as pydantic would give them (every parameter, in order), or None
        when they are not an exact match (pydantic then has the last word)."""
        if not self._names.issuperset(data):
            return None
        out: dict[str, Any] = {}
        for name, accepts, default in self._fields:
            if name in data:
                value = data[name]
                if not accepts(value):
                    return None
                out[name] = list(value) if type(value) is list else value
            elif default is _REQUIRED:
                return None
            else:
                out[name] = default
        return out


def plain_arguments(
    params: Sequence[inspect.Parameter], hints: Mapping[str, Any], docs: Mapping[str, str]
) -> PlainArguments | None:
    """PlainArguments for these parameters (the context left out), or None if any of them is
    not plain: another type, a default that is not a string, number, boolean or None, an
    empty description."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    fields: list[tuple[str, Accepts, Any]] = []
    for p in params:
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.name not in hints:
            return None
        found = _field(hints[p.name])
        doc = docs.get(p.name)
        if found is None or doc == "":
            return None
        schema, accepts = found
        prop = dict(schema)
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
            default: Any = _REQUIRED
        elif type(p.default) in _DEFAULTS:
            prop["default"] = default = p.default
        else:
            return None
        if doc is not None:
            prop["description"] = doc
        properties[p.name] = dict(sorted(prop.items()))
        fields.append((p.name, accepts, default))
    schema = {"additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    schema["type"] = "object"
    return PlainArguments(schema, fields)
