"""The tool-call pipeline: a tool is one file, its schema is pinned, proposals take one path.

The schema golden (tests/golden/tool_schemas.json) is what the model sees of every built-in
tool. It is part of the request's cached prefix, so a change must be deliberate: rerun with
--update-golden and review the diff.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fake_api import text, tool_call
from rich.console import Console
from scripted_backend import Recorder, ScriptedBackend, finish, reply, scripted_agent, tool_results

from v4code.agent import Agent
from v4code.app import open_session
from v4code.assets import tools_dir
from v4code.config import Settings, load_settings
from v4code.errors import ToolError
from v4code.events import ToolFinished, ToolStarted
from v4code.pipeline import BeforeApply
from v4code.protocols import Approval, Proposal
from v4code.review.report_tool import FindingsCollector
from v4code.toolkit import Invocation, ToolContext, ToolRegistry
from v4code.ui.headless import HeadlessRenderer
from v4code.ui.render import TurnView

GOLDEN_SCHEMAS = Path(__file__).parent / "golden" / "tool_schemas.json"

NEW_TOOL = '''
"""count_lines: how many lines a file has (a tool added by dropping this file in tools/)."""

from __future__ import annotations

from typing import Any

from v4code.toolkit import ToolContext, ToolOutput, tool
from v4code.types import ToolSummary


def _summary(args: dict[str, Any], data: Any) -> ToolSummary:
    label = f"count {args['path']}"
    if isinstance(data, dict):
        label += f" {data['lines']} lines"
    return ToolSummary(label, paths=(args["path"],))


@tool(risk="read", summary=_summary)
def count_lines(ctx: ToolContext, path: str) -> ToolOutput:
    """Count the lines of a text file.

    Args:
        path: File path relative to the workspace root.
    """
    lines = len(ctx.resolve(path, must_exist=True).read_text().splitlines())
    return ToolOutput(f"{path} has {lines} lines.", data={"lines": lines})
'''


def test_a_new_tool_is_one_file(
    workspace: Path, tmp_path: Path, fake_api: Any, monkeypatch
) -> None:
    extra = tmp_path / "more_tools"
    extra.mkdir()
    (extra / "count_lines.py").write_text(NEW_TOOL)
    (workspace / "notes.txt").write_text("a\nb\nc\n")
    registry = ToolRegistry.load([tools_dir(), extra])
    fake_api.load([tool_call("count_lines", path="notes.txt"), text("It has 3 lines.")])
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-new-tool")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", fake_api.base_url)
    settings = load_settings(workspace, {}).settings
    session = open_session(settings, workspace, Recorder(Approval(True)), registry=registry)
    events = list(session.agent.submit("How long is notes.txt?"))

    out = io.StringIO()
    view = TurnView(Console(file=out, width=80, color_system=None))
    for event in events:
        view.handle(event)
    assert "• count notes.txt 3 lines" in out.getvalue()
    err = io.StringIO()
    renderer = HeadlessRenderer("text", out=io.StringIO(), err=err)
    for event in events:
        renderer.render(event)
    assert "• count notes.txt" in err.getvalue()
    names = [t["function"]["name"] for t in fake_api.chat_requests[0].body["tools"]]
    assert "count_lines" in names
    answer = fake_api.chat_requests[1].body["messages"][-1]
    assert answer["role"] == "tool" and answer["content"] == "notes.txt has 3 lines."


def tool_schemas() -> dict[str, Any]:
    """Every session's tools ("agent"), the review's, and what `model = "auto"` adds."""
    registry = ToolRegistry.load([tools_dir()])
    review = [FindingsCollector().tool().schema]
    auto = ToolRegistry.load([tools_dir() / "auto"]).schemas()
    return {"agent": registry.schemas(), "review": review, "auto": auto}


def test_tool_schemas_are_pinned(update_golden: bool) -> None:
    shown = json.dumps(tool_schemas(), indent=2, ensure_ascii=False) + "\n"
    if update_golden:
        GOLDEN_SCHEMAS.write_text(shown, encoding="utf-8")
    assert GOLDEN_SCHEMAS.exists(), "run with --update-golden to write the schema golden"
    assert shown == GOLDEN_SCHEMAS.read_text(encoding="utf-8"), (
        "A tool schema changed. Schemas are part of the request's cached prefix; if the change "
        "is deliberate, rerun with --update-golden and review tests/golden/tool_schemas.json"
    )


def test_the_request_carries_the_pinned_schemas(tmp_path: Path) -> None:
    backend = ScriptedBackend([reply("hi")])
    agent = _agent(tmp_path, backend, ToolRegistry.load([tools_dir()]), "ask")
    list(agent.submit("hello"))
    assert list(backend.requests[0].tools) == tool_schemas()["agent"]


# --- proposals and the before-apply seam -----------------------------------------------------


def _agent(
    root: Path,
    backend: ScriptedBackend,
    registry: ToolRegistry,
    mode: str,
    approver: Any = None,
    hooks: tuple[BeforeApply, ...] = (),
) -> Agent:
    settings = Settings(permission_mode=mode)
    return scripted_agent(root, backend, registry, settings, approver, before_apply=hooks)


@pytest.fixture
def builtin() -> ToolRegistry:
    return ToolRegistry.load([tools_dir()])


def test_commands_and_edits_are_proposals_seen_by_hooks_before_they_apply(
    workspace: Path, builtin: ToolRegistry
) -> None:
    seen: list[tuple[str, bool]] = []

    def hook(invocation: Invocation, proposal: Proposal, ctx: ToolContext) -> str | None:
        preview = proposal.preview()
        ran = (workspace / "ran.txt").exists()
        seen.append((invocation.tool.name, ran if preview.command else bool(preview.diff)))
        return None

    backend = ScriptedBackend(
        [
            reply(calls=[("run_command", {"command": "echo hi > ran.txt"})]),
            reply(calls=[("write_file", {"path": "new.txt", "content": "x\n"})]),
            reply("done"),
        ]
    )
    agent = _agent(workspace, backend, builtin, "full-auto", hooks=(hook,))
    done = finish(list(agent.submit("go")))
    assert done.status == "done" and done.files_changed == ("new.txt",)
    # the command had not run when the hook saw it; the edit came with its diff
    assert seen == [("run_command", False), ("write_file", True)]
    assert (workspace / "ran.txt").read_text() == "hi\n"
    assert (workspace / "new.txt").read_text() == "x\n"


def test_a_hook_can_refuse_or_ask_for_a_person(workspace: Path, builtin: ToolRegistry) -> None:
    def guard(invocation: Invocation, proposal: Proposal, ctx: ToolContext) -> str | None:
        command = proposal.preview().command or ""
        if "refuse" in command:
            raise ToolError("This command is refused by a check.")
        return "This command deletes files." if "rm " in command else None

    approver = Recorder(Approval(False, reason="not now"))
    backend = ScriptedBackend(
        [
            reply(calls=[("run_command", {"command": "touch refuse"})]),
            reply(calls=[("run_command", {"command": "rm README.md"})]),
            reply(calls=[("run_command", {"command": "touch fine"})]),
            reply("done"),
        ]
    )
    agent = _agent(workspace, backend, builtin, "full-auto", approver, hooks=(guard,))
    done = finish(list(agent.submit("go")))
    results = tool_results(agent)
    assert results[0] == "This command is refused by a check."
    assert not (workspace / "refuse").exists()
    # full-auto never asks, but the hook wanted a person: asked, refused, nothing deleted
    assert [r.note for r in approver.requests] == ["This command deletes files."]
    assert (workspace / "README.md").exists() and "Their reason: not now" in results[1]
    assert (workspace / "fine").exists()
    assert done.status == "denied" and "rm README.md" in done.reason


def test_read_only_mode_refuses_before_a_proposal_is_computed(
    workspace: Path, builtin: ToolRegistry
) -> None:
    backend = ScriptedBackend(
        [reply(calls=[("edit_file", {"path": "nope.py", "old_string": "a", "new_string": "b"})])]
    )
    backend.replies.append(reply("ok"))
    agent = _agent(workspace, backend, builtin, "read-only")
    events = list(agent.submit("edit"))
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.denied and finished.result.text.startswith("Denied: edit_file")
    assert finished.summary is not None and finished.summary.label == "edit nope.py"


def test_every_tool_event_carries_its_line(workspace: Path, builtin: ToolRegistry) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    backend = ScriptedBackend(
        [
            reply(calls=[("read_file", {"path": "a.py"}), ("nope", {})]),
            reply("done"),
        ]
    )
    agent = _agent(workspace, backend, builtin, "ask")
    events = list(agent.submit("read"))
    started = [e.summary.label for e in events if isinstance(e, ToolStarted) and e.summary]
    finished = [e.summary.label for e in events if isinstance(e, ToolFinished) and e.summary]
    assert started == ["read a.py", "nope"] and finished == ["read a.py 1-1", "nope"]


def test_frontends_change_the_agent_through_its_methods(tmp_path: Path) -> None:
    backend = ScriptedBackend([reply("a"), reply("b")])
    agent = _agent(tmp_path, backend, ToolRegistry(), "ask")
    agent.set_model("deepseek-v4-flash")
    agent.set_thinking(True, "max")
    agent.set_mode("read-only")
    list(agent.submit("one"))
    request = backend.requests[0]
    assert (request.model, request.thinking, request.effort) == ("deepseek-v4-flash", True, "max")
    assert agent.mode == "read-only"
    agent.set_thinking(False)
    list(agent.submit("two"))
    assert backend.requests[1].thinking is False and backend.requests[1].effort is None
    with pytest.raises(ValueError):
        agent.set_mode("yolo")


def test_the_chat_says_why_a_hook_wants_a_yes(workspace: Path, builtin: ToolRegistry) -> None:
    from v4code.ui.approval import ChatApprover

    def guard(invocation: Invocation, proposal: Proposal, ctx: ToolContext) -> str | None:
        return "This command deletes files outside git's reach."

    out = io.StringIO()
    answers = iter(["n"])
    approver = ChatApprover(
        lambda question: next(answers, ""), Console(file=out, width=100, color_system=None)
    )
    backend = ScriptedBackend(
        [reply(calls=[("run_command", {"command": "rm -rf build"})]), reply("ok")]
    )
    agent = _agent(workspace, backend, builtin, "full-auto", approver, hooks=(guard,))
    done = finish(list(agent.submit("clean")))
    shown = out.getvalue()
    assert "This command deletes files outside git's reach." in shown
    assert "Run rm -rf build" in shown and done.status == "denied"
