"""The chat's rendering: golden snapshots of what a person sees, and the streamed Markdown.

Golden files live in tests/golden/render/chat_*.txt. Run with --update-golden to rewrite
them after a deliberate change, then review the diff.
"""

from __future__ import annotations

import io
import random
import re
import time
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from v4code.assets import tools_dir
from v4code.events import (
    DiagnosticsFound,
    ReasoningDelta,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    UsageReported,
)
from v4code.toolkit import ToolRegistry
from v4code.types import ToolCall, ToolResult, Usage
from v4code.ui.approval import parse_answer
from v4code.ui.completion import ChatCompleter, path_candidates
from v4code.ui.render import (
    TurnView,
    command_header,
    diff_renderable,
    edit_header,
    summary_line,
    thinking_line,
    tool_line,
)
from v4code.ui.stream import BlockSplitter, LiveRegion
from v4code.ui.toolbar import toolbar_text

GOLDEN = Path(__file__).parent / "golden" / "render"


def render(*items: object, width: int = 80) -> str:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    for item in items:
        console.print(item)
    return console.export_text()


def check(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with --update-golden and review it"
    assert text == path.read_text()


def registry() -> ToolRegistry:
    return ToolRegistry.load([tools_dir()])


def call(name: str, **args: object) -> ToolStarted:
    """A call of a built-in tool, described the way the agent describes it."""
    tool = registry().get(name)
    assert tool is not None
    return ToolStarted(ToolCall("c1", name, "{}"), dict(args), tool.summarise(dict(args)))


def done(started: ToolStarted, text: str = "", data: object = None, **flags: bool) -> ToolFinished:
    """Its end, described again with the result's data (as the agent does)."""
    tool = registry().get(started.call.name)
    assert tool is not None and started.args is not None
    result = ToolResult("c1", text, data, flags.get("is_error", False))
    summary = tool.summarise(started.args, data)
    return ToolFinished(started.call, result, flags.get("denied", False), summary)


def line(started: ToolStarted, *finished: object, **flags: bool) -> Text:
    if not finished and not flags:
        return tool_line(started)
    text = str(finished[0]) if finished else ""
    data = finished[1] if len(finished) > 1 else None
    return tool_line(started, done(started, text, data, **flags))


def file_data(path: str, added: int, removed: int, status: str = "modified") -> dict:
    return {"path": path, "additions": added, "deletions": removed, "status": status}


# --- golden snapshots ------------------------------------------------------------------


def test_golden_tool_lines(update_golden: bool) -> None:
    lines = [
        line(call("read_file", path="src/app.py"), "", {"start": 1, "end": 120}),
        line(call("grep", pattern="TODO", path="."), "", {"matches": 14}),
        line(call("grep", pattern="x", path="src"), "", {"matches": 1}),
        line(call("list_files", path="src", pattern=None), "", {"count": 42}),
        line(call("run_command", command="pytest -q"), "", {"exit_code": 1}),
        line(call("run_command", command="sleep 999"), "", {"timed_out": True}),
        line(
            call("apply_edits", edits=[]),
            "", {"files": [file_data("a.py", 3, 1), file_data("b.py", 1, 0)]},
        ),
        line(
            call("write_file", path="new.py"),
            "", {"files": [file_data("new.py", 12, 0, "added")]},
        ),
        line(call("move_file", src="a.py", dst="b.py"), "", {"files": [{}]}),
        line(call("edit_file", path="a.py"), "Denied", denied=True),
        line(call("read_file", path="x.bin"), "x.bin is binary\nmore", is_error=True),
        line(call("read_file", path="slow.py")),  # still running
    ]  # fmt: skip
    check("chat_tool_lines.txt", render(*lines), update_golden)


def test_golden_diff_and_approval_headers(update_golden: bool) -> None:
    diff = (
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n"
        "-    return a - b\n+    return a + b\n"
        "--- /dev/null\n+++ b/src/new.py\n@@ -0,0 +1,2 @@\n+import app\n+print(app.add(1, 2))\n"
    )
    files = (file_data("src/app.py", 1, 1), file_data("src/new.py", 2, 0, "added"))
    check(
        "chat_approval.txt",
        render(
            edit_header(files),
            diff_renderable(diff),
            command_header("pytest -q", "/home/dev/invoices", sandboxed=False),
            command_header("make test", "/home/dev/invoices", sandboxed=True),
        ),
        update_golden,
    )


def test_golden_summary_and_thinking_lines(update_golden: bool) -> None:
    usage = Usage(12_345, 678, cache_hit_tokens=11_000, cache_miss_tokens=1_345)
    thinking = Usage(2_000, 900, 1_500, 500, reasoning_tokens=600)
    check(
        "chat_summary.txt",
        render(
            summary_line(usage, 0.0123, 4.2),
            summary_line(thinking, 0.5, 61.0, "limit", "step limit reached (100 steps)"),
            summary_line(Usage(), 0.0, 2.5, "interrupted", "interrupted by the user"),
            thinking_line(1, 0, done=False),
            thinking_line(312, 0, done=False),
            thinking_line(1_312, 4.25, done=True),
        ),
        update_golden,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def test_golden_whole_turn(update_golden: bool) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)
    view = TurnView(console, clock=Clock())
    edit = call("edit_file", path="a.py")
    diff = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 10\n"
    events = [
        ReasoningDelta("The user wants x "),
        ReasoningDelta("bumped."),
        edit,
        done(edit, "Edited a.py.", {"files": [{**file_data("a.py", 1, 1), "diff": diff}]}),
        *[TextDelta(piece) for piece in ["Done: `x` is ", "now **10**.\n\n- a", "pply\n- check\n"]],
        UsageReported(Usage(5_000, 80, 4_500, 500, 20), 0.0012, Usage(), 0.0012),
        TurnFinished("done", "Done"),
    ]
    for event in events:
        view.handle(event)
    check("chat_turn.txt", out.getvalue(), update_golden)
    assert view.full_reasoning == "The user wants x bumped."
    assert [r.finished is not None for r in view.tools] == [True]


def test_golden_new_errors_under_the_diff(update_golden: bool) -> None:
    """An edit's new errors follow its diff; past ten they are counted; a server's note is
    dimmed; a check that found nothing shows nothing; a file's text stays on its line."""
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)
    view = TurnView(console, clock=Clock())
    edit = call("edit_file", path="calc.py")
    diff = "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-total = sum(xs)\n+total = sum(totl)\n"
    many = tuple(f'calc.py:{n}: "y{n}" is not defined' for n in range(1, 13))
    events = [
        edit,
        done(edit, "Edited calc.py.", {"files": [{**file_data("calc.py", 1, 1), "diff": diff}]}),
        DiagnosticsFound("c1", ('calc.py:1: "totl" is not defined',)),
        DiagnosticsFound("c1"),
        DiagnosticsFound("c1", many, ("the python server did not answer within 3 s",)),
        DiagnosticsFound("c1", ("evil.py:1: \x1b]0;owned\x07 bad\nnext",)),
        TurnFinished("done", "Done"),
    ]
    for event in events:
        view.handle(event)
    check("chat_diagnostics.txt", out.getvalue(), update_golden)


