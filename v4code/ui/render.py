"""How the chat shows a turn: folded thinking, the answer as Markdown, one line per tool call,
edits as diffs, a summary line.

The pieces are pure functions returning rich renderables (`tool_line`, `diff_renderable`,
`summary_line`, `thinking_line`, `edit_header`, `history_renderables`), pinned by golden
tests; `TurnView` puts them on screen as a turn's events arrive, through a `LiveRegion`.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, RenderableType
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.text import Text

from v4code.compaction import SUMMARY_HEADER
from v4code.events import (
    DiagnosticsFound,
    ErrorEvent,
    Event,
    ModelSwitched,
    Notice,
    PlanProposed,
    PlanUpdated,
    ReasoningDelta,
    Retrying,
    StepStarted,
    SubagentFinished,
    SubagentProgress,
    SubagentStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    UsageReported,
    jsonable,
)
from v4code.planning import plan_lines, todo_lines
from v4code.pricing import format_cost
from v4code.textio import counted, one_line, shown_lines
from v4code.types import Message, ToolCall, ToolSummary, Usage
from v4code.ui.headless import describe_call, error_line
from v4code.ui.stream import LiveRegion

# --- pure pieces ------------------------------------------------------------------------


def _files(finished: ToolFinished | None) -> list[dict[str, Any]]:
    data = finished.result.data if finished is not None else None
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def _counts(files: list[dict[str, Any]]) -> str:
    """`+3 -1`, `+12`, `-4`: lines added and removed."""
    added = sum(int(f.get("additions") or 0) for f in files)
    removed = sum(int(f.get("deletions") or 0) for f in files)
    parts = ([f"+{added}"] if added else []) + ([f"-{removed}"] if removed else [])
    return " ".join(parts) or "+0 -0"


def tool_line(started: ToolStarted, finished: ToolFinished | None = None) -> Text:
    """One compact line per tool call; a denial or an error is said on the same line."""
    line = Text("• ", style="cyan")
    line.append(one_line(describe_call(started, finished)))  # names, commands, MCP tools
    if finished is not None and finished.denied:
        line.append("  denied", style="yellow")
    elif finished is not None and finished.result.is_error:
        line.append(f"  {error_line(finished, 120)}", style="red")
    return line


def diff_renderable(diff: str) -> RenderableType:
    """A unified diff, syntax-highlighted (what it quotes of a file cannot drive the terminal)."""
    return Syntax(
        shown_lines(diff.rstrip("\n")),
        "diff",
        theme="ansi_dark",
        background_color="default",
        word_wrap=True,
    )


def edit_header(files: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> Text:
    """`Edit 2 files: a.py (+1 -1), new.py (new, +3)` above a proposed batch's diff."""
    parts = []
    for f in files:
        status = f.get("status")
        note = "new, " if status == "added" else "deleted, " if status == "deleted" else ""
        parts.append(f"{one_line(str(f.get('path', '?')))} ({note}{_counts([f])})")
    count = f"{len(parts)} files" if len(parts) != 1 else "1 file"
    return Text(f"Edit {count}: " + ", ".join(parts), style="bold")


DIAGNOSTICS_SHOWN = 10
"""New errors listed under an edit's diff; the rest are counted."""


def diagnostics_renderable(found: DiagnosticsFound) -> Text:
    """An edit's new errors under its diff (`✗ calc.py:2: "totl" is not defined`), and what
    kept the check short (a server that did not answer in time), dimmed."""
    text = Text()
    shown = found.errors[:DIAGNOSTICS_SHOWN]
    for error in shown:  # the server quotes the file: one line each, nothing to drive the terminal
        text.append(f"  ✗ {one_line(error)}\n", style="red")
    if len(found.errors) > len(shown):
        text.append(f"  … and {len(found.errors) - len(shown)} more\n", style="red")
    for note in found.notes:
        text.append(f"  diagnostics: {one_line(note)}\n", style="dim")
    text.rstrip()
    return text


def command_header(command: str, cwd: str | None, sandboxed: bool) -> Text:
    text = Text("Run ", style="bold")
    text.append(shown_lines(command), style="bold cyan")  # what runs is what the person sees
    text.append(f"\n  in {one_line(cwd or '.')}, ", style="dim")
    text.append(
        "sandboxed (no network, writes only in the workspace)" if sandboxed else "not sandboxed",
        style="dim" if sandboxed else "yellow",
    )
    return text


def thinking_line(tokens: int, seconds: float, done: bool) -> Text:
    """The folded thinking block: `▸ thinking… ~312 tokens` while it streams, then a summary."""
    size = f"~{tokens:,} token" + ("" if tokens == 1 else "s")
    if not done:
        return Text(f"▸ thinking… {size}", style="dim italic")
    return Text(f"▸ thought for {seconds:.1f}s · {size}  (/thinking shows it)", style="dim italic")


