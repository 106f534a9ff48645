"""An MCP server's tools as registry entries, so they go through the same pipeline as built-ins.

Each becomes `SERVER__tool`, risk "command", returning an `McpCall` proposal: the permission
policy, the approval, before-apply hooks, rendering and logging are those of every other tool.
Their schemas are part of the request prefix, so they are flattened once (no `$ref`, none of
the keywords DeepSeek's function calling rejects) and added in a fixed order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from v4code.errors import ToolError
from v4code.mcp.client import McpHub, RemoteTool
from v4code.mcp.config import ServerConfig
from v4code.textio import one_line
from v4code.toolkit import MAX_TOOLS, NAME_RE, Summarise, Tool, ToolContext, ToolRegistry
from v4code.types import Preview, ToolOutput, ToolSummary

MAX_DESCRIPTION = 1024
_DROPPED_KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "$defs",
        "definitions",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "contentMediaType",
        "contentEncoding",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "dependentRequired",
        "unevaluatedProperties",
        "patternProperties",
        "propertyNames",
        "title",
    }
)


MAX_SCHEMA_CHARS = 32_000
"""A tool's flattened schema goes with every request: past this it is simplified or left out
(a `$ref` fan-out, each definition referring twice to the next, doubles with every level)."""


class SchemaTooLarge(ValueError):
    """Inlining the schema's references would pass the size limit."""


def flatten_schema(
    schema: dict[str, Any], *, limit: int = MAX_SCHEMA_CHARS, inline: bool = True
) -> dict[str, Any]:
    """The schema with every local `$ref` inlined and unsupported keywords dropped.

    A reference that loops back on itself is cut to a bare object at its second visit. The
    output is counted as it is built, so a schema that would expand past `limit` characters
    raises SchemaTooLarge early, however far its references fan out. With `inline=False`
    every reference becomes a bare object (the simplified form of a schema too large).
    """
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        table = schema.get(key)
        if isinstance(table, dict):
            defs.update({f"#/{key}/{name}": value for name, value in table.items()})
    size = [0]

    def count(chars: int) -> None:
        size[0] += chars
        if size[0] > limit:
            raise SchemaTooLarge(f"its input schema expands past {limit:,} characters")

    def walk(node: object, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            count(len(str(node)) + 2)
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = defs.get(ref) if inline else None
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if target is None or ref in seen:
                inlined: dict[str, Any] = {"type": "object"}
            else:
                inlined = walk(target, (*seen, ref))
            return {**inlined, **walk(rest, seen)}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED_KEYWORDS:
                continue
            count(len(key) + 4)
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: walk(v, seen) for name, v in value.items()}
            else:
                out[key] = walk(value, seen)
        return out

    flat = walk(schema, ())
    if not isinstance(flat, dict) or flat.get("type") != "object":
        flat = {"type": "object", "properties": {}}
    flat.setdefault("properties", {})
    return flat


def bounded_schema(name: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the schema sent to the model, a notice): the flattened schema; when that passes the
    size limit, the schema with its references as bare objects (the server still checks the
    arguments it gets); when even that does not fit, None: the tool is left out."""
    try:
        return flatten_schema(schema), None
    except SchemaTooLarge as exc:
        why = str(exc)
    try:
        simple = flatten_schema(schema, inline=False)
    except SchemaTooLarge:
        return None, f"MCP tool {name} left out: {why}, even with its references simplified"
    return simple, (
        f"MCP tool {name}: {why}; its nested definitions are sent as plain objects "
        "(the server still checks the arguments)"
    )


def _validator(name: str, schema: dict[str, Any]) -> Any:
    """Check arguments against the server's own schema (jsonschema comes with the SDK)."""

    def validate(data: dict[str, Any]) -> dict[str, Any]:
        try:
            import jsonschema  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - the server validates then
            return data
        try:
            cls = jsonschema.validators.validator_for(schema)
            errors = sorted(cls(schema).iter_errors(data), key=lambda e: list(e.path))
        except jsonschema.exceptions.SchemaError:
            return data  # the server's schema is broken; let the server judge
        if errors:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e.path) or 'arguments'}: {e.message}"
                for e in errors[:5]
            )
            raise ToolError(f"Invalid arguments for {name}: {problems}")
        return data

    return validate


