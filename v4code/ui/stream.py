"""The live part of the chat's output: streamed Markdown and one status line, throttled.

Finished Markdown blocks are printed once and never redrawn; only the open block (the one the
model is still writing) is re-rendered, at most `fps` times a second, in a rich Live region no
taller than the terminal. Lines of a long open block that scroll past that height are printed
for good, so nothing is ever drawn twice into the scrollback and a long answer costs about what
its last block costs. Frames are drawn on a helper thread, so the stream never waits for a slow
frame; the first frame of a stream is drawn at once (Enter-to-first-character latency).

On a console that is not a terminal (a file, a test's StringIO) nothing is live: finished blocks
are printed as they complete and the rest when the stream ends.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment

if TYPE_CHECKING:
    from rich.live import Live

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
LIST_ITEM = re.compile(r"^([-*+]|\d{1,9}[.)])( |$)")
RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
# Rendered before a later block (and dropped) so the block gets the spacing it has in the whole
# answer: an invisible one-line paragraph, or a rule after a rule (rich adds no gap after one).
SENTINEL = "\u2063"

Lines = list[list[Segment]]


class BlockSplitter:
    """Finds where finished Markdown blocks end, looking at each line once.

    A block ends at a blank line outside a code fence that is followed by a line starting in
    the first column (so an indented continuation of a list item stays with its item), unless
    that line is the next item of a list (a list with blank lines between its items is one list).
    """

    def __init__(self) -> None:
        self.pos = 0
        self.fence: str | None = None
        self.blank = False
        self.in_list = False
        self.boundary = 0

    def scan(self, text: str) -> int:
        """Scan the complete lines not yet seen; return the offset the last finished block ends."""
        while True:
            end = text.find("\n", self.pos)
            if end < 0:
                return self.boundary
            start, self.pos = self.pos, end + 1
            self._line(text[start:end], start)

    def _line(self, line: str, start: int) -> None:
        stripped = line.strip()
        if self.fence is not None:
            indent = len(line) - len(line.lstrip(" "))
            marker = self.fence[0]
            if indent < 4 and stripped.startswith(self.fence) and not stripped.strip(marker):
                self.fence = None
            return
        if not stripped:
            self.blank = True
            return
        if not line[0].isspace():
            item = bool(LIST_ITEM.match(line))
            if self.blank and not (item and self.in_list):
                self.boundary = start
            self.in_list = item or (self.in_list and not self.blank)
        self.blank = False
        match = FENCE.match(line)
        if match:
            self.fence = match.group(1)


def _ends_with_rule(chunk: str) -> bool:
    lines = [line for line in chunk.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not RULE.match(lines[-1]):
        return False
    # `text` directly above `---` makes a heading, not a rule
    return len(lines) == 1 or not lines[-2].strip() or lines[-1].lstrip()[0] != "-"


class SegmentLines:
    """Lines rendered earlier, as a renderable."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


class TextStream:
    """One growing text (an answer, or thinking shown in full) and how much of it is final."""

    def __init__(self, render: Callable[[str], RenderableType]) -> None:
        self.render = render
        self.text = ""
        self.done = 0  # characters whose lines are printed for good
        self.printed = 0  # lines of the open block already printed for good
        self.before = ""  # what stands in for the finished blocks when rendering the next one
        self.splitter = BlockSplitter()

    def lines(self, console: Console, source: str) -> Lines:
        """`source` rendered as it looks at this point of the whole text."""
        if not self.before:
            return console.render_lines(self.render(source), console.options, pad=False)
        skip = len(console.render_lines(self.render(self.before), console.options, pad=False))
        source = f"{self.before}\n\n{source}"
        return console.render_lines(self.render(source), console.options, pad=False)[skip:]

    def settle(self, console: Console, final: bool) -> Lines:
        """Lines that have become final: finished blocks (all of it when `final`)."""
        cut = len(self.text) if final else self.splitter.scan(self.text)
        if cut <= self.done:
            return []
        chunk = self.text[self.done : cut]
        lines = self.lines(console, chunk) if chunk.strip() else []
        out = lines[self.printed :]
        self.done, self.printed = cut, 0
        if lines:
            self.before = "---" if _ends_with_rule(chunk) else SENTINEL
        return out

    def open_lines(self, console: Console, window: int) -> tuple[Lines, Lines]:
        """(lines to print for good, lines to show live) of the open block."""
        tail = self.text[self.done :]
        if not tail.strip():
            return [], []
        lines = self.lines(console, tail)
        overflow = len(lines) - window
        if overflow > self.printed:
            gone, self.printed = lines[self.printed : overflow], overflow
        else:
            gone = []
        return gone, lines[self.printed :]


