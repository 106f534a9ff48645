"""Chat latency in a real terminal: `v4code` in a pseudo-terminal against the fake server.

Run by hand: `python bench/chat_latency.py [--turns 10]`.

A TCP relay between v4code and the fake server timestamps the moment the server's bytes carrying
a marker word leave for v4code; a reader on the pty's master side timestamps the moment the
marker reaches the screen. Both clocks are this process's, so the difference is v4code's part:
SSE parsing, the agent, the renderer and the write to the terminal.

1. Enter -> first character: for each turn, Enter pressed -> marker on screen (includes the
   server's own time to first byte), and server sent -> on screen (target < 50 ms).
2. A 2,000-token Markdown answer streamed at about 250 tokens/s: the longest gap between two
   screen writes while it streams (a stall shows as a long gap), the lag between the server's
   last bytes and the last words on screen, and the renderer's frames per second measured
   in-process on the same answer (LiveRegion on a terminal console).
"""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pty
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import _common  # noqa: F401  (puts tests/ on sys.path for fake_api)
from fake_api import FakeDeepSeek, text

MARK = b"Zebra"
END = b"Omega"
DONE = b"[DONE]"  # the last bytes of a stream


class Relay:
    """127.0.0.1 TCP relay that records when server bytes containing a marker pass through."""

    def __init__(self, upstream_port: int, markers: tuple[bytes, ...]) -> None:
        self.upstream = upstream_port
        self.markers = markers
        self.seen: dict[bytes, list[float]] = {m: [] for m in markers}
        self.requests: list[float] = []  # when each request's first bytes arrived
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        tail = b""
        try:
            while data := src.recv(65536):
                if not watch and b"POST " in data[:5]:
                    self.requests.append(time.perf_counter())
                if watch:
                    window = tail + data
                    for m in self.markers:
                        if m in window and m not in tail:
                            self.seen[m].append(time.perf_counter())
                    tail = window[-16:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Terminal:
    """`v4code` on a pty; a reader thread timestamps the output."""

    def __init__(self, cwd: Path, env: dict[str, str], cols: int = 100, rows: int = 40) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "v4code"],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.out = bytearray()
        self.writes: list[tuple[float, int]] = []  # (time, length of output so far)
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            if b"\x1b[6n" in data:  # answer cursor-position requests as a terminal does
                os.write(self.master, b"\x1b[1;1R")
            with self.lock:
                self.out += data
                self.writes.append((now, len(self.out)))

    def type(self, keys: bytes) -> float:
        sent = time.perf_counter()
        os.write(self.master, keys)
        return sent

    def wait_for(self, marker: bytes, start: int, timeout: float = 30) -> tuple[float, int]:
        """(time, offset) of the first output write after `start` that completes `marker`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                at = self.out.find(marker, start)
                if at >= 0:
                    end = at + len(marker)
                    for when, size in self.writes:
                        if size >= end:
                            return when, end
            time.sleep(0.0005)
        raise TimeoutError(f"{marker!r} never appeared")

    def size(self) -> int:
        with self.lock:
            return len(self.out)

    def gaps(self, start: float, end: float) -> list[float]:
        with self.lock:
            times = [t for t, _ in self.writes if start <= t <= end]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def close(self) -> None:
        os.write(self.master, b"\x04")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.master)


def long_answer(tokens: int = 2000) -> str:
    parts, i = [], 0
    while sum(len(p) for p in parts) < tokens * 4:
        parts.append(
            f"## Part {i}\n\nSome **bold** words, `code` and a [link](https://example.com); "
            f"enough text to wrap across the width of the terminal once or twice.\n\n"
            f"- item one\n- item two\n\n```python\nx = {i}\ny = x * 2\n```"
        )
        i += 1
    return "\n\n".join(parts) + "\n\nOmega."


def renderer_fps(answer: str, rate_tokens: float = 250.0) -> tuple[float, float, int, float]:
    """Frames per second of LiveRegion on a terminal console, fed at `rate_tokens` a second."""
    from rich.console import Console

    from v4code.ui.render import answer as markdown
    from v4code.ui.stream import LiveRegion

    console = Console(
        file=io.StringIO(), width=100, height=40, force_terminal=True, color_system="truecolor"
    )
    region = LiveRegion(console, fps=20)
    pieces = [answer[i : i + 4] for i in range(0, len(answer), 4)]  # ~ one token each
    worst = 0.0
    start = time.perf_counter()
    for n, piece in enumerate(pieces):
        t = time.perf_counter()
        region.write(piece, markdown)
        worst = max(worst, time.perf_counter() - t)
        delay = start + (n + 1) / rate_tokens - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    region.close()
    elapsed = time.perf_counter() - start
    return region.frames / elapsed, worst, len(pieces), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    answer = long_answer()
    steps = [
        {**text(f"{MARK.decode()} stripes are unique, and this answer is short."), "chunk_size": 64}
        for _ in range(args.turns)
    ] + [{**text(answer), "chunk_size": 4, "delay": 0.004}]  # ~250 tokens/s
    with tempfile.TemporaryDirectory() as tmp, FakeDeepSeek(steps) as server:
        relay = Relay(server.port, (MARK, DONE))
        work = Path(tmp) / "project"
        work.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        env = {
            "PATH": os.environ.get("PATH", ""), "TERM": "xterm-256color",
            "V4CODE_HOME": str(Path(tmp) / "home"), "DEEPSEEK_API_KEY": "sk-bench-key",
            "DEEPSEEK_BASE_URL": f"http://127.0.0.1:{relay.port}", "V4CODE_THINKING": "false",
        }  # fmt: skip
        term = Terminal(work, env)
        term.wait_for("›".encode(), 0)
        time.sleep(3.0)  # the person reads the banner and types; the SDK warms up meanwhile
        total, ours, asked = [], [], []
        for turn in range(args.turns):
            start = term.size()
            pressed = term.type(b"hello\r")
            shown, _ = term.wait_for(MARK, start)
            sent = relay.seen[MARK][turn]
            total.append(shown - pressed)
            asked.append(relay.requests[-1] - pressed)
            ours.append(shown - sent)
            term.wait_for(b"cached)", start)
            time.sleep(0.3)
        start = term.size()
        began = term.type(b"long\r")
        shown_end, _ = term.wait_for(END, start, timeout=120)
        sent_end = relay.seen[DONE][-1]
        gaps = term.gaps(began + 0.2, sent_end)
        term.close()
    print(f"Enter -> first answer character on screen: median {statistics.median(total) * 1e3:.1f} ms"
          f" (max {max(total) * 1e3:.1f} ms, {len(total)} turns, server's time to first byte included)")  # fmt: skip
    print("  per turn (ms):", " ".join(f"{t * 1e3:.0f}" for t in total))
    print("  Enter -> request at the server (ms):", " ".join(f"{t * 1e3:.0f}" for t in asked))
    print(f"server sent it -> on screen (v4code's part): median {statistics.median(ours) * 1e3:.1f} ms"
          f", max {max(ours) * 1e3:.1f} ms   (target < 50 ms)")  # fmt: skip
    print(f"2,000-token answer at ~250 tokens/s: longest gap between screen writes "
          f"{max(gaps) * 1e3:.0f} ms, median {statistics.median(gaps) * 1e3:.0f} ms; "
          f"last words on screen {(shown_end - sent_end) * 1e3:.1f} ms after the server sent them")  # fmt: skip
    fps, worst, n, elapsed = renderer_fps(answer)
    print(f"renderer in-process, same answer in {n} deltas over {elapsed:.1f} s: {fps:.1f} frames/s"
          f", longest write() {worst * 1e3:.2f} ms")  # fmt: skip
    fps, worst, n, elapsed = renderer_fps(answer, rate_tokens=1e9)
    print(f"renderer flat out (no pacing): {n} deltas in {elapsed:.2f} s ({n / elapsed:,.0f}/s), "
          f"{fps:.1f} frames/s, longest write() {worst * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
