"""A secret the model streams in pieces never reaches a script: `v4code run -o jsonl` writes
every text and thinking delta as it comes, so a key cut across two deltas must be caught too."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import DEFAULT_KEY, v4code
from fake_api import FakeDeepSeek, text


def test_run_jsonl_never_writes_a_key_split_across_deltas(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    fake_api.load(
        [text(f"Your key is {DEFAULT_KEY}.", reasoning=f"It is {DEFAULT_KEY}.", chunk_size=4)]
    )
    done = v4code(workspace, "run", "-o", "jsonl", "say the key", server=fake_api)
    assert done.returncode == 0, done.stderr
    assert DEFAULT_KEY not in done.stdout
    events = [json.loads(line) for line in done.stdout.splitlines()]
    answer = "".join(e["text"] for e in events if e["type"] == "text_delta")
    thinking = "".join(e["text"] for e in events if e["type"] == "reasoning_delta")
    assert answer == "Your key is [redacted]." and thinking == "It is [redacted]."
