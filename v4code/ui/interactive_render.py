"""Rich rendering of agent events for the interactive chat.

Pure helpers (`tool_line`, `summary_line`, `diff_renderable`) return text or renderables so they
can be checked against golden output; `EventPrinter` streams a turn to a console.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from v4code.events import (
    ErrorEvent,
    Event,
    Notice,
    ReasoningDelta,
    Retrying,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    UsageReported,
)
from v4code.pricing import format_cost
from v4code.types import Usage
from v4code.ui.headless import describe_call


def tool_line(started: ToolStarted, finished: ToolFinished | None = None) -> Text:
    """One compact line per tool call: `read src/app.py 1-120`, `run pytest -q  exit 1`."""
    args = started.args or {}
    name = started.call.name
    if name == "read_file":
        label = f"read {args.get('path', '')}"
        data = finished.result.data if finished else None
        if isinstance(data, dict) and data.get("start"):
            label += f" {data['start']}-{data.get('end', '')}"
    elif name == "grep":
        label = f"grep {args.get('pattern', '')!r}"
        data = finished.result.data if finished else None
        if isinstance(data, dict) and "matches" in data:
            label += f" {data['matches']} matches"
    elif name == "run_command":
        label = f"run {args.get('command', '')}"
        data = finished.result.data if finished else None
        if isinstance(data, dict) and data.get("exit_code") is not None:
            label += f"  exit {data['exit_code']}"
    else:
        label = describe_call(started)
    line = Text("• ", style="cyan")
    line.append(label)
    if finished is not None and finished.denied:
        line.append("  denied", style="yellow")
    elif finished is not None and finished.result.is_error:
        first = (finished.result.text.strip().splitlines() or [""])[0]
        line.append(f"  ✗ {first[:120]}", style="red")
    return line


def diff_renderable(diff: str) -> RenderableType:
    return Syntax(
        diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True
    )


def summary_line(
    usage: Usage, cost: float, seconds: float, status: str = "done", reason: str = ""
) -> Text:
    text = Text(style="dim")
    text.append(
        f"{usage.prompt_tokens:,} in ({usage.cache_hit_share:.0%} cached) · "
        f"{usage.completion_tokens:,} out · {format_cost(cost)} · {seconds:.1f}s"
    )
    if status != "done":
        text.append(f" · {status}" + (f": {reason}" if reason else ""), style="yellow")
    return text


@dataclass
class EventPrinter:
    """Streams one turn: folded thinking, raw answer text, tool lines, diffs, a summary."""

    console: Console
    show_thinking: bool = False
    last_reasoning: str = ""
    _reasoning: list[str] = field(default_factory=list)
    _thinking_open: bool = False
    approved_diffs: set[str] = field(default_factory=set)
    results: list[tuple[Text, str]] = field(default_factory=list)  # for /details
    _text: list[str] = field(default_factory=list)
    _live: Any = None
    _started: dict[str, ToolStarted] = field(default_factory=dict)
    _usage: Usage = field(default_factory=Usage)
    _cost: float = 0.0
    _t0: float = field(default_factory=time.monotonic)

    def handle(self, event: Event) -> None:
        if isinstance(event, ReasoningDelta):
            if not self._thinking_open:
                self._close_text()
                self.console.print(Text("▸ thinking…", style="dim italic"))
                self._thinking_open = True
            self._reasoning.append(event.text)
            if self.show_thinking:
                self.console.print(Text(event.text, style="dim"), end="")
            return
        self._close_thinking()
        if isinstance(event, TextDelta):
            self._stream_text(event.text)
        elif isinstance(event, ToolStarted):
            self._close_text()
            self._started[event.call.id] = event
        elif isinstance(event, ToolFinished):
            started = self._started.pop(event.call.id, ToolStarted(event.call, None))
            line = tool_line(started, event)
            self.results.append((line, event.result.text))
            self.console.print(line)
            data = event.result.data
            if isinstance(data, dict) and data.get("files"):
                diff = "".join(f.get("diff", "") for f in data["files"])
                if diff and diff not in self.approved_diffs:  # not twice after an approval
                    self.console.print(diff_renderable(diff))
        elif isinstance(event, UsageReported):
            self._usage = self._usage + event.usage
            self._cost += event.cost
        elif isinstance(event, (Notice, Retrying)):
            self._close_text()
            text = (
                event.text
                if isinstance(event, Notice)
                else f"retrying in {event.delay:.1f}s ({event.reason})"
            )
            self.console.print(Text(f"  {text}", style="dim"))
        elif isinstance(event, ErrorEvent):
            self._close_text()
            self.console.print(Text(f"error: {event.message}", style="bold red"))
        elif isinstance(event, TurnFinished):
            self._close_text()
            self.console.print(
                summary_line(
                    self._usage, self._cost, time.monotonic() - self._t0, event.status, event.reason
                )
            )

    def _close_thinking(self) -> None:
        if self._thinking_open:
            self.last_reasoning = "".join(self._reasoning)
            tokens = max(len(self.last_reasoning) // 4, 1)
            if self.show_thinking:
                self.console.print()
            self.console.print(
                Text(f"  thought for ~{tokens:,} tokens (/thinking shows it)", style="dim")
            )
            self._thinking_open = False
            self._reasoning = []

    def _stream_text(self, text: str) -> None:
        """The answer as Markdown, re-rendered live at most ~15 times a second."""
        from rich.live import Live
        from rich.markdown import Markdown

        self._text.append(text)
        current = "".join(self._text)
        cut = _settled(current)
        if cut and self._live is not None:
            # Finished blocks are printed once and leave the live area, so a frame only
            # re-renders the paragraph still being written: cost stays flat on long answers.
            self._live.update(Markdown(current[:cut]), refresh=True)
            self._live.stop()
            self._live = None
            current = current[cut:]
            self._text = [current]
        if self._live is None:
            self._live = Live(
                console=self.console, refresh_per_second=15, vertical_overflow="visible"
            )
            self._live.start()
        self._live.update(Markdown(current))

    def _close_text(self) -> None:
        if self._live is not None:
            self._live.update(Markdown_of("".join(self._text)), refresh=True)
            self._live.stop()
            self._live = None
            self._text = []


def _settled(text: str) -> int:
    """End of the last complete Markdown block (a blank line outside a code fence), or 0."""
    cut = text.rfind("\n\n")
    while cut > 0 and text[:cut].count("```") % 2:
        cut = text.rfind("\n\n", 0, cut)
    return cut + 2 if cut > 0 else 0


def Markdown_of(text: str) -> RenderableType:  # noqa: N802 - reads like the class it builds
    from rich.markdown import Markdown

    return Markdown(text)


def history_renderables(messages: list[Any]) -> list[RenderableType]:
    """A condensed view of a resumed conversation."""
    out: list[RenderableType] = []
    for m in messages:
        if m.role == "user":
            out.append(Text(f"› {(m.content or '').strip()[:500]}", style="bold"))
        elif m.role == "assistant" and (m.content or "").strip():
            out.append(Text((m.content or "").strip()[:2000]))
        elif m.role == "assistant":
            for call in m.tool_calls:
                out.append(Text(f"• {call.name}", style="cyan"))
    return out
