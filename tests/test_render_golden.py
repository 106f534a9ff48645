"""Rendering snapshots: a diff, tool lines and the turn summary, as a person sees them.

Set V4CODE_UPDATE_GOLDEN=1 to rewrite the files after a deliberate change, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from v4code.events import ToolFinished, ToolStarted
from v4code.types import ToolCall, ToolResult, Usage
from v4code.ui.interactive_render import diff_renderable, summary_line, tool_line

GOLDEN = Path(__file__).parent / "golden" / "render"


def render(*items: object) -> str:
    console = Console(record=True, width=80, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115
    for item in items:
        console.print(item)
    console.file.close()
    return console.export_text()


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("V4CODE_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with V4CODE_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text()


def started(name: str, **args: object) -> ToolStarted:
    return ToolStarted(ToolCall("c1", name, "{}"), dict(args))


def finished(
    name: str, text: str = "", data: object = None, is_error: bool = False, denied: bool = False
) -> ToolFinished:
    return ToolFinished(ToolCall("c1", name, "{}"), ToolResult("c1", text, data, is_error), denied)


def test_diff() -> None:
    diff = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
    check("diff.txt", render(diff_renderable(diff)))


def test_tool_lines() -> None:
    lines = [
        tool_line(
            started("read_file", path="src/app.py"),
            finished("read_file", data={"start": 1, "end": 120}),
        ),
        tool_line(started("grep", pattern="TODO"), finished("grep", data={"matches": 14})),
        tool_line(
            started("run_command", command="pytest -q"),
            finished("run_command", "exit code: 1", {"exit_code": 1}),
        ),
        tool_line(
            started("edit_file", path="a.py"),
            finished("edit_file", "Denied", is_error=True, denied=True),
        ),
        tool_line(
            started("read_file", path="x.bin"),
            finished("read_file", "x.bin is a binary file", is_error=True),
        ),
    ]
    check("tool_lines.txt", render(*lines))


def test_summary_line() -> None:
    usage = Usage(
        prompt_tokens=12_345,
        completion_tokens=678,
        cache_hit_tokens=11_000,
        cache_miss_tokens=1_345,
    )
    check(
        "summary.txt",
        render(
            summary_line(usage, 0.0123, 4.2),
            summary_line(usage, 0.5, 61.0, "limit", "step limit reached"),
        ),
    )
