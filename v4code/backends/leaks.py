"""Recover tool calls an engine returned as text instead of as structured tool calls.

When a self-hosted engine's parser misses DeepSeek's tool-call markup (V4's DSML, V3.1's
`<｜tool▁calls▁begin｜>` form), the markup arrives in `content` or inside the reasoning,
possibly split across stream chunks. `LeakFilter` sits on one stream: it passes ordinary text
through at once, holds back only what could be the start of a marker, and turns a complete
block into ToolCalls. Nothing is lost: a block that cannot be parsed is passed on as text.
"""

from __future__ import annotations

import functools
import json
import re
import secrets

from v4code.types import ToolCall

BAR = "[\uff5c|]"  # DeepSeek writes the fullwidth bar; some engines print ASCII
SP = "[\u2581_ ]"

_PATTERNS = {
    "start": (rf"<{BAR}(?:DSML{BAR}|tool{SP}calls{SP}begin{BAR}>)", 0),
    "dsml_end": (rf"</{BAR}DSML{BAR}(?:tool|function)[_-]calls>", 0),
    "v3_end": (rf"<{BAR}tool{SP}calls{SP}end{BAR}>", 0),
    "invoke": (
        rf"<{BAR}DSML{BAR}invoke\s+name=\"([^\"]+)\"\s*>(.*?)(?:</{BAR}DSML{BAR}invoke>|(?=<{BAR}DSML{BAR}invoke\b)|$)",
        re.DOTALL,
    ),
    "param": (
        rf"<{BAR}DSML{BAR}parameter\s+name=\"([^\"]+)\"(?:\s+string=\"(true|false)\")?\s*>(.*?)</{BAR}DSML{BAR}parameter>",
        re.DOTALL,
    ),
    "v3_call": (
        rf"<{BAR}tool{SP}call{SP}begin{BAR}>(.*?)<{BAR}tool{SP}call{SP}end{BAR}>",
        re.DOTALL,
    ),
    "v3_sep": (rf"<{BAR}tool{SP}sep{BAR}>", 0),
    "fenced_json": (r"```(?:json)?\s*(.*?)\s*```", re.DOTALL),
}


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    """The markup's patterns, compiled when first needed: ordinary text (no `<`) never
    needs one, and a session that sees no leaked call does not pay for compiling them."""
    source, flags = _PATTERNS[name]
    return re.compile(source, flags)


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
    for name, body in _pattern("invoke").findall(block):
        args: dict[str, object] = {}
        for pname, is_string, value in _pattern("param").findall(body):
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
    for body in _pattern("v3_call").findall(block):
        parts = _pattern("v3_sep").split(body, maxsplit=1)
        if len(parts) != 2:
            continue
        head, rest = parts[0].strip(), parts[1]
        if head == "function":  # V3/R1: function<sep>NAME\n```json\n{...}\n```
            name, _, rest = rest.partition("\n")
        else:  # V3.1: NAME<sep>{json}
            name = head
        fenced = _pattern("fenced_json").search(rest)
        arguments = (fenced.group(1) if fenced else rest).strip()
        calls.append(ToolCall(_new_id(), name.strip(), arguments or "{}"))
    return calls


def parse_block(block: str) -> list[ToolCall]:
    return parse_dsml(block) if "DSML" in block[:8] else parse_v3(block)


# The longest closing marker is about 25 characters; a window this wide around each new piece
# finds one split across chunks without rescanning the whole block.
_END_WINDOW = 64


class LeakFilter:
    """Incremental filter over one text stream (content or reasoning).

    Work per piece is proportional to the piece: ordinary text passes straight through, and an
    open block is kept as a list of pieces, searched for its end only around the newest one.
    """

    def __init__(self, *, strip_think_close: bool = False) -> None:
        self.calls: list[ToolCall] = []
        self._buf = ""  # outside a block: held-back text that could start a marker (short)
        self._block: list[str] = []  # inside a block: its pieces so far
        self._tail = ""  # the block's last characters, to find an end marker split across pieces
        self._end: re.Pattern[str] | None = None  # set while inside a block
        self._at_start = strip_think_close

    def feed(self, text: str) -> str:
        """Text that is safe to show now; markup is held back until it is complete."""
        if self._end is not None:
            return self._feed_block(text)
        if not self._buf and not self._at_start and "<" not in text:
            return text  # the hot path: ordinary text, nothing pending
        self._buf += text  # short: at most a marker prefix is ever held back here
        if self._at_start:
            stripped = self._buf.lstrip()
            if len(stripped) < len(_THINK_CLOSE) and _THINK_CLOSE.startswith(stripped):
                return ""
            if stripped.startswith(_THINK_CLOSE):
                self._buf = stripped[len(_THINK_CLOSE) :].lstrip("\n")
            self._at_start = False
        return self._drain()

    def _drain(self) -> str:
        """Pass text on up to a marker; from a marker on, collect the block."""
        text, self._buf = self._buf, ""
        out = []
        while text:
            match = _pattern("start").search(text)
            if match is None:
                cut = text.rfind("<")
                if cut != -1 and _could_start_marker(text[cut:]):
                    out.append(text[:cut])
                    self._buf = text[cut:]
                else:
                    out.append(text)
                break
            out.append(text[: match.start()])
            rest = text[match.start() :]
            self._end = _pattern("dsml_end" if "DSML" in rest[:8] else "v3_end")
            self._block, self._tail = [], ""
            text = self._collect(rest, out)
        return "".join(out)

    def _feed_block(self, text: str) -> str:
        out: list[str] = []
        rest = self._collect(text, out)
        if rest:
            self._buf = rest
            out.append(self._drain())
        return "".join(out)

    def _collect(self, text: str, out: list[str]) -> str:
        """Add `text` to the open block; at its end, parse it and return what follows."""
        assert self._end is not None
        window = self._tail + text
        end = self._end.search(window)
        if end is None:
            self._block.append(text)
            self._tail = window[-_END_WINDOW:]
            return ""
        cut = end.end() - len(self._tail)
        self._block.append(text[:cut])
        block = "".join(self._block)
        self._block, self._tail, self._end = [], "", None
        calls = parse_block(block)
        if calls:
            self.calls.extend(calls)
        else:
            out.append(block)
        return text[cut:]

    def flush(self) -> str:
        """End of stream: parse an unclosed block if possible, else give it back as text."""
        if self._end is not None:
            block = "".join(self._block)
            self._block, self._tail, self._end = [], "", None
            calls = parse_block(block)
            if calls:
                self.calls.extend(calls)
                return ""
            return block + self._buf
        rest, self._buf = self._buf, ""
        return rest
