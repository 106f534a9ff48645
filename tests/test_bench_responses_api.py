"""The benchmarks' Responses API face of the fake server (bench/responses_api.py, what Codex CLI
speaks in bench/vs_peers.py), driven through the real openai client."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_api import FakeDeepSeek, start_subprocess_server, text, tool_call
from fake_api.pytest_plugin import checked, running
from openai import OpenAI

RESPONSES_API = Path(__file__).resolve().parents[1] / "bench" / "responses_api.py"


def _api() -> Any:
    spec = importlib.util.spec_from_file_location("responses_api", RESPONSES_API)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.API


@pytest.fixture(scope="module")
def responses_server() -> Iterator[FakeDeepSeek]:
    yield from running(FakeDeepSeek(apis=[_api()]))


@pytest.fixture
def fake_api(responses_server: FakeDeepSeek) -> Iterator[FakeDeepSeek]:
    """The server answering /responses too, reset; a broken rule or a leftover step fails."""
    yield from checked(responses_server)


SHELL_TOOL = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a shell command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}
USER = {"role": "user", "content": "fix calc.py"}


@pytest.fixture
def client(fake_api: FakeDeepSeek) -> Iterator[OpenAI]:
    fake_api.configure(accepted_models=None)
    with OpenAI(api_key="test", base_url=fake_api.base_url, max_retries=0) as c:
        yield c


def stream(client: OpenAI, items: list[dict[str, Any]]) -> list[Any]:
    events = client.responses.create(
        model="some-model", input=items, tools=[SHELL_TOOL], stream=True
    )
    return list(events)


def test_streamed_function_call_arrives_as_output_items_and_completes(fake_api, client):
    fake_api.load([tool_call("exec_command", reasoning="Look first.", cmd="cat calc.py")])
    events = stream(client, [USER])
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == "Look first."
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert [i.type for i in done] == ["reasoning", "function_call"]
    call = done[1]
    assert call.name == "exec_command"
    assert json.loads(call.arguments) == {"cmd": "cat calc.py"}
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert args == call.arguments
    final = events[-1].response
    assert [i.type for i in final.output] == ["reasoning", "function_call"]
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    assert fake_api.requests[0].path == "/responses"


def test_tool_output_round_trip_then_final_message(fake_api, client):
    fake_api.load([tool_call("exec_command", cmd="pytest -q"), text("All green.")])
    first = stream(client, [USER])
    call = next(e.item for e in first if e.type == "response.output_item.done")
    history = [
        USER,
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "1 passed"},
    ]
    second = stream(client, history)
    deltas = "".join(e.delta for e in second if e.type == "response.output_text.delta")
    assert deltas == "All green."
    final = second[-1].response
    assert final.output_text == "All green."
    # The second prompt starts with the first: the shared prefix is reported as cached.
    assert final.usage.input_tokens_details.cached_tokens > 0


def test_non_streamed_response_object(fake_api, client):
    fake_api.load([text("Done.", reasoning="Easy.")])
    response = client.responses.create(model="some-model", input="hi")
    assert response.status == "completed"
    assert response.output_text == "Done."
    assert [i.type for i in response.output] == ["reasoning", "message"]


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        (
            [USER, {"type": "function_call_output", "call_id": "call_x", "output": "?"}],
            "No tool call found for function call output with call_id call_x",
        ),
        (
            [USER, {"type": "function_call", "call_id": "call_y", "name": "a", "arguments": "{}"}],
            "No tool output found for function call call_y",
        ),
    ],
)
def test_unanswered_or_orphan_tool_outputs_are_refused(fake_api, client, items, needle):
    fake_api.load([text("never sent")])
    fake_api.allow_leftover = True
    with pytest.raises(openai.BadRequestError, match=needle):
        client.responses.create(model="some-model", input=items)
    assert any(needle in v for v in fake_api.violations)
    fake_api.violations.clear()


def test_the_server_run_as_a_program_answers_responses_with_api(tmp_path: Path) -> None:
    """What bench/vs_peers.py starts: the child server given the file with --api."""
    server = start_subprocess_server(
        [text("Done.")], tmp_path, apis=[RESPONSES_API], accepted_models=None
    )
    with server, OpenAI(api_key="test", base_url=server.base_url, max_retries=0) as client:
        response = client.responses.create(model="some-model", input="hi")
        assert response.output_text == "Done."
    assert server.problems == []
