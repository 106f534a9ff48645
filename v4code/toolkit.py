"""Tools: declared once (signature + docstring = schema), loaded by path, run with a context.

A tool module in `tools/` (or a project's `.v4code/tools/`) defines one function decorated
with `@tool`. The registry imports such modules under a private dotted name so that no
top-level `tools` module ever appears in `sys.modules` (a user's own `tools` package must keep
working under `python -m v4code`).

Everything a tool is lives in its module: the schema (signature and docstring), its risk, how
one call of it is summarised on screen (`@tool(summary=fn)`, see `Summarise`), and, for a tool
whose effect needs approval, the `Proposal` it returns instead of acting. The registry turns
the model's raw call into an `Invocation` (`ToolRegistry.prepare`); `v4code.pipeline` carries
it through the policy, the approval and the apply step.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from v4code.errors import ToolError
from v4code.textio import one_line
from v4code.tool_args import PlainArguments, plain_arguments
from v4code.tool_context import DEFAULT_OUTPUT_CAP, Checkpoints, ToolContext
from v4code.types import Preview, ToolCall, ToolOutput, ToolResult, ToolSummary

if TYPE_CHECKING:
    from pydantic import BaseModel

    from v4code.tool_cards import ToolCards

Risk = Literal["read", "edit", "command"]
Summarise = Callable[[dict[str, Any], object], ToolSummary]
"""A tool's own one-line description of a call: (parsed arguments, the result's `data` or
None while it has not run) -> ToolSummary."""

__all__ = [
    "Checkpoints",
    "Invocation",
    "Proposal",
    "Risk",
    "Summarise",
    "Tool",
    "ToolContext",
    "ToolOutput",
    "ToolRegistry",
    "build_tool",
    "cap_output",
    "generic_summary",
    "tool",
]

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_TOOLS = 128


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    risk: Risk
    fn: Callable[..., Any]
    params: type[BaseModel] | None  # None: `validate` checks the arguments (a JSON schema)
    schema: dict[str, Any]
    summary: Summarise | None = None
    proposes: bool = False  # its return annotation is a Proposal: it computes, never acts
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    external: bool = False  # declared by a schema (an MCP server's), not by a Python module
    parallel: bool = False  # calls of it in a row run at once (child agents: `task`)

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: dict[str, Any],
        fn: Callable[..., Any],
        *,
        risk: Risk = "command",
        validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        summary: Summarise | None = None,
        proposes: bool = True,
    ) -> Tool:
        """A tool that is not a Python module (an MCP server's): a name, a JSON schema for its
        arguments, a validator raising ToolError, and `fn(ctx, **args)` (a Proposal by default)."""
        return cls(
            name=name,
            description=description,
            risk=risk,
            fn=fn,
            params=None,
            schema=_function_schema(name, description, parameters),
            summary=summary,
            proposes=proposes,
            validate=validate,
            external=True,
        )

    def summarise(self, args: dict[str, Any] | None, data: object = None) -> ToolSummary:
        """The tool's own one-line description of a call, or a generic one; either way one
        line (the paths in it come from the repository, through the model: textio.one_line)."""
        if args is None:
            return generic_summary(self.name, {})
        if self.summary is not None:
            try:
                summary = self.summary(args, data)
                return replace(summary, label=one_line(summary.label))
            except Exception:  # a summary must never break a turn; fall back
                pass
        return generic_summary(self.name, args)

    def parse_arguments(self, raw: str) -> dict[str, Any]:
        """Validate the model's JSON arguments; raise ToolError with a message it can act on."""
        text = raw.strip() or "{}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"The arguments of {self.name} are not valid JSON ({exc.msg} at position "
                f"{exc.pos}). Send one JSON object matching the schema."
            ) from None
        if not isinstance(data, dict):
            raise ToolError(f"The arguments of {self.name} must be a JSON object.")
        if self.params is None:
            return self.validate(data) if self.validate is not None else data
        return _validated(self.params, self.name, data)

    def run(self, ctx: ToolContext, args: dict[str, Any]) -> object:
        return self.fn(ctx, **args)


def _docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and its `Args:` entries."""
    doc = inspect.cleandoc(doc or "")
    lines = doc.splitlines()
    desc_lines: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            if stripped and not line.startswith((" ", "\t")) and stripped.endswith(":"):
                in_args = False
                continue
            match = re.match(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
            if match and (
                current is None or line.startswith(" " * 4) and not line.startswith(" " * 8)
            ):
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current and stripped:
                params[current] = f"{params[current]} {stripped}".strip()
            continue
        desc_lines.append(line)
    return "\n".join(desc_lines).strip(), params


def generic_summary(name: str, args: dict[str, Any]) -> ToolSummary:
    """The line for a tool that declares none: its name and the path it names, if any."""
    path = args.get("path")
    if isinstance(path, str):
        return ToolSummary(one_line(f"{name} {path}"), paths=(path,))
    return ToolSummary(one_line(name))


def tool(
    risk: Risk = "read", *, summary: Summarise | None = None, parallel: bool = False
) -> Callable[[Callable[..., Any]], Tool]:
    """Declare a tool: the first parameter is the ToolContext, the rest are the schema.

    `summary(args, data)` describes one call in a line for the chat and `v4code run` (data is
    the result's `data`, None before it has run); without it a generic line is shown.
    `parallel`: several calls of it in one step run at the same time, each in a thread of
    its own (its work waits on others, as a child agent does), results kept in call order.
    """

    def wrap(fn: Callable[..., Any]) -> Tool:
        return replace(build_tool(fn, risk, summary=summary), parallel=parallel)

    return wrap


def build_tool(fn: Callable[..., Any], risk: Risk, *, summary: Summarise | None = None) -> Tool:
    """The Tool of a function. A plain signature (strings, integers, booleans, lists of
    strings, choices, or None: `tool_args`) needs no pydantic until arguments fail the exact
    check; any other gets its pydantic model now."""
    name = fn.__name__
    description, arg_docs = _docstring_parts(fn.__doc__ or "")
    hints = _hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]  # drop ctx
    plain = plain_arguments(params, hints, arg_docs)
    args_model: type[BaseModel] | None = None
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    if plain is not None:
        parameters = plain.schema
        validate = _plain_validator(name, plain, lambda: _args_model(name, params, hints, arg_docs))
    else:
        args_model = _args_model(name, params, hints, arg_docs)
        parameters = _clean_schema(args_model.model_json_schema())
    return Tool(
        name=name,
        description=description,
        risk=risk,
        fn=fn,
        params=args_model,
        schema=_function_schema(name, description, parameters),
        summary=summary,
        proposes=_returns_proposal(hints.get("return")),
        validate=validate,
    )


def _plain_validator(
    name: str, plain: PlainArguments, model: Callable[[], type[BaseModel]]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Arguments that match a plain signature exactly pass as they are; any others go to
    pydantic (its model built on first need), which gives the answer it always gave."""
    built = functools.cache(model)

    def validate(data: dict[str, Any]) -> dict[str, Any]:
        exact = plain.check(data)
        if exact is not None:
            return exact
        return _validated(built(), name, data)

    return validate


def _args_model(
    name: str, params: list[inspect.Parameter], hints: dict[str, Any], docs: dict[str, str]
) -> type[BaseModel]:
    """The pydantic model of a tool's parameters (`extra="forbid"`: unknown names fail)."""
    from pydantic import ConfigDict, Field, create_model

    fields: dict[str, Any] = {}
    for p in params:
        annotation = hints.get(p.name, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (annotation, Field(default, description=docs.get(p.name)))
    model: type[BaseModel] = create_model(
        f"{name}_args", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _validated(model: type[BaseModel], name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The arguments as `model` validates them (every field, in order), or ToolError with a
    message the model can act on."""
    from pydantic import ValidationError

    try:
        valid = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ToolError(f"Invalid arguments for {name}: {problems}") from None
    return {field: getattr(valid, field) for field in type(valid).model_fields}


def _function_schema(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The tool as the API lists it; the API refuses other names, so they fail here first."""
    if not NAME_RE.match(name):
        raise ValueError(f"tool name {name!r} must match [a-zA-Z0-9_-]{{1,64}}")
    function = {"name": name, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


@runtime_checkable
class Proposal(Protocol):
    """An effect a tool computed but has not carried out: an edit batch, a command, ...

    A tool whose effect may need approval returns one instead of acting. The agent shows
    `preview()` to the Approver when the permission policy says to ask, runs the before-apply
    hooks, then calls `apply()`, which does the work and returns what the model is told. The
    agent never looks further into it, so every kind of effect takes the same path. (Declared
    beside the ToolContext its `apply` takes; `v4code.protocols` names it with the other seams.)
    """

    def preview(self) -> Preview: ...

    def apply(self, ctx: ToolContext) -> ToolOutput: ...


def _returns_proposal(annotation: object) -> bool:
    try:
        return isinstance(annotation, type) and issubclass(annotation, Proposal)
    except TypeError:
        return False


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn)
    except Exception:  # annotations a tool module cannot resolve; fall back to Any
        return {}


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's `title` noise; keep properties in signature order."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    cleaned = {k: strip(v) for k, v in schema.items() if k != "title"}
    cleaned.setdefault("properties", {})
    cleaned["additionalProperties"] = False
    return cleaned


class ToolRegistry:
    """The tools of one session, in a fixed order so the request prefix stays byte-stable."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._deferred: dict[str, tuple[Path, dict[str, Any]]] = {}
        """Tools known by their card (module, schema), imported when first needed."""
        for t in tools:
            self.add(t)

    def _claim(self, name: str) -> None:
        if name in self._tools or name in self._deferred:
            raise ValueError(f"two tools are named {name!r}")
        if len(self) >= MAX_TOOLS:
            raise ValueError(f"more than {MAX_TOOLS} tools; DeepSeek accepts at most {MAX_TOOLS}")

    def add(self, t: Tool) -> None:
        self._claim(t.name)
        self._tools[t.name] = t

    @classmethod
    def load(
        cls,
        directories: Iterable[Path],
        *,
        only: Iterable[str] | None = None,
        cards: ToolCards | None = None,
    ) -> ToolRegistry:
        """The tools of the modules in `directories`; with `cards`, a module whose card
        holds is imported only when one of its tools is first needed (not for its schema)."""
        registry = cls()
        wanted = set(only) if only is not None else None
        for directory in directories:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.py")):
                if path.name.startswith("_") or (wanted is not None and path.stem not in wanted):
                    continue  # a tool module is named after its tool: skip what is not wanted
                registry._load_module(path, wanted, cards)
        if cards is not None:
            cards.save()
        return registry

    def _load_module(self, path: Path, wanted: set[str] | None, cards: ToolCards | None) -> None:
        from v4code.tool_cards import digest

        key = digest(path.read_bytes()) if cards is not None else ""
        declared = cards.get(path, key) if cards is not None else None
        if declared is not None:
            for name, schema in declared:
                if wanted is None or name in wanted:
                    self._claim(name)
                    self._deferred[name] = (path, schema)
            return
        tools = load_tool_module(path)
        if cards is not None:
            cards.put(path, key, [(t.name, t.schema) for t in tools])
        for t in tools:
            if wanted is None or t.name in wanted:
                self.add(t)

    def _resolve(self, name: str) -> Tool | None:
        """The tool named so, its module imported now if it was known by its card."""
        found = self._deferred.get(name)
        if found is not None and name not in self._tools:
            for t in load_tool_module(found[0]):
                if self._deferred.get(t.name, (None,))[0] == found[0]:
                    self._tools[t.name] = t
                    del self._deferred[t.name]
            self._deferred.pop(name, None)  # the module no longer declares it
        return self._tools.get(name)

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)
        self._deferred.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._resolve(name)

    def names(self) -> list[str]:
        return sorted(self._tools.keys() | self._deferred.keys())

    def __iter__(self) -> Iterator[Tool]:
        return iter([t for n in self.names() if (t := self._resolve(n)) is not None])

    def __len__(self) -> int:
        return len(self._tools) + len(self._deferred)

    def schemas(self) -> list[dict[str, Any]]:
        return [
            self._tools[n].schema if n in self._tools else self._deferred[n][1]
            for n in self.names()
        ]

    def lookup(self, call: ToolCall) -> Tool:
        t = self._resolve(call.name)
        if t is None:
            raise ToolError(
                f"There is no tool named {call.name!r}. Available tools: {', '.join(self.names())}."
            )
        return t

    def prepare(self, call: ToolCall) -> Invocation | ToolResult:
        """The model's raw call made ready to run, or the error result that tells it why not.

        Looks the tool up, parses and validates the arguments against its schema, and repairs
        arguments cut off at the end where the repair is unambiguous.
        """
        try:
            t = self.lookup(call)
        except ToolError as exc:
            return ToolResult(call.id, str(exc), is_error=True)
        try:
            return Invocation(t, call, t.parse_arguments(call.arguments))
        except ToolError as exc:
            repaired = _repair(call.arguments)
            if repaired is not None:
                try:
                    return Invocation(t, call, t.parse_arguments(repaired))
                except ToolError:
                    pass
            return ToolResult(call.id, str(exc), is_error=True)

    def describe(self, call: ToolCall) -> ToolSummary:
        """A call from the history in one line (a resumed chat shows its earlier turns)."""
        try:
            args = json.loads(call.arguments)
        except (json.JSONDecodeError, TypeError):
            args = None
        t = self._resolve(call.name)
        if not isinstance(args, dict):
            return generic_summary(call.name, {})
        return t.summarise(args) if t is not None else generic_summary(call.name, args)


@dataclass(frozen=True)
class Invocation:
    """A call ready to run: its tool, the model's call and the validated arguments."""

    tool: Tool
    call: ToolCall
    args: dict[str, Any]

    def summarise(self, data: object = None) -> ToolSummary:
        return self.tool.summarise(self.args, data)

    def run(self, ctx: ToolContext) -> object:
        """Run the tool: a ToolOutput (or text) for a plain tool, a Proposal for one that asks."""
        return self.tool.run(ctx, self.args)


def _repair(arguments: str) -> str | None:
    from v4code.backends.repair import repair_json_arguments

    return repair_json_arguments(arguments)


def load_tool_module(path: Path) -> list[Tool]:
    """Import one tool file under a private name and return the Tools it defines."""
    module_name = f"v4code._tools.{path.stem}_{abs(hash(str(path.resolve()))) & 0xFFFFFF:06x}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load tool module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[module_name]
            raise
    return [v for v in vars(module).values() if isinstance(v, Tool)]


def cap_output(text: str, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """Keep the head and the tail of long output; the middle is where noise usually is."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n\n[... {omitted} characters omitted ...]\n\n{text[-tail:]}"