def summary_line(
    usage: Usage,
    cost: float | None,
    seconds: float,
    status: str = "done",
    reason: str = "",
    unpriced_model: str | None = None,
    estimated: bool = False,
) -> Text:
    """After each turn: tokens, cache-hit share, cost, elapsed time (and why it stopped);
    a cost of None is unknown (no price for `unpriced_model`). `estimated`: a response cut
    short reported no usage, so part of the counts is estimated from what streamed (≈)."""
    text = Text(style="dim")
    about = "≈" if estimated else ""
    if usage.prompt_tokens or usage.completion_tokens:  # none when cut short before a byte
        out = f"{usage.completion_tokens:,} out"
        if usage.reasoning_tokens:
            out += f" ({usage.reasoning_tokens:,} thinking)"
        shown = f"{usage.prompt_tokens:,} in ({usage.cache_hit_share:.0%} cached) · {out}"
        text.append(f"{about}{shown} · ")
    text.append(f"{about}{one_line(format_cost(cost, unpriced_model))} · {seconds:.1f}s")
    if status != "done":
        said = reason and reason != "interrupted by the user"
        text.append(f" · {status}" + (f": {one_line(reason)}" if said else ""), style="yellow")
    return text


def answer(text: str) -> RenderableType:
    """The model's answer; what it copied from a file cannot drive the terminal."""
    return Markdown(shown_lines(text))


def thinking_text(text: str) -> RenderableType:
    return Markdown(shown_lines(text), style="dim")


def estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / 4)) if text else 0


def todo_renderable(items: tuple[dict[str, str], ...] | list[dict[str, str]]) -> RenderableType:
    """The list as the chat shows it when it changes: one line per item, the current marked."""
    text = Text()
    for n, line in enumerate(todo_lines(items)):
        style = "bold cyan" if line.startswith("[>]") else ("dim" if line.startswith("[x]") else "")
        text.append(("\n" if n else "") + f"  {line}", style=style)
    return text if items else Text("  (todo list cleared)", style="dim")


def plan_renderable(plan: PlanProposed) -> RenderableType:
    first, *rest = plan_lines(plan)
    text = Text(first, style="bold")
    for line in rest:
        text.append("\n" + line)
    return text


def history_renderables(
    messages: list[Message],
    last_turns: int = 10,
    describe: Callable[[ToolCall], ToolSummary] | None = None,
) -> list[RenderableType]:
    """A resumed conversation as the person saw it: prompts, tool lines, answers.

    `describe` gives a call's line as its tool declares it (`Agent.describe`)."""
    starts = [i for i, m in enumerate(messages) if m.role == "user"]
    skipped = 0
    if len(starts) > last_turns:
        skipped = len(starts) - last_turns
        messages = messages[starts[-last_turns] :]
    out: list[RenderableType] = []
    if skipped:
        out.append(Text(f"({skipped} earlier turns not shown)", style="dim"))
    for m in messages:
        if m.role == "user" and (m.content or "").startswith(SUMMARY_HEADER):
            out.append(Text("▸ earlier turns were compacted into a summary", style="dim italic"))
        elif m.role == "system" and m.content:  # a note the model was given (an undo, ...)
            out.append(Text(f"  {one_line(m.content.splitlines()[0][:200])}", style="dim"))
        elif m.role == "user":
            first, *rest = (m.content or "").strip().splitlines() or [""]
            more = f"  (+{counted(len(rest), 'line')})" if rest else ""
            out.append(Text(f"› {one_line(first[:300])}{more}", style="bold"))
        elif m.role == "assistant":
            for call in m.tool_calls:
                summary = describe(call) if describe is not None else None
                out.append(tool_line(ToolStarted(call, _arguments(call), summary)))
            if (m.content or "").strip():
                out.append(answer((m.content or "").strip()))
    return out


def _arguments(call: ToolCall) -> dict[str, Any] | None:
    try:
        args = json.loads(call.arguments)
    except (json.JSONDecodeError, TypeError):
        return None
    return args if isinstance(args, dict) else None


# --- a turn on screen --------------------------------------------------------------------


@dataclass
class ToolRecord:
    started: ToolStarted
    finished: ToolFinished | None = None


