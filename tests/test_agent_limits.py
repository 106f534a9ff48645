"""Cost and time limits inside the turn loop, with an in-process scripted backend."""

from __future__ import annotations

from pathlib import Path

from scripted_backend import ScriptedBackend, reply, scripted_agent

from v4code.agent import Agent
from v4code.config import Settings
from v4code.errors import DeadlineExceeded
from v4code.events import TextDelta, TurnFinished, UsageReported
from v4code.sessions import read_session
from v4code.toolkit import ToolContext, ToolRegistry, build_tool
from v4code.types import Usage

FLAT = {"m": {"hit": 0.6, "miss": 0.6, "output": 0.0}}  # USD per 1M tokens, cached or not


def echo(ctx: ToolContext, text: str) -> str:
    """Echo.

    Args:
        text: What to echo.
    """
    (ctx.root / "echoed.txt").write_text(text)
    return text


def agent_with(tmp_path: Path, replies: list, **settings) -> tuple[Agent, ScriptedBackend]:
    backend = ScriptedBackend(replies)
    registry = ToolRegistry([build_tool(echo, "read")])
    settings = Settings(model="m", prices=FLAT, peak_multiplier=1.0, **settings)
    return scripted_agent(tmp_path, backend, registry, settings), backend


def million(prompt: int = 1_000_000) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=0, cache_miss_tokens=prompt)


def test_a_step_whose_prompt_alone_would_pass_the_budget_does_not_start(tmp_path: Path) -> None:
    agent, backend = agent_with(
        tmp_path,
        [reply(calls=[("echo", {"text": "hi"})], usage=million()), reply("never")],
        max_cost=1.0,
    )
    done = list(agent.submit("go"))[-1]
    assert isinstance(done, TurnFinished) and done.status == "limit"
    assert "next request would cost about $0.6000" in done.reason
    assert len(backend.requests) == 1 and (tmp_path / "echoed.txt").exists()


def test_a_response_that_spends_the_budget_runs_none_of_its_calls(tmp_path: Path) -> None:
    agent, backend = agent_with(
        tmp_path,
        [reply(calls=[("echo", {"text": "hi"})], usage=million(2_000_000)), reply("never")],
        max_cost=1.0,
    )
    done = list(agent.submit("go"))[-1]
    assert done.status == "limit" and "cost limit reached ($1.20 of $1.00)" in done.reason
    assert not (tmp_path / "echoed.txt").exists() and len(backend.requests) == 1


def test_deadline_inside_a_response_is_a_limit_and_keeps_what_was_said(tmp_path: Path) -> None:
    def cut_short(request, cancel):
        yield TextDelta("half an ans")
        raise DeadlineExceeded()

    agent, backend = agent_with(tmp_path, [cut_short], max_time=5.0)
    events = list(agent.submit("go"))
    done = events[-1]
    assert done.status == "limit" and "time limit" in done.reason
    assert done.final_text == "half an ans"
    saved = read_session(agent.session.path).messages
    assert saved[-1].role == "assistant" and saved[-1].content == "half an ans"


def test_the_backend_gets_the_turns_deadline(tmp_path: Path) -> None:
    seen: list[float | None] = []

    class Recording(ScriptedBackend):
        def stream(self, request, cancel, deadline=None):
            seen.append(deadline)
            return super().stream(request, cancel, deadline)

    agent, _ = agent_with(tmp_path, [], max_time=30.0)
    agent._backend = Recording([reply("ok")])
    list(agent.submit("go"))
    assert seen and seen[0] is not None


def test_a_request_between_turns_is_not_bound_by_the_last_turns_deadline(tmp_path: Path) -> None:
    """`/compact` runs between turns: the limit of the turn before, long spent, must not cut it."""
    seen: list[float | None] = []

    class Recording(ScriptedBackend):
        def stream(self, request, cancel, deadline=None):
            seen.append(deadline)
            return super().stream(request, cancel, deadline)

    agent, _ = agent_with(tmp_path, [], max_time=30.0)
    agent._backend = Recording([reply("ok"), reply("summary")])
    list(agent.submit("go"))
    list(agent.model_stream(agent.request()))  # as compaction's summary request does
    assert seen[0] is not None and seen[1] is None


def test_usage_is_priced_by_the_model_the_finish_names(tmp_path: Path) -> None:
    from v4code.events import StreamFinish, UsageChunk

    served = [TextDelta("ok"), UsageChunk(million()), StreamFinish("stop", "served-model")]
    agent, _ = agent_with(tmp_path, [served])
    agent._settings = agent.settings.replace(
        prices={**FLAT, "served-model": {"hit": 0.1, "miss": 0.1, "output": 0.0}}
    )
    usage = next(e for e in agent.submit("go") if isinstance(e, UsageReported))
    assert usage.model == "served-model" and usage.cost == 0.1
