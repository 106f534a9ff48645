"""The Responses API face of the fake server (tests/fake_api), for the benchmarks' peers:
request rules, usage, and the streamed events. `API` is what the server takes (``apis=[API]``,
or ``--api bench/responses_api.py`` for the server run as a program).

The same script steps answer ``POST /responses`` as answer ``/chat/completions``: a step's
reasoning becomes a ``reasoning`` output item (as a summary), its content a ``message`` item, and
each tool call a ``function_call`` item. Clients that speak only the Responses API (Codex CLI) can
so run the same scripted task against the same server as v4code. The event sequence and field
names follow the public API reference: ``response.created``, ``response.in_progress``,
``response.output_item.added`` / ``.done`` around each item with its deltas, ``response.completed``
carrying the whole response and its usage.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from fake_api.rules import Rejection
from fake_api.wire import Answer, canonical, split

__all__ = [
    "API",
    "FUNCTION_OUTPUT_ORPHAN",
    "FUNCTION_OUTPUT_MISSING",
    "check_responses_request",
    "response_events",
    "response_object",
    "responses_prompt",
    "responses_usage",
    "ResponsesApi",
]

FUNCTION_OUTPUT_ORPHAN = "No tool call found for function call output with call_id {call_id}."
FUNCTION_OUTPUT_MISSING = "No tool output found for function call {call_id}."
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CALL_TYPES = {
    "function_call": "function_call_output",
    "custom_tool_call": "custom_tool_call_output",
}
_OUTPUT_TYPES = {v: k for k, v in _CALL_TYPES.items()}


def _bad(message: str, detail: str = "", status: int = 400) -> Rejection:
    return Rejection(status=status, message=message, detail=detail)


def check_responses_request(body: Any, accepted_models: frozenset[str] | None) -> Rejection | None:
    """The first rule this ``/responses`` body breaks, or None."""
    if not isinstance(body, dict):
        return _bad("Invalid body: expected a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or (accepted_models is not None and model not in accepted_models):
        return _bad(f"The requested model '{model}' does not exist.", f"model={model!r}")
    return _check_tools(body.get("tools")) or _check_input(body.get("input"))


def _check_tools(tools: Any) -> Rejection | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return _bad("Invalid type for 'tools': expected an array")
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            return _bad(f"Missing required parameter: 'tools[{i}].type'.")
        name = tool.get("name")
        if tool["type"] not in ("function", "custom"):
            continue  # hosted tools (web_search, ...) have no name
        if not isinstance(name, str) or not _NAME_RE.match(name):
            return _bad(f"Invalid 'tools[{i}].name': string does not match pattern.")
        if name in seen:
            return _bad(f"Duplicate tool name '{name}'.")
        seen.add(name)
    return None


def _check_input(items: Any) -> Rejection | None:
    if isinstance(items, str):
        return None
    if not isinstance(items, list) or not items:
        return _bad("Invalid 'input': expected a string or a non-empty array of items")
    open_calls: dict[str, str] = {}  # call_id -> the output type that must answer it
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return _bad(f"Invalid 'input[{i}]': expected an object")
        kind = item.get("type", "message")
        if kind in _CALL_TYPES:
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not isinstance(item.get("name"), str):
                return _bad(f"Missing required parameter: 'input[{i}].call_id' or 'name'.")
            open_calls[call_id] = _CALL_TYPES[kind]
        elif kind in _OUTPUT_TYPES:
            call_id = item.get("call_id")
            if open_calls.pop(call_id, None) != kind:
                return _bad(FUNCTION_OUTPUT_ORPHAN.format(call_id=call_id), f"input[{i}]")
        elif kind == "message" and item.get("role") not in (
            "user",
            "assistant",
            "system",
            "developer",
        ):
            return _bad(f"Invalid value for 'input[{i}].role'.")
    if open_calls:
        return _bad(FUNCTION_OUTPUT_MISSING.format(call_id=sorted(open_calls)[0]))
    return None


def responses_prompt(body: Mapping[str, Any]) -> bytes:
    """The request as a prefix cache sees it: instructions, tools, then each input item."""
    items = body.get("input")
    parts = [canonical(body.get("instructions") or ""), canonical(body.get("tools") or [])]
    parts.extend(canonical(i) for i in (items if isinstance(items, list) else [items]))
    return b"".join(parts)


def responses_usage(prompt_tokens: int, hits: int, answer: Answer) -> dict[str, Any]:
    args = "".join(c["arguments"] for c in answer.calls)
    output = math.ceil(len(answer.reasoning + answer.content + args) / 4)
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": hits},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": math.ceil(len(answer.reasoning) / 4)},
        "total_tokens": prompt_tokens + output,
    }


def _items(answer: Answer, ident: str) -> list[dict[str, Any]]:
    """The finished output items of one answer, in order."""
    items: list[dict[str, Any]] = []
    if answer.reasoning:
        summary = [{"type": "summary_text", "text": answer.reasoning}]
        items.append({"type": "reasoning", "id": f"rs_{ident}", "summary": summary})
    if answer.content:
        part = {"type": "output_text", "text": answer.content, "annotations": []}
        items.append(
            {
                "type": "message",
                "id": f"msg_{ident}",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for n, call in enumerate(answer.calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{ident}_{n}",
                "call_id": call["id"],
                "name": call["name"],
                "arguments": call["arguments"],
                "status": "completed",
            }
        )
    return items


def response_object(
    answer: Answer, *, ident: str, created: int, model: str, usage: dict[str, Any] | None
) -> dict[str, Any]:
    """A finished ``response`` object (the non-streamed answer, and ``response.completed``'s)."""
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": created,
        "status": "completed",
        "model": model,
        "output": _items(answer, ident),
        "usage": usage,
    }


