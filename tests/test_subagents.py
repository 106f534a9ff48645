"""The pieces under child agents: the relay, path claims, named agent files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from v4code.errors import ToolError
from v4code.events import Notice
from v4code.named_agents import load_named_agents, parse_agent
from v4code.relay import Relay
from v4code.subagents import PathClaims
from v4code.types import Preview


def test_questions_from_parallel_workers_are_asked_one_at_a_time_on_the_draining_thread() -> None:
    relay = Relay()
    asked_on: list[int] = []
    inside = 0
    most = 0

    def question(n: int) -> int:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        asked_on.append(threading.get_ident())
        time.sleep(0.02)
        inside -= 1
        return n * 10

    answers: dict[int, int] = {}

    def worker(n: int) -> None:
        relay.post(Notice(f"worker {n}"))
        answers[n] = relay.call(lambda: question(n))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    relay.hold()
    for t in threads:
        t.start()
    events = list(relay.drain(lambda: not any(t.is_alive() for t in threads)))
    assert answers == {0: 0, 1: 10, 2: 20, 3: 30}
    assert most == 1 and set(asked_on) == {threading.get_ident()}
    assert sorted(e.text for e in events if isinstance(e, Notice)) == [
        f"worker {n}" for n in range(4)
    ]


def test_a_question_with_no_drain_running_is_answered_where_it_is_asked() -> None:
    assert Relay().call(lambda: "yes") == "yes"


class _Edit:
    def __init__(self, *paths: str) -> None:
        self.paths = paths

    def preview(self) -> Preview:
        return Preview(files=tuple({"path": p} for p in self.paths))

    def apply(self, ctx: object) -> object:
        raise AssertionError("not applied here")


def test_a_path_one_child_edits_is_refused_to_another_until_the_first_ends() -> None:
    claims = PathClaims()
    one, two = claims.hook("c1", "fixer"), claims.hook("c2", "writer")
    one(None, _Edit("a.py"), None)  # type: ignore[arg-type]
    one(None, _Edit("a.py", "b.py"), None)  # type: ignore[arg-type]
    with pytest.raises(ToolError, match=r"a\.py is being edited by another agent \(fixer\)"):
        two(None, _Edit("c.py", "a.py"), None)  # type: ignore[arg-type]
    two(None, _Edit("c.py"), None)  # type: ignore[arg-type]
    claims.release("c1")
    two(None, _Edit("a.py"), None)  # type: ignore[arg-type]


def test_agent_files_front_matter_and_precedence(tmp_path: Path) -> None:
    agent = parse_agent(
        "x", "---\nname: Reviewer\nmodel: m\ntools: [read_file, grep]\n---\nBe strict.\n", "user"
    )
    assert agent is not None
    assert (agent.name, agent.model, agent.tools, agent.prompt) == (
        "reviewer",
        "m",
        ("read_file", "grep"),
        "Be strict.",
    )
    assert parse_agent("ok", "no front matter", "user").tools is None  # type: ignore[union-attr]
    assert parse_agent("Bad Name!", "body", "user") is None
    project, user = tmp_path / "p", tmp_path / "u"
    project.mkdir()
    user.mkdir()
    (project / "a.md").write_text("---\ndescription: project's\n---\nP")
    (user / "a.md").write_text("---\ndescription: user's\n---\nU")
    (project / "b.md").write_text("B")
    found = load_named_agents([(project, "project"), (user, "user")])
    assert list(found) == ["a", "b"]
    assert (found["a"].description, found["a"].source) == ("user's", "user")


def test_a_resumed_session_knows_its_children(tmp_path: Path) -> None:
    from v4code.events import SubagentFinished, event_to_dict
    from v4code.sessions import SessionData, finished_children
    from v4code.types import Usage

    child = SubagentFinished("c1", "fixer", "m", "done", 2, Usage(prompt_tokens=9), 0.5)
    events = [event_to_dict(child), {"type": "subagent_finished", "child": "broken"}]
    data = SessionData("s", tmp_path / "s.jsonl", {}, [], events)
    assert finished_children(data) == [child]
