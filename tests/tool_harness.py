"""Run one built-in tool in a workspace the way the pipeline does, for tool-level tests.

A tool returns either an answer or a proposal (an edit batch, a command) that the pipeline
applies after approval; tests that call a tool directly want what the model would see.
"""

from __future__ import annotations

import json
from typing import Any

from v4code.assets import tools_dir
from v4code.protocols import Proposal
from v4code.toolkit import ToolContext, ToolOutput, ToolRegistry

_REGISTRY: ToolRegistry | None = None


def builtin_registry() -> ToolRegistry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = ToolRegistry.load([tools_dir()])
    return _REGISTRY


def propose(name: str, ctx: ToolContext, **args: Any) -> Any:
    """The tool's own return value: a ToolOutput, a str, or a Proposal not yet applied."""
    tool = builtin_registry().get(name)
    assert tool is not None, f"no built-in tool {name!r}"
    return tool.run(ctx, tool.parse_arguments(json.dumps(args)))


def run_tool(name: str, ctx: ToolContext, **args: Any) -> ToolOutput:
    """What the model would get back once the call is allowed (proposals applied)."""
    out = propose(name, ctx, **args)
    if isinstance(out, Proposal):
        out = out.apply(ctx)
    if isinstance(out, str):
        out = ToolOutput(out)
    assert isinstance(out, ToolOutput), type(out)
    return out