def _item_events(item: dict[str, Any], index: int, size: int) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "reasoning":
        text = item["summary"][0]["text"]
        part = {"type": "summary_text", "text": ""}
        events = [
            {"type": "response.output_item.added", "output_index": index,
             "item": {**item, "summary": []}},
            {"type": "response.reasoning_summary_part.added", **where, "summary_index": 0,
             "part": part},
        ]  # fmt: skip
        events += [
            {"type": "response.reasoning_summary_text.delta", **where, "summary_index": 0,
             "delta": piece}
            for piece in split(text, size)
        ]  # fmt: skip
        events += [
            {"type": "response.reasoning_summary_text.done", **where, "summary_index": 0,
             "text": text},
            {"type": "response.reasoning_summary_part.done", **where, "summary_index": 0,
             "part": {**part, "text": text}},
        ]  # fmt: skip
    elif kind == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        events = [
            {"type": "response.output_item.added", "output_index": index,
             "item": {**item, "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", **where, "content_index": 0, "part": part},
        ]  # fmt: skip
        events += [
            {"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece}
            for piece in split(text, size)
        ]
        events += [
            {"type": "response.output_text.done", **where, "content_index": 0, "text": text},
            {"type": "response.content_part.done", **where, "content_index": 0,
             "part": {**part, "text": text}},
        ]  # fmt: skip
    else:
        args = item["arguments"]
        events = [
            {"type": "response.output_item.added", "output_index": index,
             "item": {**item, "arguments": "", "status": "in_progress"}},
        ]  # fmt: skip
        events += [
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in split(args, size)
        ]
        events.append({"type": "response.function_call_arguments.done", **where, "arguments": args})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def response_events(
    answer: Answer,
    *,
    ident: str,
    created: int,
    model: str,
    usage: dict[str, Any],
    chunk_size: int,
) -> list[dict[str, Any]]:
    """The events of one streamed answer, in order, each with its ``sequence_number``."""
    done = response_object(answer, ident=ident, created=created, model=model, usage=usage)
    pending = {**done, "status": "in_progress", "output": [], "usage": None}
    events = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, item in enumerate(done["output"]):
        events.extend(_item_events(item, index, chunk_size))
    events.append({"type": "response.completed", "response": done})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def sse_frame(event: Mapping[str, Any]) -> bytes:
    """One event as the Responses API frames it: a named SSE event with a JSON data line."""
    data = json.dumps(event, ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


class ResponsesApi:
    """``POST /responses`` answered from the fake server's script (its ``OtherApi``)."""

    path = "/responses"

    def check(self, body: Any, accepted_models: frozenset[str] | None) -> Rejection | None:
        return check_responses_request(body, accepted_models)

    def prompt(self, body: Mapping[str, Any]) -> bytes:
        return responses_prompt(body)

    def usage(self, prompt_tokens: int, hits: int, answer: Answer) -> dict[str, Any]:
        return responses_usage(prompt_tokens, hits, answer)

    def response(self, answer: Answer, **shape: Any) -> dict[str, Any]:
        return response_object(answer, **shape)

    def frames(self, answer: Answer, chunk_size: int, **shape: Any) -> list[bytes]:
        return [sse_frame(e) for e in response_events(answer, chunk_size=chunk_size, **shape)]


API = ResponsesApi()
