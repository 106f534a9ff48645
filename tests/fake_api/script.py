"""Script steps for the fake DeepSeek server: the step schema and builders.

A step is a plain dict (so scripts can also live in JSON files for the standalone server). Each step
answers exactly one POST to ``/chat/completions``, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "STEP_KEYS",
    "cut",
    "dsml_leak",
    "fault",
    "garbage",
    "raw_args",
    "step",
    "text",
    "tool_call",
    "tool_calls",
    "v31_leak",
    "validate_step",
    "validate_steps",
]

STEP_KEYS = frozenset(
    {
        # the answer
        "reasoning",
        "content",
        "tool_calls",
        "finish_reason",
        "usage",
        # faults and wire shape
        "status",
        "message",
        "retry_after",
        "cut_after",
        "keepalive",
        "usage_shape",
        "chunk_size",
        "delay",
        "reasoning_field",
        "content_chunks",
        "reasoning_chunks",
        "hang",
        "garbage_after",
        "garbage",
        "drop_connection",
        # engine behaviours (``engine probe`` tests): reasoning only when the request's dialect
        # switch turns thinking on; no usage even when stream_options.include_usage asks
        "thinking_only",
        "no_usage",
        # checks on the request this step answers
        "expect",
    }
)

USAGE_SHAPES = ("last_chunk", "separate")
GARBAGE_KINDS = ("bytes", "json")
REASONING_FIELDS = ("reasoning_content", "reasoning")

# U+FF5C FULLWIDTH VERTICAL LINE and U+2581 LOWER ONE EIGHTH BLOCK, as DeepSeek's tokens spell them.
BAR = "\uff5c"
SPACE = "\u2581"
DSML = f"<{BAR}DSML{BAR}"


def validate_step(raw: Mapping[str, Any], where: str = "step") -> dict[str, Any]:
    """Check one step's keys and types; return a shallow copy. Raises ValueError on a bad step."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: a step must be a dict, got {type(raw).__name__}")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown step keys {sorted(unknown)}; allowed: {sorted(STEP_KEYS)}"
        )
    st = dict(raw)
    for key in ("reasoning", "content", "finish_reason", "message"):
        if st.get(key) is not None and not isinstance(st[key], str):
            raise ValueError(f"{where}: {key!r} must be a string")
    for key in ("content_chunks", "reasoning_chunks"):
        if key in st and not (
            isinstance(st[key], list) and all(isinstance(c, str) for c in st[key])
        ):
            raise ValueError(f"{where}: {key!r} must be a list of strings")
    if "status" in st and not (isinstance(st["status"], int) and 100 <= st["status"] <= 599):
        raise ValueError(f"{where}: 'status' must be an HTTP status code")
    if "cut_after" in st and not (isinstance(st["cut_after"], int) and st["cut_after"] >= 0):
        raise ValueError(f"{where}: 'cut_after' must be an int >= 0")
    if "garbage_after" in st and not (
        isinstance(st["garbage_after"], int) and st["garbage_after"] >= 0
    ):
        raise ValueError(f"{where}: 'garbage_after' must be an int >= 0")
    if "garbage" in st and st["garbage"] not in GARBAGE_KINDS:
        raise ValueError(f"{where}: 'garbage' must be one of {GARBAGE_KINDS}")
    if "chunk_size" in st and not (isinstance(st["chunk_size"], int) and st["chunk_size"] >= 1):
        raise ValueError(f"{where}: 'chunk_size' must be an int >= 1")
    for key in ("delay", "hang", "retry_after"):
        if key in st and not (isinstance(st[key], (int, float)) and st[key] >= 0):
            raise ValueError(f"{where}: {key!r} must be a number >= 0")
    if "usage_shape" in st and st["usage_shape"] not in USAGE_SHAPES:
        raise ValueError(f"{where}: 'usage_shape' must be one of {USAGE_SHAPES}")
    if "reasoning_field" in st and st["reasoning_field"] not in REASONING_FIELDS:
        raise ValueError(f"{where}: 'reasoning_field' must be one of {REASONING_FIELDS}")
    if "usage" in st and not isinstance(st["usage"], Mapping):
        raise ValueError(f"{where}: 'usage' must be a dict")
    if "expect" in st and not isinstance(st["expect"], Mapping):
        raise ValueError(f"{where}: 'expect' must be a dict of request key -> expected value")
    calls = st.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise ValueError(f"{where}: 'tool_calls' must be a list")
        st["tool_calls"] = [
            _validate_call(c, f"{where}.tool_calls[{i}]") for i, c in enumerate(calls)
        ]
    return st


