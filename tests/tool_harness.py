"""Run one built-in tool in a workspace the way the pipeline does, for tool-level tests.

A tool returns either an answer or a proposal (an edit batch, a command) that the pipeline
applies after approval; tests that call a tool directly want what the model would see.
Wherever a context is asked for, a plain `Path` stands for `ToolContext(root=path)`.
"""

from __future__ import annotations

import json
from pathlib import Path

from v4code.assets import tools_dir
from v4code.edits.changeset import ChangeSet
from v4code.edits.checkpoints import CheckpointStore
from v4code.errors import ToolError
from v4code.protocols import Proposal
from v4code.toolkit import ToolContext, ToolOutput, ToolRegistry

_REGISTRY: ToolRegistry | None = None


def builtin_registry() -> ToolRegistry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = ToolRegistry.load([tools_dir()])
    return _REGISTRY


def context(ctx: ToolContext | Path) -> ToolContext:
    return ctx if isinstance(ctx, ToolContext) else ToolContext(root=ctx)


def propose(name: str, ctx: ToolContext | Path, /, **args: object) -> ToolOutput | str | Proposal:
    """The tool's own return value: a ToolOutput, a str, or a Proposal not yet applied."""
    tool = builtin_registry().get(name)
    assert tool is not None, f"no built-in tool {name!r}"
    out = tool.run(context(ctx), tool.parse_arguments(json.dumps(args)))
    assert isinstance(out, (ToolOutput, str, Proposal)), type(out)
    return out


def run_tool(name: str, ctx: ToolContext | Path, /, **args: object) -> ToolOutput:
    """What the model would get back once the call is allowed (proposals applied)."""
    ctx = context(ctx)
    out = propose(name, ctx, **args)
    if isinstance(out, Proposal):
        out = out.apply(ctx)
    if isinstance(out, str):
        out = ToolOutput(out)
    assert isinstance(out, ToolOutput), type(out)
    return out


def tool_text(name: str, ctx: ToolContext | Path, /, **args: object) -> str:
    """The text the model reads, a refused call included (as `ERROR: <message>`)."""
    try:
        return run_tool(name, ctx, **args).text
    except ToolError as exc:
        return f"ERROR: {exc}"


def run_command(
    ctx: ToolContext | Path, *, sandboxed: bool | None = None, **args: object
) -> ToolOutput:
    """run_command as approved: it first proposes (nothing runs yet), then the pipeline applies.

    `sandboxed`, when given, is what the proposal's preview must say about the sandbox (and,
    for a bare root, whether the context asks for the sandbox).
    """
    if isinstance(ctx, Path) and sandboxed is not None:
        ctx = ToolContext(root=ctx, sandbox=sandboxed)
    ctx = context(ctx)
    proposal = propose("run_command", ctx, **args)
    assert isinstance(proposal, Proposal)  # nothing has run yet: the pipeline applies it
    if sandboxed is not None:
        assert proposal.preview().sandboxed is sandboxed
    out = proposal.apply(ctx)
    assert isinstance(out, ToolOutput)
    return out


def propose_changes(name: str, ctx: ToolContext | Path, **args: object) -> ChangeSet:
    """An edit tool's proposal, not applied: the change set the person would be shown."""
    changes = propose(name, ctx, **args)
    assert isinstance(changes, ChangeSet)
    assert changes.tool == name
    return changes


def apply_changes(
    root: Path, store: CheckpointStore, name: str, session: str = "s1", **args: object
) -> str:
    """Run an edit tool and apply its change set, checkpointed in `store`: the batch's id."""
    ctx = ToolContext(root=root, checkpoints=store, session_id=session)
    batch = run_tool(name, ctx, **args).data["batch"]
    assert isinstance(batch, str)
    return batch
