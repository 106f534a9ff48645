"""Cache friendliness: share of prompt tokens the server counts as cache hits over a session.

The fake server computes hits from the real byte prefix each request shares with earlier ones
(as DeepSeek's prefix cache does), so anything v4code re-renders or re-orders shows up here.
Real tools run on this repository (read_file, grep, list_files). Run by hand:
`python bench/cache_friendliness.py [--steps 30]`. Target >= 95 %.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import _common
from fake_api import FakeDeepSeek, text, tool_call
from fake_api.wire import canonical

from v4code.app import open_session
from v4code.config import Settings
from v4code.events import UsageReported
from v4code.protocols import Approval, ApprovalRequest


class Allow:
    def decide(self, request: ApprovalRequest) -> Approval:
        return Approval(True)


def script(steps: int) -> list[dict]:
    files = sorted(
        p.relative_to(_common.ROOT).as_posix() for p in (_common.ROOT / "v4code").rglob("*.py")
    )
    calls = []
    for i in range(steps - 1):
        kind = i % 3
        if kind == 0:
            calls.append(
                tool_call(
                    "read_file",
                    reasoning=f"Reading file {i}.",
                    path=files[i % len(files)],
                    limit=80,
                )
            )
        elif kind == 1:
            calls.append(
                tool_call("grep", reasoning="Searching.", pattern=f"def \\w+{i % 7}", path="v4code")
            )
        else:
            calls.append(
                tool_call("list_files", reasoning="Listing.", path="v4code", pattern="*.py")
            )
    return [*calls, text("Done reading.")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeDeepSeek(script(args.steps)) as server:
        os.environ["V4CODE_HOME"] = str(Path(tmp) / "home")
        settings = Settings(base_url=server.base_url, api_key="test", permission_mode="read-only")
        session = open_session(settings, _common.ROOT, Allow())
        usage = [
            e
            for e in session.agent.submit("Study this repository.")
            if isinstance(e, UsageReported)
        ]
        problems = server.problems()
        bodies = [r.body for r in server.chat_requests]
    total = usage[-1].total_usage
    # What no client could get from the cache: the first prompt and each new tool result.
    unavoidable = usage[0].usage.prompt_tokens
    for earlier, later in zip(bodies, bodies[1:], strict=False):
        new = later["messages"][len(earlier["messages"]) + 1 :]
        unavoidable += sum(len(canonical(m)) for m in new) // 4
    best = 1 - unavoidable / total.prompt_tokens
    print(f"requests: {len(usage)}  problems: {len(problems)}")
    print(
        f"prompt tokens: {total.prompt_tokens:,}  cache hits: {total.cache_hit_tokens:,}  misses: {total.cache_miss_tokens:,}"
    )
    print(f"cache-hit share: {total.cache_hit_share:.1%}   (target >= 95%)")
    print(f"best possible for this session: {best:.1%} (first prompt + each new tool result)")
    print(f"v4code gets {total.cache_hit_share / best:.1%} of the hits any client could get")
    first = usage[0].usage
    print(
        f"first request: {first.prompt_tokens:,} tokens, all misses; later requests miss only their new tail"
    )


if __name__ == "__main__":
    main()
