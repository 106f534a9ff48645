"""Harness overhead: CPU time per step spent in v4code during a long scripted session.

The fake DeepSeek server runs in a child process, so this process's CPU time is v4code's own
(request building, the openai SDK, stream parsing, events, the session log) plus a trivial
in-process tool. Run by hand: `python bench/harness_overhead.py [--steps 200]`. Target < 5 ms.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import start_subprocess_server, text, tool_call

from v4code.app import open_session
from v4code.config import Settings
from v4code.protocols import Approval, ApprovalRequest
from v4code.toolkit import ToolContext, ToolRegistry, build_tool


def noop(ctx: ToolContext, n: int) -> str:
    """Return the number.

    Args:
        n: Any number.
    """
    return f"ok {n}"


class Allow:
    def decide(self, request: ApprovalRequest) -> Approval:
        return Approval(True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ["V4CODE_HOME"] = str(tmp_path / "home")
        steps = [tool_call("noop", reasoning="next", n=i) for i in range(args.steps - 1)]
        steps.append(text("done"))
        server = start_subprocess_server(steps, tmp_path / "server", chunk_size=64)
        try:
            settings = Settings(
                base_url=server.base_url,
                api_key="test",
                permission_mode="full-auto",
                max_steps=args.steps + 1,
                repeat_limit=10_000,
            )
            registry = ToolRegistry([build_tool(noop, "read")])
            session = open_session(
                settings, tmp_path, Allow(), registry=registry, system_prompt="bench"
            )
            import_start = time.process_time()
            import openai  # noqa: F401  (one-time start-up cost, reported apart from the steps)

            import_cpu = time.process_time() - import_start
            cpu0, wall0 = time.process_time(), time.perf_counter()
            events = 0
            for _ in session.agent.submit("go"):
                events += 1
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
        finally:
            requests, violations = server.stop()
    n = len([r for r in requests if r["method"] == "POST"])
    print(f"steps: {n}  events: {events}  violations: {len(violations)}")
    print(
        f"v4code CPU per step: {cpu / n * 1000:.2f} ms   (wall per step incl. server: {wall / n * 1000:.2f} ms)"
    )
    print(f"one-time `import openai`, not counted above: {import_cpu * 1000:.0f} ms CPU")
    print("target: < 5 ms CPU per step")


if __name__ == "__main__":
    main()