# --- streamed Markdown ------------------------------------------------------------------

DOC = """# Title

Intro paragraph with **bold** and `code`, long enough to wrap across more than one line of
the eighty columns the test console has, so wrapping is part of what is compared.

- one
- two
  continued under two

1. first

2. second

```python
def f():

    return 1
```

| a | b |
|---|---|
| 1 | 2 |

---

> quoted
> text

Last words."""


def streamed(doc: str, seed: int, console: Console) -> None:
    region = LiveRegion(console)
    rng = random.Random(seed)
    i = 0
    while i < len(doc):
        n = rng.randint(1, 12)
        region.write(doc[i : i + n], Markdown)
        i += n
    region.close()


@pytest.mark.parametrize("seed", range(5))
def test_streamed_markdown_looks_like_the_whole_answer(seed: int) -> None:
    whole = Console(file=io.StringIO(), width=80, color_system=None)
    whole.print(Markdown(DOC))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    streamed(DOC, seed, console)
    assert console.file.getvalue() == whole.file.getvalue()


def test_finished_blocks_are_printed_as_they_complete() -> None:
    out = io.StringIO()
    region = LiveRegion(Console(file=out, width=80, color_system=None))
    region.write("First paragraph.\n\nSecond", Markdown)
    assert out.getvalue() == ""  # the first block is finished only when the next one starts
    region.write(" one.\n\nThird", Markdown)
    assert lines(out) == ["First paragraph."]
    region.close()
    assert lines(out) == ["First paragraph.", "", "Second one.", "", "Third"]


