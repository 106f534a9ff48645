"""Recover tool calls an engine returned as text instead of as structured tool calls.

When a self-hosted engine's parser misses DeepSeek's tool-call markup (V4's DSML, V3.1's
`<｜tool▁calls▁begin｜>` form), the markup arrives in `content` or inside the reasoning,
possibly split across stream chunks. `LeakFilter` sits on one stream: it passes ordinary text
through at once, holds back only what could be the start of a marker, and turns a complete
block into ToolCalls. Nothing is lost: a block that cannot be parsed is passed on as text.
"""

from __future__ import annotations

import json
import re
import secrets

from v4code.types import ToolCall

BAR = "[\uff5c|]"  # DeepSeek writes the fullwidth bar; some engines print ASCII
SP = "[\u2581_ ]"

_START = re.compile(rf"<{BAR}(?:DSML{BAR}|tool{SP}calls{SP}begin{BAR}>)")
_DSML_END = re.compile(rf"</{BAR}DSML{BAR}(?:tool|function)[_-]calls>")
_V3_END = re.compile(rf"<{BAR}tool{SP}calls{SP}end{BAR}>")
_INVOKE = re.compile(
    rf"<{BAR}DSML{BAR}invoke\s+name=\"([^\"]+)\"\s*>(.*?)(?:</{BAR}DSML{BAR}invoke>|(?=<{BAR}DSML{BAR}invoke\b)|$)",
    re.DOTALL,
)
_PARAM = re.compile(
    rf"<{BAR}DSML{BAR}parameter\s+name=\"([^\"]+)\"(?:\s+string=\"(true|false)\")?\s*>(.*?)</{BAR}DSML{BAR}parameter>",
    re.DOTALL,
)
_V3_CALL = re.compile(
    rf"<{BAR}tool{SP}call{SP}begin{BAR}>(.*?)<{BAR}tool{SP}call{SP}end{BAR}>", re.DOTALL
)
_V3_SEP = re.compile(rf"<{BAR}tool{SP}sep{BAR}>")
_FENCED_JSON = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)

# Every spelling a marker can start with, to decide what to hold back at a chunk boundary.
_MARKER_PREFIXES = tuple(
    f"<{bar}{word}"
    for bar in ("\uff5c", "|")
    for word in (
        f"DSML{bar}",
        f"tool\u2581calls\u2581begin{bar}>",
        f"tool_calls_begin{bar}>",
        f"tool calls begin{bar}>",
    )
)
_THINK_CLOSE = "</think>"


def _new_id() -> str:
    return f"call_leak_{secrets.token_hex(6)}"


def _could_start_marker(tail: str) -> bool:
    return any(m.startswith(tail) for m in _MARKER_PREFIXES)


def parse_dsml(block: str) -> list[ToolCall]:
    calls = []
    for name, body in _INVOKE.findall(block):
        args: dict[str, object] = {}
        for pname, is_string, value in _PARAM.findall(body):
            if is_string == "true":
                args[pname] = value
                continue
            try:
                args[pname] = json.loads(value)
            except json.JSONDecodeError:
                args[pname] = value
        calls.append(ToolCall(_new_id(), name.strip(), json.dumps(args, ensure_ascii=False)))
    return calls


def parse_v3(block: str) -> list[ToolCall]:
    calls = []
    for body in _V3_CALL.findall(block):
        parts = _V3_SEP.split(body, maxsplit=1)
        if len(parts) != 2:
            continue
        head, rest = parts[0].strip(), parts[1]
        if head == "function":  # V3/R1: function<sep>NAME\n```json\n{...}\n```
            name, _, rest = rest.partition("\n")
        else:  # V3.1: NAME<sep>{json}
            name = head
        fenced = _FENCED_JSON.search(rest)
        arguments = (fenced.group(1) if fenced else rest).strip()
        calls.append(ToolCall(_new_id(), name.strip(), arguments or "{}"))
    return calls


def parse_block(block: str) -> list[ToolCall]:
    return parse_dsml(block) if "DSML" in block[:8] else parse_v3(block)


class LeakFilter:
    """Incremental filter over one text stream (content or reasoning)."""

    def __init__(self, *, strip_think_close: bool = False) -> None:
        self.calls: list[ToolCall] = []
        self._buf = ""
        self._in_block = False
        self._at_start = strip_think_close

    def feed(self, text: str) -> str:
        """Text that is safe to show now; markup is held back until it is complete."""
        if not self._buf and not self._at_start and "<" not in text:
            return text  # the hot path: ordinary text, nothing pending
        self._buf += text
        if self._at_start:
            stripped = self._buf.lstrip()
            if len(stripped) < len(_THINK_CLOSE) and _THINK_CLOSE.startswith(stripped):
                return ""
            if stripped.startswith(_THINK_CLOSE):
                self._buf = stripped[len(_THINK_CLOSE) :].lstrip("\n")
            self._at_start = False
        return self._drain()

    def _drain(self) -> str:
        out = []
        while self._buf:
            if not self._in_block:
                match = _START.search(self._buf)
                if match is None:
                    cut = self._buf.rfind("<")
                    if cut != -1 and _could_start_marker(self._buf[cut:]):
                        out.append(self._buf[:cut])
                        self._buf = self._buf[cut:]
                    else:
                        out.append(self._buf)
                        self._buf = ""
                    break
                out.append(self._buf[: match.start()])
                self._buf = self._buf[match.start() :]
                self._in_block = True
            end = (_DSML_END if "DSML" in self._buf[:8] else _V3_END).search(self._buf)
            if end is None:
                break
            block, self._buf = self._buf[: end.end()], self._buf[end.end() :]
            self._in_block = False
            calls = parse_block(block)
            if calls:
                self.calls.extend(calls)
            else:
                out.append(block)
        return "".join(out)

    def flush(self) -> str:
        """End of stream: parse an unclosed block if possible, else give it back as text."""
        rest, self._buf = self._buf, ""
        if self._in_block:
            self._in_block = False
            calls = parse_block(rest)
            if calls:
                self.calls.extend(calls)
                return ""
        return rest
