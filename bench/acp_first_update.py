"""ACP's time from the prompt request to the first session update (median ms of several runs).

Run by hand: `python bench/acp_first_update.py [-n 9]` (needs the `acp` extra). The SDK's
client side starts one `v4code acp` process against the local fake server, opens a session
in a git repository, then sends prompts one after another; each round measures from sending
`session/prompt` to the first `session/update` the editor receives (the first thinking
chunk), and the whole prompt to its response. The process start and `session/new` are
timed once, apart (initialize: from the process start) (what an editor pays when it opens the agent panel).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # (also puts tests/ on sys.path)
import acp
from acp import schema
from fake_api import FakeDeepSeek, text


class Editor:
    """Notes when the first update of the current prompt arrives."""

    def __init__(self) -> None:
        self.first: float | None = None

    async def request_permission(self, **_: Any) -> schema.RequestPermissionResponse:
        return schema.RequestPermissionResponse(outcome=schema.DeniedOutcome(outcome="cancelled"))

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        if update.session_update == "available_commands_update":
            return  # sent once after session/new, not an answer to a prompt
        if self.first is None:
            self.first = time.perf_counter()

    def on_connect(self, conn: Any) -> None:
        pass


async def measure(repo: Path, env: dict[str, str], rounds: int) -> dict[str, list[float]]:
    editor = Editor()
    times: dict[str, list[float]] = {
        "first update": [],
        "whole prompt": [],
        "initialize": [],
        "session/new": [],
    }
    began = time.perf_counter()
    args = ("-m", "v4code", "acp", "--permission-mode", "ask")
    async with acp.spawn_agent_process(editor, sys.executable, *args, env=env, cwd=repo) as (
        conn,
        _,
    ):
        await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        opening = time.perf_counter()
        times["initialize"].append((opening - began) * 1000)
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        times["session/new"].append((time.perf_counter() - opening) * 1000)
        for n in range(rounds):
            editor.first = None
            sent = time.perf_counter()
            prompt = [acp.text_block(f"question {n}")]
            await conn.prompt(session_id=session.session_id, prompt=prompt)
            done = time.perf_counter()
            assert editor.first is not None
            times["first update"].append((editor.first - sent) * 1000)
            times["whole prompt"].append((done - sent) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=9, help="prompts (default 9)")
    rounds = parser.parse_args().n
    with tempfile.TemporaryDirectory(prefix="v4code-acp-") as tmp, FakeDeepSeek() as server:
        repo = _common.committed_repo(Path(tmp) / "repo", {"README.md": "# repo\n"})
        server.load([text(f"Answer {n}.", reasoning="Think.") for n in range(rounds)])
        env = os.environ | {
            "DEEPSEEK_API_KEY": "sk-bench-0123456789",
            "DEEPSEEK_BASE_URL": server.base_url,
            "V4CODE_HOME": str(Path(tmp) / "home"),
            "V4CODE_SANDBOX": "false",
        }
        times = asyncio.run(measure(repo, env, rounds))
    for name, values in times.items():
        print(f"{name:>13}: median {statistics.median(values):7.1f} ms  min {min(values):7.1f} ms")


if __name__ == "__main__":
    main()