def lines(out: io.StringIO) -> list[str]:
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_block_splitter_keeps_fences_and_indented_continuations_together() -> None:
    text = "```\na\n\nb\n```\n\n- item\n\n  more of item\n\nNext\n"
    splitter = BlockSplitter()
    boundary = splitter.scan(text)
    assert text[:boundary] == "```\na\n\nb\n```\n\n- item\n\n  more of item\n\n"
    assert BlockSplitter().scan("```\na\n\nb\n") == 0


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def test_live_terminal_draws_the_first_characters_at_once_then_throttles() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, height=12, force_terminal=True, color_system="standard")
    region = LiveRegion(console, fps=20)
    region.write("Hello", Markdown)
    assert "Hello" in ANSI.sub("", out.getvalue())  # no waiting for a refresh tick
    start = time.monotonic()
    for i in range(400):
        region.write(f"word{i} " + ("\n\n" if i % 25 == 24 else ""), Markdown)
        time.sleep(0.001)
    region.close()
    elapsed = time.monotonic() - start
    assert region.frames <= elapsed * 20 + 4
    assert "word399" in ANSI.sub("", out.getvalue())


def test_what_is_printed_for_good_is_not_drawn_again_below_it() -> None:
    """When the open text is printed for good (the answer ended, a line printed after it), the
    live part under it is the status at once, not the old frame with the same text again:
    a screen read between that write and the next frame shows each line once."""
    out = io.StringIO()
    console = Console(file=out, width=80, height=12, force_terminal=True, color_system=None)
    region = LiveRegion(console, fps=1000)
    region.write("Alpha beta gamma", Markdown)
    region.refresh()  # the open text is on screen, in the live part
    for finish in (region.end_text, lambda: region.print(Text("Summary line."))):
        before = len(out.getvalue())
        finish()
        write = ANSI.sub("", out.getvalue()[before:])
        assert write.count("Alpha beta gamma") <= 1, write
        region.write("Alpha beta gamma", Markdown)
        region.refresh()
    region.close()


@pytest.mark.parametrize("seed", range(3))
def test_what_leaves_the_live_area_is_printed_once_and_in_order(seed: int) -> None:
    """A live region on a short screen: a long open block (a code block) overflows it, and the
    lines that scroll out are printed for good. Rich draws no frames into a file, so the file
    holds exactly what was printed for good: it must be the whole answer, once."""
    doc = DOC + "\n\n```\n" + "".join(f"line {i}\n" for i in range(40)) + "```\n\nEnd."
    whole = Console(file=io.StringIO(), width=80, height=8, color_system=None)
    whole.print(Markdown(doc))
    console = Console(file=io.StringIO(), width=80, height=8, color_system=None)
    region = LiveRegion(console, live=True, fps=1000)
    rng = random.Random(seed)
    i = 0
    while i < len(doc):
        n = rng.randint(1, 12)
        region.write(doc[i : i + n], Markdown)
        region.refresh()  # a frame after every piece: the most overflow printing
        i += n
    region.close()
    assert console.file.getvalue() == whole.file.getvalue()


# --- small pieces -------------------------------------------------------------------------


def test_parse_answer() -> None:
    assert parse_answer("y") == ("yes", None) and parse_answer("YES") == ("yes", None)
    assert parse_answer("a") == ("always", None)
    assert parse_answer("n") == ("no", None)
    assert parse_answer("no, use a constant") == ("no", "use a constant")
    assert parse_answer("n keep it") == ("no", "keep it")
    assert parse_answer("") is None and parse_answer("maybe") is None
    assert parse_answer("yes but later") is None  # not a clear yes


def test_toolbar_text() -> None:
    from v4code.config import Settings
    from v4code.safety.permissions import PermissionPolicy

    class Agent:
        settings = Settings(context_window=1_048_576)
        mode = PermissionPolicy("ask").mode
        last_prompt_tokens = 12_345
        total_cost = 0.0123
        unpriced_model = None
        model = "deepseek-v4-pro"  # where the next request goes (Agent.model)

    assert toolbar_text(Agent()) == (
        " deepseek-v4-pro · think high · ask · ctx 12.3k/1M 1% · $0.0123"
    )
    Agent.settings = Settings(thinking=False)
    assert "think off" in toolbar_text(Agent())


def test_completion_of_commands_arguments_and_paths() -> None:
    files = ["README.md", "src/app.py", "src/util/strings.py", "tests/test_app.py"]
    completer = ChatCompleter(
        {"/mode": "mode", "/model": "model", "/undo": "undo"},
        lambda name: ["read-only", "ask"] if name == "/mode" else [],
        lambda: files,
    )

    def complete(text: str) -> list[str]:
        doc = Document(text, len(text))
        return [c.text for c in completer.get_completions(doc, CompleteEvent())]

    assert complete("/mo") == ["/mode", "/model"]
    assert complete("/mode r") == ["read-only"]
    assert complete("look at @src/u") == ["@src/util/", "@src/util/strings.py"]
    assert complete("@app")[:2] == ["@src/app.py", "@tests/test_app.py"]
    assert path_candidates(files, "") == ["src/", "tests/", "README.md"]