def _validate_call(call: Any, where: str) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        raise ValueError(f"{where}: a tool call must be a dict")
    unknown = set(call) - {"name", "arguments", "id"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(call.get("name"), str):
        raise ValueError(f"{where}: 'name' must be a string")
    args = call.get("arguments", {})
    if not isinstance(args, (Mapping, str)):
        raise ValueError(f"{where}: 'arguments' must be a dict (JSON-encoded) or a str (verbatim)")
    if call.get("id") is not None and not isinstance(call["id"], str):
        raise ValueError(f"{where}: 'id' must be a string")
    return {"name": call["name"], "arguments": args, "id": call.get("id")}


def validate_steps(steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [validate_step(s, f"step {i}") for i, s in enumerate(steps)]


def step(**keys: Any) -> dict[str, Any]:
    """A step from keyword arguments, validated now rather than when it is served."""
    return validate_step({k: v for k, v in keys.items() if v is not None})


def text(content: str, reasoning: str | None = None, **extra: Any) -> dict[str, Any]:
    """A plain answer: optional reasoning, then content, finish_reason "stop"."""
    return step(content=content, reasoning=reasoning, **extra)


def tool_call(
    name: str,
    reasoning: str | None = None,
    content: str | None = None,
    id: str | None = None,
    **arguments: Any,
) -> dict[str, Any]:
    """One tool call; the keyword arguments are the call's JSON arguments."""
    call = {"name": name, "arguments": dict(arguments), "id": id}
    return step(reasoning=reasoning, content=content, tool_calls=[call])


def tool_calls(
    calls: Iterable[tuple[str, Mapping[str, Any] | str]],
    reasoning: str | None = None,
    content: str | None = None,
) -> dict[str, Any]:
    """Several tool calls in one answer (parallel calls), in the given order."""
    listed = [{"name": n, "arguments": a} for n, a in calls]
    return step(reasoning=reasoning, content=content, tool_calls=listed)


def raw_args(name: str, raw: str, reasoning: str | None = None) -> dict[str, Any]:
    """A tool call whose arguments string is sent verbatim (malformed or truncated JSON)."""
    return step(reasoning=reasoning, tool_calls=[{"name": name, "arguments": raw}])


def fault(
    status: int, retry_after: float | None = None, message: str | None = None
) -> dict[str, Any]:
    """An HTTP error answer (429, 500, 503, ...) with a DeepSeek-style error body."""
    return step(status=status, retry_after=retry_after, message=message)


def garbage(after: int, kind: str = "bytes", **keys: Any) -> dict[str, Any]:
    """A stream that sends ``after`` data chunks, then a corrupt event, then the rest.

    ``kind`` "bytes": an event of bytes that are not UTF-8; "json": an event that is not JSON.
    """
    return step(garbage_after=after, garbage=kind, **keys)


def cut(after: int, **keys: Any) -> dict[str, Any]:
    """A stream that sends ``after`` data chunks, then drops the connection without [DONE]."""
    return step(cut_after=after, **keys)


def _dsml_value(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        return "true", value
    return "false", json.dumps(value, ensure_ascii=False)


def dsml_markup(calls: Iterable[tuple[str, Mapping[str, Any]]]) -> str:
    """DeepSeek V4's DSML tool-call block, as an engine that failed to parse it returns it."""
    lines = [f"{DSML}tool_calls>"]
    for name, args in calls:
        lines.append(f'{DSML}invoke name="{name}">')
        for param, value in args.items():
            flag, rendered = _dsml_value(value)
            lines.append(
                f'{DSML}parameter name="{param}" string="{flag}">{rendered}</{BAR}DSML{BAR}parameter>'
            )
        lines.append(f"</{BAR}DSML{BAR}invoke>")
    lines.append(f"</{BAR}DSML{BAR}tool_calls>")
    return "\n".join(lines)


def v31_markup(name: str, args: Mapping[str, Any]) -> str:
    """DeepSeek V3.1's raw tool-call tokens for one call."""
    return (
        f"<{BAR}tool{SPACE}calls{SPACE}begin{BAR}><{BAR}tool{SPACE}call{SPACE}begin{BAR}>"
        f"{name}<{BAR}tool{SPACE}sep{BAR}>{json.dumps(dict(args), ensure_ascii=False)}"
        f"<{BAR}tool{SPACE}call{SPACE}end{BAR}><{BAR}tool{SPACE}calls{SPACE}end{BAR}>"
    )


def _leak(markup: str, where: str, reasoning: str | None, prefix: str) -> dict[str, Any]:
    if where == "content":
        return step(reasoning=reasoning, content=prefix + markup)
    if where == "reasoning":
        return step(reasoning=(reasoning or "") + prefix + markup)
    raise ValueError("where must be 'content' or 'reasoning'")


def dsml_leak(
    calls: Iterable[tuple[str, Mapping[str, Any]]],
    where: str = "content",
    reasoning: str | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """V4 DSML tool-call markup as plain text, with NO structured tool_calls (finish "stop").

    ``where="reasoning"`` appends the markup to the reasoning instead of the content. ``prefix`` is
    text placed just before the markup in the same field.
    """
    return _leak(dsml_markup(calls), where, reasoning, prefix)


def v31_leak(
    name: str,
    args: Mapping[str, Any],
    where: str = "content",
    reasoning: str | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """V3.1 ``<｜tool▁calls▁begin｜>`` markup as plain text, with NO structured tool_calls."""
    return _leak(v31_markup(name, args), where, reasoning, prefix)
