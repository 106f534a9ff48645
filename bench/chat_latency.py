"""Chat latency: Enter to the first streamed character, and the stream renderer's frame rate.

Run by hand: `python bench/chat_latency.py`. Against the fake server in this process, the chat
driven through prompt-toolkit pipe input, output to a terminal-like console.
1. Enter -> first character of the answer on screen, next to the server's own time to first
   byte for the same request (timed directly); the difference is v4code's part. Target < 50 ms.
2. A 2,000-token Markdown answer streamed through the renderer: frames drawn per second, and
   the longest the stream waited on the renderer. Target: no visible stall.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401
from fake_api import FakeDeepSeek, text
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from v4code.events import TextDelta, TurnFinished
from v4code.ui.interactive import run_interactive
from v4code.ui.interactive_render import EventPrinter

MARK = "Zebra"


class Screen(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.first_mark: float | None = None

    def write(self, s: str) -> int:
        if self.first_mark is None and MARK in s:
            self.first_mark = time.perf_counter()
        return super().write(s)


def first_character(server: FakeDeepSeek, runs: int) -> tuple[list[float], list[float]]:
    latencies, ttfb = [], []
    for _ in range(runs):
        server.load([text(f"{MARK} stripes are unique.")])
        screen = Screen()
        console = Console(file=screen, width=100, force_terminal=True, color_system="truecolor")
        with create_pipe_input() as pipe:
            sent: list[float] = []

            def type_later(pipe=pipe, sent=sent) -> None:
                time.sleep(0.3)  # the prompt is up
                sent.append(time.perf_counter())
                pipe.send_text("hello\r")
                time.sleep(0.5)
                pipe.send_text("\x04")

            threading.Thread(target=type_later).start()
            run_interactive(
                continue_=False,
                resume=None,
                flags={},
                input=pipe,
                output=DummyOutput(),
                console=console,
            )
        latencies.append(screen.first_mark - sent[0])
        body = server.chat_requests[-1].body
        server.load([text(f"{MARK} stripes are unique.")])
        request = urllib.request.Request(f"{server.base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Authorization": "Bearer k", "Content-Type": "application/json"})  # fmt: skip
        start = time.perf_counter()
        with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
            while MARK.encode() not in response.readline():
                pass
            ttfb.append(time.perf_counter() - start)
            response.read()
    return latencies, ttfb


def frame_rate() -> tuple[float, float, int, float]:
    paragraph = "Some **bold** words, `code`, and a [link](https://example.com). " * 4
    answer = "\n\n".join(
        f"## Part {i}\n\n{paragraph}\n\n- item one\n- item two\n\n```python\nx = {i}\n```"
        for i in range(20)
    )
    answer = answer[: 2000 * 4]
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")
    printer = EventPrinter(console)
    frames = 0
    pieces = [answer[i : i + 12] for i in range(0, len(answer), 12)]
    waits = []
    from rich.live import Live

    original = Live.refresh

    def counted(self, *a, **k):  # count frames actually drawn, by every Live the printer opens
        nonlocal frames
        frames += 1
        return original(self, *a, **k)

    Live.refresh = counted
    start = time.perf_counter()
    for piece in pieces:
        t = time.perf_counter()
        printer.handle(TextDelta(piece))
        waits.append(time.perf_counter() - t)
        time.sleep(0.004)  # about 250 tokens/s, a fast model
    printer.handle(TurnFinished("done"))
    elapsed = time.perf_counter() - start
    Live.refresh = original
    return frames / elapsed, max(waits), len(pieces), elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeDeepSeek() as server:
        os.environ.update({"V4CODE_HOME": str(Path(tmp) / "home"), "DEEPSEEK_API_KEY": "k",
                           "DEEPSEEK_BASE_URL": server.base_url, "V4CODE_THINKING": "false"})  # fmt: skip
        os.chdir(tmp)
        import openai  # noqa: F401  (the chat warms it while the person types)

        latencies, ttfb = first_character(server, 5)
        server.allow_leftover = True
    lat, srv = statistics.median(latencies) * 1000, statistics.median(ttfb) * 1000
    print(f"Enter -> first answer character on screen: {lat:.1f} ms (median of {len(latencies)})")
    print(f"server time to first byte, same request:   {srv:.1f} ms")
    print(f"v4code's part: {lat - srv:.1f} ms   (target < 50 ms)")
    fps, worst, n, elapsed = frame_rate()
    print(f"2,000-token answer in {n} deltas over {elapsed:.1f} s: {fps:.1f} frames/s, "
          f"longest wait on the renderer {worst * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