@dataclass
class TurnView:
    """Shows one turn as its events arrive; keeps what `/thinking` and `/details` show later."""

    console: Console
    show_thinking: bool = False
    shown_diffs: set[str] = field(default_factory=set)  # diffs the approver already showed
    fps: float = 20.0
    clock: Callable[[], float] = time.monotonic
    reasoning: list[str] = field(default_factory=list)  # every step's thinking, in full
    tools: list[ToolRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    unpriced_model: str | None = None  # a response came from a model with no known price
    estimated: bool = False  # a response cut short: its usage estimated from what streamed
    status: str = ""
    region: LiveRegion = field(init=False)

    def __post_init__(self) -> None:
        self.region = LiveRegion(self.console, fps=self.fps)
        self._t0 = self.clock()
        self._thinking: list[str] = []
        self._thinking_since = 0.0
        self._thinking_size = 0
        self._running: dict[str, ToolRecord] = {}
        self._children: dict[str, SubagentProgress] = {}  # child agents running: their lines
        self._waiting = False

    @property
    def full_reasoning(self) -> str:
        return "\n\n".join(r for r in self.reasoning if r.strip())

    def handle(self, event: Event) -> None:
        if isinstance(event, StepStarted):  # until the model's first bytes arrive
            self.region.status(_spinner("waiting for the model…", "dim"), ticking=True)
            self._waiting = True
            return
        if self._waiting:
            self._waiting = False
            self.region.status(None)
        if isinstance(event, ReasoningDelta):
            self._reasoning(event.text)
            return
        self._close_thinking()
        if isinstance(event, TextDelta):
            self.region.write(event.text, answer)
        elif isinstance(event, ToolStarted):
            record = ToolRecord(event)
            self.tools.append(record)
            self._running[event.call.id] = record
            self.region.end_text()
            self.region.status(_running_line(event), ticking=True)
        elif isinstance(event, ToolFinished):
            self._tool_finished(event)
        elif isinstance(event, (SubagentStarted, SubagentProgress, SubagentFinished)):
            self._child(event)
        elif isinstance(event, UsageReported):
            self._usage(event)
        elif isinstance(event, Notice):  # a hook's output, a path: the repository's text
            self.region.print(Text(f"  {shown_lines(event.text)}", style="dim"))
        elif isinstance(event, (PlanUpdated, PlanProposed)):
            self._plan(event)
        elif isinstance(event, DiagnosticsFound) and (event.errors or event.notes):
            self.region.print(diagnostics_renderable(event))  # right after its edit's diff
        elif isinstance(event, Retrying):
            self.region.print(
                Text(f"  retrying in {event.delay:.1f}s ({one_line(event.reason)})", style="dim")
            )
        elif isinstance(event, ErrorEvent):
            self.region.print(Text(f"error: {shown_lines(event.message)}", style="bold red"))
        elif isinstance(event, ModelSwitched):
            from v4code.routing import switch_line

            self.region.print(Text(f"  ⇄ {shown_lines(switch_line(event))}", style="yellow"))
        elif isinstance(event, TurnFinished):
            self.status = event.status
            self.region.status(None)
            self.interrupted_tools()
            self.region.print(
                summary_line(
                    self.usage,
                    None if self.unpriced_model else self.cost,
                    self.clock() - self._t0,
                    event.status,
                    event.reason,
                    self.unpriced_model,
                    self.estimated,
                )
            )
            self.region.close()

    def _usage(self, event: UsageReported) -> None:
        """One response's tokens and cost join the turn's (an estimate marks the summary ≈)."""
        self.usage = self.usage + event.usage
        self.cost = round(self.cost + event.cost, 6)
        self.estimated = self.estimated or event.estimated
        if not event.priced:
            self.unpriced_model = event.model or "this model"

    def _plan(self, event: PlanUpdated | PlanProposed) -> None:
        """The todo list each time it changes; a proposed plan before its question."""
        if isinstance(event, PlanUpdated):
            self.region.print(todo_renderable(event.items))
        else:
            self.region.print(plan_renderable(event))

    def interrupted_tools(self) -> None:
        """Calls a turn ended while they ran keep their line in the chat, marked so."""
        for record in self._running.values():
            line = tool_line(record.started)
            line.append("  interrupted", style="yellow")
            self.region.print(line)
        self._running.clear()

    def pause(self) -> None:
        """Before anyone prompts: finish what is streaming and drop the live part."""
        self._close_thinking()
        self.region.pause()

    def resume(self) -> None:
        """After a prompt: show the running tool again (it runs once the person said yes)."""
        if self._children:
            self.region.status(children_renderable(self._children.values()), ticking=True)
        elif self._running:
            record = list(self._running.values())[-1]
            self.region.status(_running_line(record.started), ticking=True)

    def close(self) -> None:
        self._close_thinking()
        self.region.close()

    def _reasoning(self, text: str) -> None:
        if not self._thinking:
            self._thinking_since = self.clock()
            self._thinking_size = 0
        self._thinking.append(text)
        self._thinking_size += len(text)
        if self.show_thinking:
            self.region.write(text, thinking_text)
        tokens = max(1, round(self._thinking_size / 4))
        self.region.status(thinking_line(tokens, 0.0, done=False))

    def _close_thinking(self) -> None:
        if not self._thinking:
            return
        text = "".join(self._thinking)
        self._thinking = []
        self.reasoning.append(text)
        self.region.status(None)
        self.region.print(
            thinking_line(estimate_tokens(text), self.clock() - self._thinking_since, done=True)
        )

    def _tool_finished(self, event: ToolFinished) -> None:
        record = self._running.pop(event.call.id, None)
        if record is None:
            record = ToolRecord(ToolStarted(event.call, _arguments(event.call), event.summary))
            self.tools.append(record)
        record.finished = event
        self.region.status(None)
        shown: list[RenderableType] = [tool_line(record.started, event)]
        diff = "".join(str(f.get("diff", "")) for f in _files(event))
        if diff and diff not in self.shown_diffs:  # not twice after an approval
            shown.append(diff_renderable(diff))
        self.region.print(*shown)

    def _child(self, event: SubagentStarted | SubagentProgress | SubagentFinished) -> None:
        """Each running child agent as one live line (what it does, its cost); a finished
        one leaves a line with its outcome, and its tokens and cost join the turn's."""
        if isinstance(event, SubagentStarted):
            self._children[event.child] = SubagentProgress(event.child, event.name, "starting…")
        elif isinstance(event, SubagentProgress):
            self._children[event.child] = event
        else:
            self._children.pop(event.child, None)
            self.usage = self.usage + event.usage
            self.cost = round(self.cost + event.cost, 6)
            if not event.priced:
                self.unpriced_model = event.model
            from v4code.ui.headless import subagent_line

            self.region.print(Text(f"  {subagent_line(event)}", style="dim"))
        live = children_renderable(self._children.values()) if self._children else None
        self.region.status(live, ticking=live is not None)


def children_renderable(children: Iterable[SubagentProgress]) -> RenderableType:
    """One spinner line per running child: `agent task · read a.py · $0.0012`."""
    from rich.console import Group

    return Group(
        *(
            _spinner(
                f"agent {one_line(c.name)} · {one_line(c.doing)[:80]} · {format_cost(c.cost)}",
                "cyan",
            )
            for c in children
        )
    )


def _running_line(event: ToolStarted) -> RenderableType:
    return _spinner(describe_call(event), "cyan")


def _spinner(label: str, style: str) -> RenderableType:
    from rich.spinner import Spinner

    return Spinner("dots", Text(label, style=style), style=style)


TEXT_ARGS = ("old_string", "new_string", "content", "edits")
"""Arguments that carry a file's text: shown as blocks of their own, lines kept, not squeezed
into the one-line argument summary (an edit's `new_string` is what the call wrote)."""


def _text_args(args: dict[str, Any], *, cap: bool) -> list[RenderableType]:
    out: list[RenderableType] = []
    for key in TEXT_ARGS:
        if key not in args:
            continue
        value = args[key]
        body = (
            value
            if isinstance(value, str)
            else json.dumps(jsonable(value), ensure_ascii=False, indent=2)
        )
        if cap and len(body) > 4000:
            body = body[:4000] + f"\n… {len(body) - 4000:,} more characters"
        out.append(Text(f"   {key}:", style="dim"))
        out.append(Text(shown_lines(textwrap.indent(body, "     ")), style="dim"))
    return out


def details_renderables(tools: list[ToolRecord], which: int | None = None) -> list[RenderableType]:
    """`/details`: each tool call of the last turn with its arguments and its full result."""
    if not tools:
        return [Text("No tool calls in the last turn.", style="dim")]
    chosen = list(enumerate(tools, 1))
    if which is not None:
        chosen = [(i, t) for i, t in chosen if i == which]
        if not chosen:
            return [Text(f"There is no tool call {which}; the last turn had {len(tools)}.")]
    out: list[RenderableType] = []
    for i, record in chosen:
        head = Text(f"{i}. ")
        head.append_text(tool_line(record.started, record.finished))
        out.append(head)
        args = record.started.args or _arguments(record.started.call) or {}
        shown = {k: v for k, v in args.items() if k not in TEXT_ARGS}
        if shown:
            shown_args = one_line(
                json.dumps(jsonable(shown), ensure_ascii=False)[:500]
            )  # U+009B too
            out.append(Text("   " + shown_args, style="dim"))
        out += _text_args(args, cap=which is None)
        if record.finished is not None:
            body = record.finished.result.text
            if len(body) > 8000 and which is None:
                body = body[:8000] + f"\n… {len(body) - 8000:,} more characters (/details {i})"
            out.append(Text(shown_lines(body), style="dim"))
    return out
