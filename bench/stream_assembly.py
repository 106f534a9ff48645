"""CPU time of assembling a huge streamed tool-call argument (10 MB by default).

The SSE bytes are built in memory and read back through the stdlib transport's event parser
and the backend's chunk assembly (leak filters, tool-call pieces), exactly as a response from
the network would be; no server, so the figure is v4code's own. Target: under 1 s for 10 MB.
Run by hand: `python bench/stream_assembly.py [--mb 10] [--piece 16]`.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from typing import Any

from v4code.backends.openai_compat import OpenAICompatBackend, _Stream
from v4code.backends.transports import _SSE, _Watch
from v4code.events import ToolCallReady


def sse_bytes(arguments: str, piece: int) -> bytes:
    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {"id": "b", "model": "m", "choices": [{"index": 0, "delta": delta}]}
        if finish:
            chunk["choices"][0]["finish_reason"] = finish
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event({"role": "assistant", "content": "Writing the file. "})]
    parts.append(
        event({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "write_file"}}]})
    )
    for start in range(0, len(arguments), piece):
        text = arguments[start : start + piece]
        parts.append(event({"tool_calls": [{"index": 0, "function": {"arguments": text}}]}))
    parts.append(event({}, "tool_calls"))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10.0, help="argument size in MB")
    parser.add_argument("--piece", type=int, default=16, help="characters per streamed piece")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    content = ("x = 1  # a line of code <with> brackets\n" * (size // 40 + 1))[:size]
    arguments = json.dumps({"path": "big.py", "content": content})
    wire = sse_bytes(arguments, args.piece)
    backend = OpenAICompatBackend(base_url="http://127.0.0.1:1", api_key="k")
    events = 0

    start_cpu, start_wall = time.process_time(), time.perf_counter()
    state = _Stream()
    for chunk in _SSE(io.BytesIO(wire), _Watch(None, None)):  # type: ignore[arg-type]
        for _ in backend._chunk(chunk, state):
            events += 1
    ready = [e for e in backend._finish(state) if isinstance(e, ToolCallReady)]
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall

    assert len(ready) == 1 and ready[0].call.arguments == arguments, "assembly lost bytes"
    pieces = -(-len(arguments) // args.piece)
    print(f"arguments: {len(arguments) / 1e6:.1f} MB in {pieces:,} pieces of {args.piece} chars")
    print(f"v4code CPU: {cpu:.2f} s (wall {wall:.2f} s; target < 1 s)")


if __name__ == "__main__":
    main()
