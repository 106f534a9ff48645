"""A scripted, DeepSeek-compatible HTTP server for tests (stdlib only).

    from fake_api import FakeDeepSeek, text, tool_call

    with FakeDeepSeek([tool_call("read_file", path="a.py"), text("done")]) as server:
        client = OpenAI(api_key="test", base_url=server.base_url, max_retries=0)
        ...
        assert not server.problems()

Another API's shape can answer from the same steps (``OtherApi``, given as ``apis=``);
bench/responses_api.py adds the Responses API so, for the benchmarks' peers.

Under pytest use the ``fake_api`` fixture (``fake_api.pytest_plugin``), which fails the test on
any rule violation or leftover step.
"""

from __future__ import annotations

from fake_api.rules import (
    DEFAULT_MODELS,
    REASONING_MISSING,
    TOOL_NOT_RESPONSE,
    TOOLS_UNANSWERED,
    thinking_enabled,
)
from fake_api.script import (
    cut,
    dsml_leak,
    dsml_markup,
    fault,
    garbage,
    raw_args,
    step,
    text,
    tool_call,
    tool_calls,
    v31_leak,
    v31_markup,
)
from fake_api.server import FakeDeepSeek, RecordedRequest
from fake_api.standalone import SubprocessServer, start_subprocess_server

__all__ = [
    "DEFAULT_MODELS",
    "REASONING_MISSING",
    "TOOLS_UNANSWERED",
    "TOOL_NOT_RESPONSE",
    "FakeDeepSeek",
    "RecordedRequest",
    "SubprocessServer",
    "cut",
    "dsml_leak",
    "dsml_markup",
    "fault",
    "garbage",
    "raw_args",
    "start_subprocess_server",
    "step",
    "text",
    "thinking_enabled",
    "tool_call",
    "tool_calls",
    "v31_leak",
    "v31_markup",
]