class LiveRegion:
    """Prints for good above, keeps a live part (open text, one status line) at the bottom."""

    def __init__(self, console: Console, *, fps: float = 20.0, live: bool | None = None) -> None:
        self.console = console
        self.live = (console.is_terminal and not console.is_dumb_terminal) if live is None else live
        self.interval = 1.0 / fps
        self.frames = 0
        self._lock = threading.RLock()  # drawing and everything that changes what is drawn
        self._in_lock = threading.Lock()  # text arriving while a frame is drawn
        self._incoming: list[str] = []
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._rich_live: Live | None = None
        self._stream: TextStream | None = None
        self._status: RenderableType | None = None
        self._ticking = False
        self._fresh = True  # nothing of the current stream or status drawn yet
        self._last_draw = 0.0

    # --- called by the chat (main thread) ------------------------------------------------

    def write(self, text: str, render: Callable[[str], RenderableType]) -> None:
        """Append streamed text; `render` turns source text into a renderable (e.g. Markdown)."""
        if self._stream is None or self._stream.render is not render:
            with self._lock:
                self._settle_stream()
                self._stream = TextStream(render)
                self._fresh = True
        with self._in_lock:
            self._incoming.append(text)
        self._changed()

    def status(self, renderable: RenderableType | None, *, ticking: bool = False) -> None:
        """Show one line below the text (thinking…, a running tool); None removes it."""
        # No lock: a frame being drawn must not hold up the stream; the next frame shows it.
        if self._status is None and renderable is not None:
            self._fresh = True
        self._status = renderable
        self._ticking = ticking and renderable is not None
        self._changed()

    def print(self, *renderables: RenderableType) -> None:
        """Print for good, after everything streamed so far."""
        with self._lock:
            self._settle_stream()
            self._frame(self._status_parts(), renderables)

    def refresh(self) -> None:
        """Draw a frame now instead of at the next tick."""
        with self._lock:
            self._draw(final=False)

    def end_text(self) -> None:
        """The current stream is complete: print the rest of it for good."""
        with self._lock:
            self._settle_stream()

    def pause(self) -> None:
        """Finish the text, drop the status and the live region (before a prompt)."""
        with self._lock:
            self._settle_stream()
            self._status = None
            self._ticking = False
            self._stop_live()

    def close(self) -> None:
        self.pause()
        self._closed = True
        self._wake.set()

    # --- drawing --------------------------------------------------------------------------

    def _changed(self) -> None:
        if not self.live:  # nothing to redraw: finished blocks are printed as they complete
            with self._lock:
                self._draw(final=False)
            return
        if self._fresh and self._lock.acquire(blocking=False):
            try:  # the first characters go on screen now, not at the next tick
                self._draw(final=False)
            finally:
                self._lock.release()
            return
        self._ensure_thread()
        self._wake.set()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="v4code-render", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(timeout=0.1 if self._ticking else None)
            if self._closed:
                return
            delay = self._last_draw + self.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._wake.clear()
            with self._lock:
                if not self._closed:
                    self._draw(final=False)

    def _take_incoming(self) -> None:
        with self._in_lock:
            pieces, self._incoming = self._incoming, []
        if pieces and self._stream is not None:
            self._stream.text += "".join(pieces)

    def _settle_stream(self) -> None:
        self._take_incoming()
        if self._stream is None:
            return
        lines = self._stream.settle(self.console, final=True)
        self._stream = None
        # the live part shrinks to the status in the same write
        self._frame(self._status_parts(), [SegmentLines(lines)] if lines else [])

    def _window(self) -> int:
        return max(3, self.console.size.height - 4)

    def _draw(self, final: bool) -> None:
        self._take_incoming()
        self._last_draw = time.monotonic()
        self._fresh = False
        done: Lines = []
        shown: Lines = []
        if self._stream is not None:
            done = self._stream.settle(self.console, final)
            if self.live:
                gone, shown = self._stream.open_lines(self.console, self._window())
                done += gone
        parts: list[RenderableType] = []
        if shown:
            parts.append(SegmentLines(shown))
        if self.live and self._status is not None:
            parts.append(self._status)
        if not parts and self._rich_live is None:
            self._out(done)
            return
        if self._rich_live is None:
            from rich.live import Live

            self._rich_live = Live(
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._rich_live.start()
        self._frame(parts, [SegmentLines(done)] if done else [])
        self.frames += 1

    def _status_parts(self) -> list[RenderableType]:
        return [self._status] if self._status is not None else []

    def _frame(self, live: list[RenderableType], above: Sequence[RenderableType]) -> None:
        """Print `above` for good and make `live` the live part, in one write.

        rich's `Live.update(refresh=False)` keeps drawing the previous frame below whatever is
        printed next, so a print right after it would show the old open text again under the
        new lines until the next refresh (and leave it on screen if nothing refreshes soon).
        Refreshing first, inside one buffered write, keeps every frame current.
        """
        with self.console:
            if self._rich_live is not None:
                self._rich_live.update(Group(*live), refresh=True)
            for renderable in above:
                self.console.print(renderable)

    def _out(self, lines: Lines) -> None:
        if lines:
            self.console.print(SegmentLines(lines))

    def _stop_live(self) -> None:
        if self._rich_live is not None:
            self._rich_live.update(Group(), refresh=True)
            self._rich_live.stop()
            self._rich_live = None