@dataclass(frozen=True)
class McpCall:
    """One call of an MCP tool, held until the pipeline allows it."""

    hub: McpHub
    server: ServerConfig
    tool: str
    arguments: dict[str, Any]

    def preview(self) -> Preview:
        return Preview()  # shown by tool name and arguments

    def apply(self, ctx: ToolContext) -> ToolOutput:
        result = self.hub.call(
            self.server.name,
            self.tool,
            self.arguments,
            timeout=self.server.timeout,
            cancel=ctx.cancel,
        )
        data = {"server": self.server.name, "tool": self.tool, "error": result.is_error}
        return ToolOutput(result.text, data=data, is_error=result.is_error)


def _summary(server: str, tool: str) -> Summarise:
    def summarise(args: dict[str, Any], data: object) -> ToolSummary:
        shown = json.dumps(args, ensure_ascii=False, sort_keys=True)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        label = f"{server}: {tool} {shown}" if args else f"{server}: {tool}"
        if isinstance(data, dict) and data.get("error"):
            label += " (error)"
        return ToolSummary(label)

    return summarise


def make_tool(
    hub: McpHub, server: ServerConfig, remote: RemoteTool, schema: dict[str, Any]
) -> Tool:
    """The registry entry for `remote`; `schema` is its bounded schema (see bounded_schema)."""
    name = remote.full_name
    description = (
        remote.description.strip() or f"The {remote.name} tool of MCP server {server.name}."
    )
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 3] + "..."

    def propose(ctx: ToolContext, **arguments: object) -> McpCall:
        return McpCall(hub, server, remote.name, arguments)

    return Tool.from_schema(
        name,
        f"[MCP {server.name}] {description}",
        schema,
        propose,
        validate=_validator(name, remote.input_schema),
        summary=_summary(server.name, remote.name),
    )


def register_tools(
    registry: ToolRegistry, hub: McpHub, waited: float | None = None
) -> tuple[list[str], list[str]]:
    """Add the ready servers' tools, sorted by server then tool, up to MAX_TOOLS in all.

    `waited`: how long the caller waited for servers still starting, named in their notice
    with the setting that waits longer (a slow `npx` fetch looks like a broken server otherwise).
    Returns the names of the tools the config allows without asking, and notices.
    """
    notices: list[str] = []
    allowed: list[str] = []
    left_out: list[str] = []
    for state in sorted(hub.servers.values(), key=lambda s: s.name):
        if state.status != "ready":
            notices.append(_not_ready(state.name, state.status, state.error, waited))
            continue
        for remote in sorted(state.tools, key=lambda t: t.name):
            name = remote.full_name
            if not NAME_RE.match(name) or registry.get(name) is not None:
                notices.append(f"MCP tool {name!r} left out: not a valid or unique tool name")
                continue
            if len(registry) >= MAX_TOOLS:
                left_out.append(name)
                continue
            schema, notice = bounded_schema(name, remote.input_schema)
            if notice:
                notices.append(one_line(notice))
            if schema is None:
                continue
            registry.add(make_tool(hub, state.config, remote, schema))
            if state.config.allows(name):
                allowed.append(name)
    if left_out:
        notices.append(
            f"DeepSeek takes at most {MAX_TOOLS} tools: left out {len(left_out)} MCP tools "
            f"({', '.join(left_out[:10])}{', ...' if len(left_out) > 10 else ''})"
        )
    return allowed, notices


def _not_ready(name: str, status: str, error: str | None, waited: float | None) -> str:
    """The notice for a server whose tools this session goes without."""
    missing = "its tools are not in this session (they come at the next one, or with /mcp reload"
    if status == "starting" and waited is not None:
        return (
            f"MCP server {name} is still starting after {waited:g} s: {missing}; "
            "mcp_startup_wait sets how long the first request waits)"
        )
    why = f" ({error})" if error else ""
    return f"MCP server {name} is {status}{why}: {missing})"
