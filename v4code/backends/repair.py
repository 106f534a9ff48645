"""Repair tool-call arguments cut off at the end, but only where the repair is unambiguous.

A cut inside a string (a file's content!), a key, a number or a literal could have continued
in many ways, so it is refused. What is repaired: a JSON object that stops right after a
complete value, where appending the missing `]` and `}` is the only completion that keeps
every byte the model sent.
"""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*(?:```)?$", re.DOTALL)


def repair_json_arguments(raw: str) -> str | None:
    """The repaired JSON text, or None when no safe repair exists."""
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith("{"):
        return None
    try:
        json.loads(text)
        return text if text != raw else None
    except json.JSONDecodeError:
        pass
    closers = _missing_closers(text)
    if closers is None:
        return None
    candidate = text + closers
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        return None
    return candidate if isinstance(value, dict) else None


def _missing_closers(text: str) -> str | None:
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and (not stack or stack.pop() != ch):
            return None
    if in_string or not stack:
        return None
    last = text.rstrip()[-1]
    # After a number or a bare word the value itself may be cut (12 of 123, tru of true).
    if last not in '"}]' and not text.rstrip().endswith(("true", "false", "null")):
        return None
    return "".join(reversed(stack))
