"""Plain tool signatures are checked without pydantic: the schema and every answer (the
arguments, or the error the model reads) must be exactly pydantic's."""

from __future__ import annotations

import inspect
import json
from typing import Any, Literal

import pytest

from v4code.assets import tools_dir
from v4code.errors import ToolError
from v4code.tool_args import plain_arguments
from v4code.toolkit import (
    Tool,
    ToolContext,
    ToolRegistry,
    _args_model,
    _clean_schema,
    _docstring_parts,
    _hints,
    _validated,
    build_tool,
)


def every_kind(
    ctx: ToolContext,
    text: str,
    count: int,
    flag: bool,
    words: list[str],
    choice: Literal["one", "two"],
    maybe_text: str | None = None,
    maybe_count: int | None = 3,
    maybe_choice: Literal["a", "b", "c"] | None = None,
    label: str = "x",
    many: int = 7,
    on: bool = True,
) -> str:
    """Every plain kind of parameter.

    Args:
        text: Some text.
        count: A number.
        flag: A switch.
        words: Some words.
        choice: One of two.
        maybe_text: Text or nothing.
        maybe_count: A number or nothing.
        label: A label.
    """
    return ""


def pydantic_answer(t: Tool, data: Any) -> Any:
    """What the tool's arguments were before: pydantic's model of the signature."""
    fn = t.fn
    _, docs = _docstring_parts(fn.__doc__ or "")
    params = list(inspect.signature(fn).parameters.values())[1:]
    model = _args_model(t.name, params, _hints(fn), docs)
    try:
        return _validated(model, t.name, data)
    except ToolError as exc:
        return f"error: {exc}"


def answer(t: Tool, data: Any) -> Any:
    try:
        return t.parse_arguments(json.dumps(data))
    except ToolError as exc:
        return f"error: {exc}"


def plain_tools() -> list[Tool]:
    tools = [t for t in ToolRegistry.load([tools_dir()]) if t.params is None]
    return [*tools, build_tool(every_kind, "read")]


VALUES: list[Any] = [
    "text",
    "",
    "é ü 漢",
    "\ud800 lone",
    0,
    -5,
    2**70,
    3.0,
    2.5,
    True,
    False,
    None,
    [],
    ["a", "b"],
    ["a", 1],
    ["\udc00"],
    {"k": "v"},
    "5",
    "one",
    "two",
    "b",
]


def test_most_bundled_tools_have_plain_signatures() -> None:
    names = {t.name for t in plain_tools()}
    assert {"read_file", "edit_file", "run_command", "grep", "find_symbol"} <= names


def test_the_schema_is_pydantics_byte_for_byte() -> None:
    for t in plain_tools():
        fn = t.fn
        _, docs = _docstring_parts(fn.__doc__ or "")
        params = list(inspect.signature(fn).parameters.values())[1:]
        model = _args_model(t.name, params, _hints(fn), docs)
        expected = _clean_schema(model.model_json_schema())
        assert json.dumps(t.schema["function"]["parameters"]) == json.dumps(expected), t.name


@pytest.mark.parametrize("t", plain_tools(), ids=lambda t: t.name)
def test_every_answer_is_pydantics(t: Tool) -> None:
    props = t.schema["function"]["parameters"]["properties"]
    required = t.schema["function"]["parameters"].get("required", [])
    good = {name: json.loads(json.dumps(pydantic_good(spec))) for name, spec in props.items()}
    cases: list[Any] = [good, {k: v for k, v in good.items() if k in required}, {}]
    cases.append({**good, "unknown": 1})
    for name in props:
        cases.append({k: v for k, v in good.items() if k != name})
        cases += [{**good, name: value} for value in VALUES]
    for data in cases:
        assert answer(t, data) == pydantic_answer(t, data), (t.name, data)


def pydantic_good(spec: dict[str, Any]) -> Any:
    """A value that fits the property's schema."""
    kind = spec.get("anyOf", [spec])[0]
    if "enum" in kind:
        return kind["enum"][-1]
    return {"string": "s", "integer": 4, "boolean": True, "array": ["w"]}[kind["type"]]


def test_other_signatures_are_left_to_pydantic() -> None:
    def floats(ctx: ToolContext, x: float) -> str:
        """Floats.

        Args:
            x: A float.
        """
        return ""

    params = list(inspect.signature(floats).parameters.values())[1:]
    assert plain_arguments(params, _hints(floats), {"x": "A float."}) is None
    t = build_tool(floats, "read")
    assert t.params is not None
    assert t.parse_arguments('{"x": 1}') == {"x": 1.0}
