"""What the fake server sends: completion bodies, SSE chunks, usage with prefix-cache accounting."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Answer",
    "PrefixCache",
    "canonical",
    "completion_body",
    "make_usage",
    "replay_message",
    "serialise_prompt",
    "sse_payloads",
    "split",
]


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def serialise_prompt(body: Mapping[str, Any]) -> bytes:
    """The request as the cache sees it: the tools list, then each message, in canonical JSON."""
    parts = [canonical(body.get("tools") or [])]
    parts.extend(canonical(m) for m in body.get("messages") or [])
    return b"".join(parts)


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while lo < hi:  # invariant: a[:lo] == b[:lo] and a[:hi+1] != b[:hi+1]
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


# IDs DeepSeek serves with one model (and so one prefix cache): the retired Flash IDs are
# served by the current Flash; `deepseek-chat` / `deepseek-reasoner` were Flash's aliases.
SERVED_BY = {
    "deepseek-v4-flash": "deepseek-flash",
    "deepseek-v4-flash-vision-exp": "deepseek-flash",
    "deepseek-chat": "deepseek-flash",
    "deepseek-reasoner": "deepseek-flash",
}


def served_model(model: object) -> str:
    """The model behind a request's `model`: each one keeps a prefix cache of its own."""
    name = model if isinstance(model, str) else ""
    return SERVED_BY.get(name, name)


class PrefixCache:
    """Every answered prompt so far, per served model; a new prompt hits the longest byte
    prefix it shares with an earlier prompt to the same model (a switch of model is a miss)."""

    def __init__(self) -> None:
        self._blobs: dict[str, list[bytes]] = {}

    def hit_tokens(self, blob: bytes, unit: int = 1, model: object = "") -> int:
        blobs = self._blobs.get(served_model(model), [])
        shared = max((_common_prefix(blob, old) for old in blobs), default=0)
        tokens = shared // 4
        return tokens - tokens % max(unit, 1)

    def add(self, blob: bytes, model: object = "") -> None:
        blobs = self._blobs.setdefault(served_model(model), [])
        if blob not in blobs:
            blobs.append(blob)

    def clear(self) -> None:
        self._blobs.clear()


@dataclass(frozen=True)
class Answer:
    reasoning: str
    content: str
    calls: tuple[dict[str, str], ...]  # each {"id", "name", "arguments"} with arguments as text
    finish_reason: str


def make_usage(
    prompt_tokens: int,
    hits: int,
    answer: Answer,
    dialect: str = "deepseek",
    override: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    args = "".join(c["arguments"] for c in answer.calls)
    completion = math.ceil(len(answer.reasoning + answer.content + args) / 4)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }
    if dialect == "deepseek":
        usage["prompt_cache_hit_tokens"] = hits
        usage["prompt_cache_miss_tokens"] = prompt_tokens - hits
        usage["prompt_tokens_details"] = {"cached_tokens": hits}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": math.ceil(len(answer.reasoning) / 4)
        }
    elif dialect != "ollama":
        usage["prompt_tokens_details"] = {"cached_tokens": hits}
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(usage.get(key), dict):
            usage[key] = {**usage[key], **value}
        else:
            usage[key] = value
    override = override or {}
    if "prompt_cache_hit_tokens" in override:  # keep the overridden usage self-consistent
        hit = override["prompt_cache_hit_tokens"]
        if "prompt_tokens_details" not in override:
            usage.setdefault("prompt_tokens_details", {})["cached_tokens"] = hit
        if "prompt_cache_miss_tokens" not in override and "prompt_tokens" not in override:
            usage["prompt_cache_miss_tokens"] = max(usage["prompt_tokens"] - hit, 0)
    return usage


def replay_message(answer: Answer, reasoning_field: str) -> dict[str, Any]:
    """The assistant message as a client following DeepSeek's rules sends it back."""
    msg = _message(answer, reasoning_field)
    msg[reasoning_field] = answer.reasoning
    return msg


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _message(answer: Answer, reasoning_field: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.reasoning:
        msg[reasoning_field] = answer.reasoning
    if answer.calls:
        msg["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in answer.calls
        ]
    return msg


def completion_body(
    answer: Answer,
    *,
    ident: str,
    created: int,
    model: str,
    usage: dict[str, Any],
    reasoning_field: str,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake_api",
        "choices": [
            {
                "index": 0,
                "message": _message(answer, reasoning_field),
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": usage,
    }


def _deltas(answer: Answer, st: Mapping[str, Any], size: int, reasoning_field: str) -> list[dict]:
    deltas: list[dict[str, Any]] = []
    reasoning = st.get("reasoning_chunks") or split(answer.reasoning, size)
    content = st.get("content_chunks") or split(answer.content, size)
    first: dict[str, Any] = {"role": "assistant", "content": None if reasoning else ""}
    if reasoning:
        first[reasoning_field] = ""
    deltas.append(first)
    deltas.extend({"content": None, reasoning_field: piece} for piece in reasoning)
    deltas.extend({"content": piece} for piece in content)
    for index, call in enumerate(answer.calls):
        pieces = split(call["arguments"], size) or [""]
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        deltas.extend(
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]} for piece in pieces
        )
    return deltas


def sse_payloads(
    answer: Answer,
    st: Mapping[str, Any],
    *,
    ident: str,
    created: int,
    model: str,
    usage: dict[str, Any] | None,
    usage_shape: str,
    chunk_size: int,
    reasoning_field: str,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of one streamed answer, in order (no [DONE])."""

    def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake_api",
            "choices": choices,
        }
        if usage is not None:
            out["usage"] = None
        return out

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    payloads = [chunk([choice(d)]) for d in _deltas(answer, st, chunk_size, reasoning_field)]
    last = chunk([choice({} if answer.calls else {"content": ""}, answer.finish_reason)])
    payloads.append(last)
    if usage is not None:
        if usage_shape == "separate":
            extra = chunk([])
            extra["usage"] = usage
            payloads.append(extra)
        else:
            last["usage"] = usage
    return payloads
