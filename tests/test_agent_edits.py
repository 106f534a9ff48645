"""The loop with the real edit tools: approval sees the diff, refusal writes nothing, undo works."""

from __future__ import annotations

from pathlib import Path

from scripted_backend import ScriptedBackend, reply

from v4code.app import load_registry, open_session
from v4code.config import Settings, user_home
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.undo import undo_last
from v4code.events import ToolFinished, TurnFinished
from v4code.protocols import Approval, ApprovalRequest


class Answer:
    def __init__(self, *answers: Approval) -> None:
        self.answers = list(answers)
        self.seen: list[ApprovalRequest] = []

    def decide(self, request: ApprovalRequest) -> Approval:
        self.seen.append(request)
        return self.answers.pop(0)


def session(root: Path, replies: list, approver: Answer, mode: str = "ask"):
    backend = ScriptedBackend(replies)
    settings = Settings(api_key="test", permission_mode=mode)
    return open_session(
        settings, root, approver, backend=backend, registry=load_registry(root)
    ), backend


def test_approved_batch_applies_and_undo_restores(workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    (workspace / "b.py").write_text("y = 2\n")
    edits = {
        "edits": [
            {"path": "a.py", "old_string": "x = 1", "new_string": "x = 10"},
            {"path": "b.py", "old_string": "y = 2", "new_string": "y = 20"},
        ]
    }
    approver = Answer(Approval(True))
    s, _ = session(workspace, [reply(calls=[("apply_edits", edits)]), reply("done")], approver)
    events = list(s.agent.submit("bump"))
    assert events[-1].status == "done" and events[-1].files_changed == ("a.py", "b.py")
    request = approver.seen[0]
    assert "-x = 1" in request.diff and "+y = 20" in request.diff
    assert [f["path"] for f in request.files] == ["a.py", "b.py"]
    assert (workspace / "a.py").read_text() == "x = 10\n"
    finished = [e for e in events if isinstance(e, ToolFinished)][0]
    assert finished.result.data["batch"]

    report = undo_last(CheckpointStore(user_home() / "checkpoints"), workspace, s.agent.session_id)
    assert report.ok
    assert (workspace / "a.py").read_text() == "x = 1\n" and (
        workspace / "b.py"
    ).read_text() == "y = 2\n"


def test_rejected_edit_changes_nothing_and_reason_reaches_model(workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    approver = Answer(Approval(False, reason="use a constant instead"))
    call = ("edit_file", {"path": "a.py", "old_string": "x = 1", "new_string": "x = 2"})
    s, backend = session(workspace, [reply(calls=[call]), reply("ok")], approver)
    events = list(s.agent.submit("change"))
    assert isinstance(events[-1], TurnFinished) and events[-1].status == "denied"
    assert (workspace / "a.py").read_text() == "x = 1\n"
    tool_message = backend.requests[1].messages[-1]
    assert tool_message.role == "tool" and "use a constant instead" in (tool_message.content or "")


def test_auto_edit_applies_without_asking_but_asks_for_commands(workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    approver = Answer(Approval(False))
    calls = [
        reply(
            calls=[("edit_file", {"path": "a.py", "old_string": "x = 1", "new_string": "x = 3"})]
        ),
        reply(calls=[("run_command", {"command": "touch ran"})]),
        reply("ok"),
    ]
    s, _ = session(workspace, calls, approver, mode="auto-edit")
    list(s.agent.submit("go"))
    assert (workspace / "a.py").read_text() == "x = 3\n"
    assert len(approver.seen) == 1 and approver.seen[0].command == "touch ran"
    assert not (workspace / "ran").exists()
