"""The fake DeepSeek server, driven through the real openai client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_api import (
    REASONING_MISSING,
    TOOL_NOT_RESPONSE,
    TOOLS_UNANSWERED,
    FakeDeepSeek,
    cut,
    dsml_leak,
    fault,
    raw_args,
    start_subprocess_server,
    step,
    text,
    tool_call,
    tool_calls,
    v31_leak,
)
from openai import OpenAI

TESTS_DIR = Path(__file__).resolve().parent
MODEL = "deepseek-v4-flash"
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}
USER = {"role": "user", "content": "Fix the bug in a.py"}
THINKING = {"thinking": {"type": "enabled"}}


@pytest.fixture
def client(fake_api: FakeDeepSeek) -> Iterator[OpenAI]:
    with OpenAI(api_key="test", base_url=fake_api.base_url, max_retries=0) as c:
        yield c


def stream(client: OpenAI, messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    """Run one streamed request and reassemble it the way an agent would."""
    kw.setdefault("extra_body", THINKING)
    out: dict[str, Any] = {
        "reasoning": "",
        "content": "",
        "calls": {},
        "finish": None,
        "usage": None,
        "chunks": [],
    }
    with client.chat.completions.create(
        model=kw.pop("model", MODEL),
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        **kw,
    ) as events:
        for chunk in events:
            out["chunks"].append(chunk)
            if chunk.usage is not None:
                out["usage"] = chunk.usage
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            out["reasoning"] += getattr(delta, "reasoning_content", None) or ""
            out["reasoning"] += getattr(delta, "reasoning", None) or ""
            out["content"] += delta.content or ""
            for tc in delta.tool_calls or []:
                call = out["calls"].setdefault(tc.index, {"id": None, "name": "", "args": ""})
                if tc.id:
                    call["id"] = tc.id
                if tc.function and tc.function.name:
                    call["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    call["args"] += tc.function.arguments
            if choice.finish_reason:
                out["finish"] = choice.finish_reason
    return out


def assistant(reasoning: str | None = "thought", calls: list[tuple[str, str]] = ()) -> dict:
    msg: dict[str, Any] = {"role": "assistant", "content": ""}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    if calls:
        msg["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
            for cid, _ in calls
        ]
    return msg


def tool_msg(call_id: str, content: str = "file text") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# --------------------------------------------------------------------------- streaming


def test_stream_reasoning_then_text_with_usage_on_last_chunk(fake_api, client):
    reasoning = "The user wants a fix. Let me look at the code first, carefully."
    fake_api.load([text("Here is the fix for a.py, as requested.", reasoning=reasoning)])

    got = stream(client, [USER])

    assert got["reasoning"] == reasoning
    assert got["content"] == "Here is the fix for a.py, as requested."
    assert got["finish"] == "stop"
    assert len(got["chunks"]) > 6  # split into ~12-character deltas
    first = got["chunks"][0]
    assert first.object == "chat.completion.chunk"
    assert first.model == MODEL
    assert first.choices[0].delta.role == "assistant"
    last = got["chunks"][-1]
    assert last.choices and last.choices[0].finish_reason == "stop"
    assert last.usage is not None
    assert all(c.usage is None for c in got["chunks"][:-1])
    usage = got["usage"]
    assert usage.completion_tokens == -(-len(reasoning + got["content"]) // 4)
    assert usage.completion_tokens_details.reasoning_tokens == -(-len(reasoning) // 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    extra = usage.model_extra or {}
    assert extra["prompt_cache_hit_tokens"] == 0
    assert extra["prompt_cache_miss_tokens"] == usage.prompt_tokens
    req = fake_api.last_request
    assert req.status == 200 and req.body["thinking"] == {"type": "enabled"}
    assert req.headers["authorization"] == "Bearer test"


def test_usage_separate_chunk_shape_and_no_usage_unless_asked(fake_api, client):
    fake_api.load([text("hi", usage_shape="separate"), text("again")])

    got = stream(client, [USER])
    last = got["chunks"][-1]
    assert last.choices == [] and last.usage is not None
    assert got["chunks"][-2].choices[0].finish_reason == "stop"
    assert got["usage"].prompt_tokens > 0

    with client.chat.completions.create(
        model=MODEL, messages=[USER], stream=True, extra_body=THINKING
    ) as events:
        chunks = list(events)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert fake_api.chat_requests[1].usage is not None  # still recorded server-side


def test_stream_tool_call_arguments_reassemble(fake_api, client):
    fake_api.load(
        [
            tool_call(
                "read_file", reasoning="Need to read it.", path="src/pkg/module_a.py", limit=200
            )
        ]
    )

    got = stream(client, [USER], tools=[READ_TOOL])

    assert got["finish"] == "tool_calls"
    assert list(got["calls"]) == [0]
    call = got["calls"][0]
    assert call["name"] == "read_file"
    assert call["id"].startswith("call_00_")
    assert json.loads(call["args"]) == {"path": "src/pkg/module_a.py", "limit": 200}
    tool_chunks = [c for c in got["chunks"] if c.choices and c.choices[0].delta.tool_calls]
    assert len(tool_chunks) >= 3  # header chunk, then argument fragments
    head = tool_chunks[0].choices[0].delta.tool_calls[0]
    assert head.type == "function" and head.function.arguments == ""
    assert all(c.choices[0].delta.tool_calls[0].id is None for c in tool_chunks[1:])


def test_parallel_tool_calls_and_fixed_ids(fake_api, client):
    fake_api.load(
        [
            tool_calls([("read_file", {"path": "a.py"}), ("read_file", {"path": "b.py"})]),
            step(tool_calls=[{"name": "read_file", "arguments": {"path": "c"}, "id": "call_x"}]),
        ]
    )

    got = stream(client, [USER], tools=[READ_TOOL])
    assert [json.loads(c["args"])["path"] for c in got["calls"].values()] == ["a.py", "b.py"]
    assert got["calls"][0]["id"] != got["calls"][1]["id"]
    assert got["calls"][1]["id"].startswith("call_01_")

    history = [
        USER,
        assistant("", [(got["calls"][0]["id"], ""), (got["calls"][1]["id"], "")]),
        tool_msg(got["calls"][0]["id"]),
        tool_msg(got["calls"][1]["id"]),
    ]
    assert stream(client, history, tools=[READ_TOOL])["calls"][0]["id"] == "call_x"


def test_raw_args_are_sent_verbatim(fake_api, client):
    fake_api.load([raw_args("read_file", '{"path": "a.py", "lim')])
    got = stream(client, [USER], tools=[READ_TOOL])
    assert got["calls"][0]["args"] == '{"path": "a.py", "lim'


def test_non_streaming_completion(fake_api, client):
    fake_api.load(
        [tool_call("read_file", reasoning="Look first.", content="Reading.", path="a.py")]
    )

    resp = client.chat.completions.create(
        model=MODEL, messages=[USER], tools=[READ_TOOL], extra_body=THINKING
    )

    assert resp.object == "chat.completion"
    msg = resp.choices[0].message
    assert getattr(msg, "reasoning_content", None) == "Look first."
    assert msg.content == "Reading."
    assert resp.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls[0].function.name == "read_file"
    assert json.loads(msg.tool_calls[0].function.arguments) == {"path": "a.py"}
    assert (resp.usage.model_extra or {})["prompt_cache_miss_tokens"] == resp.usage.prompt_tokens


def test_reasoning_field_and_served_model(fake_api, client):
    fake_api.configure(served_model="DeepSeek-V4.1-Flash-1017")
    fake_api.load([text("ok", reasoning="hmm", reasoning_field="reasoning")])
    got = stream(client, [USER])
    assert got["reasoning"] == "hmm"
    assert got["chunks"][0].model == "DeepSeek-V4.1-Flash-1017"
    assert all(
        getattr(c.choices[0].delta, "reasoning_content", None) is None
        for c in got["chunks"]
        if c.choices
    )


def test_v1_prefix_models_and_balance(fake_api):
    with OpenAI(api_key="k", base_url=fake_api.base_url + "/v1", max_retries=0) as c:
        ids = {m.id for m in c.models.list()}
        assert {"deepseek-v4-pro", "deepseek-v4-flash", "deepseek-flash"} <= ids
        fake_api.load([text("ok")])
        assert c.chat.completions.create(model=MODEL, messages=[USER]).choices[0].message.content
    assert [r.path for r in fake_api.requests] == ["/v1/models", "/v1/chat/completions"]
    assert len(fake_api.chat_requests) == 1
    with urllib.request.urlopen(
        urllib.request.Request(
            fake_api.base_url + "/user/balance", headers={"Authorization": "Bearer k"}
        )
    ) as resp:
        assert json.loads(resp.read())["is_available"] is True


# --------------------------------------------------------------------------- leaks


def test_dsml_leak_is_plain_text_split_across_chunks(fake_api, client):
    bar = "\uff5c"
    fake_api.load(
        [dsml_leak([("read_file", {"path": "a.py", "lines": [1, 2]})], reasoning="Reading.")]
    )

    got = stream(client, [USER], tools=[READ_TOOL])

    expected = (
        f"<{bar}DSML{bar}tool_calls>\n"
        f'<{bar}DSML{bar}invoke name="read_file">\n'
        f'<{bar}DSML{bar}parameter name="path" string="true">a.py</{bar}DSML{bar}parameter>\n'
        f'<{bar}DSML{bar}parameter name="lines" string="false">[1, 2]</{bar}DSML{bar}parameter>\n'
        f"</{bar}DSML{bar}invoke>\n"
        f"</{bar}DSML{bar}tool_calls>"
    )
    assert got["content"] == expected
    assert got["calls"] == {} and got["finish"] == "stop"
    pieces = [
        c.choices[0].delta.content
        for c in got["chunks"]
        if c.choices and c.choices[0].delta.content
    ]
    assert f"<{bar}DSML{bar}tool_calls>" not in pieces[0]  # the opening marker is split


def test_leaks_into_reasoning_and_v31_format(fake_api, client):
    fake_api.load(
        [
            dsml_leak([("read_file", {"path": "a.py"})], where="reasoning", reasoning="Plan. "),
            v31_leak("read_file", {"path": "a.py"}),
        ]
    )
    got = stream(client, [USER], tools=[READ_TOOL])
    assert got["reasoning"].startswith("Plan. <\uff5cDSML\uff5ctool_calls>")
    assert got["content"] == ""

    got = stream(client, [USER, assistant("Plan.")], tools=[READ_TOOL])
    b, s = "\uff5c", "\u2581"
    assert got["content"] == (
        f"<{b}tool{s}calls{s}begin{b}><{b}tool{s}call{s}begin{b}>read_file<{b}tool{s}sep{b}>"
        f'{{"path": "a.py"}}<{b}tool{s}call{s}end{b}><{b}tool{s}calls{s}end{b}>'
    )


# --------------------------------------------------------------------------- cache accounting


def test_cache_hits_grow_with_the_shared_prefix(fake_api, client):
    fake_api.load(
        [tool_call("read_file", reasoning="r1", path="a.py"), text("done", reasoning="r2")]
    )
    first = stream(client, [USER], tools=[READ_TOOL])
    call_id = first["calls"][0]["id"]
    history = [USER, assistant("r1", [(call_id, "")]), tool_msg(call_id, "x = 1\n" * 50)]

    second = stream(client, history, tools=[READ_TOOL])

    hit = (second["usage"].model_extra or {})["prompt_cache_hit_tokens"]
    miss = (second["usage"].model_extra or {})["prompt_cache_miss_tokens"]
    first_blob = len(json.dumps([READ_TOOL], sort_keys=True, separators=(",", ":")))
    first_blob += len(json.dumps(USER, sort_keys=True, separators=(",", ":")))
    # The whole first prompt is a prefix of the second; the replayed answer differs from what
    # the server sent (other arguments), so hits stop inside it.
    assert first_blob // 4 <= hit < (first_blob + 200) // 4
    assert hit > 0 and miss > 0
    assert hit + miss == second["usage"].prompt_tokens
    assert second["usage"].prompt_tokens_details.cached_tokens == hit


def test_usage_override_stays_consistent(fake_api, client):
    fake_api.load(
        [text("hi", usage={"prompt_cache_hit_tokens": 5}), text("x", usage={"total_tokens": 1})]
    )
    usage = client.chat.completions.create(model=MODEL, messages=[USER]).usage
    assert usage.prompt_tokens_details.cached_tokens == 5
    assert (usage.model_extra or {})["prompt_cache_miss_tokens"] == usage.prompt_tokens - 5
    assert client.chat.completions.create(model=MODEL, messages=[USER]).usage.total_tokens == 1


def test_each_model_keeps_its_own_prefix_cache(fake_api, client):
    """As on DeepSeek: a switch from Flash to Pro is a miss however long the shared prefix;
    the retired Flash ID is served by the current Flash, so it shares Flash's cache."""
    fake_api.load([text("a"), text("b"), text("c"), text("d")])
    history = [USER, {"role": "user", "content": "x = 1\n" * 200}]

    def hits(model: str) -> int:
        got = stream(client, history, tools=[READ_TOOL], model=model)
        return int((got["usage"].model_extra or {})["prompt_cache_hit_tokens"])

    assert hits("deepseek-flash") == 0  # the first prompt
    assert hits("deepseek-v4-pro") == 0  # the same prompt, another model
    assert hits("deepseek-v4-flash") > 200  # Flash again, by its retired name
    assert hits("deepseek-v4-pro") > 200


def test_cache_unit_rounds_hits_down_and_rejected_requests_are_not_cached(fake_api, client):
    fake_api.configure(cache_unit=64)
    fake_api.load([text("a"), text("b")])
    long_user = {"role": "user", "content": "word " * 200}
    stream(client, [long_user])
    with pytest.raises(openai.BadRequestError):  # not answered: must not enter the cache
        client.chat.completions.create(model="nope", messages=[long_user, assistant(), USER])
    fake_api.violations.clear()

    got = stream(client, [long_user, assistant(), USER])
    hit = (got["usage"].model_extra or {})["prompt_cache_hit_tokens"]
    assert hit > 0 and hit % 64 == 0
    assert hit <= (len(json.dumps([long_user], separators=(",", ":"))) - 2) // 4


# --------------------------------------------------------------------------- request rules


def _bad_requests() -> list[tuple[str, dict[str, Any], str]]:
    tools128 = [
        {"type": "function", "function": {"name": f"t{i}", "parameters": {}}} for i in range(129)
    ]
    named = {"type": "function", "function": {"name": "read_file"}}
    return [
        (
            "reasoning_missing",
            {
                "messages": [USER, assistant(None, [("c1", "")]), tool_msg("c1")],
                "tools": [READ_TOOL],
            },
            REASONING_MISSING,
        ),
        (
            "reasoning_missing_on_plain_turn",
            {"messages": [USER, assistant(None), USER], "tools": [READ_TOOL]},
            "reasoning_content",
        ),
        ("tool_without_call", {"messages": [USER, tool_msg("c9")]}, TOOL_NOT_RESPONSE),
        (
            "tool_wrong_id",
            {"messages": [USER, assistant("r", [("c1", "")]), tool_msg("c2")]},
            TOOL_NOT_RESPONSE,
        ),
        (
            "call_unanswered",
            {"messages": [USER, assistant("r", [("c1", ""), ("c2", "")]), tool_msg("c1"), USER]},
            TOOLS_UNANSWERED,
        ),
        (
            "call_unanswered_at_end",
            {"messages": [USER, assistant("r", [("c1", "")])]},
            "insufficient tool messages",
        ),
        (
            "tool_choice_required",
            {"messages": [USER], "tools": [READ_TOOL], "tool_choice": "required"},
            "tool_choice",
        ),
        (
            "tool_choice_named",
            {"messages": [USER], "tools": [READ_TOOL], "tool_choice": named},
            "tool_choice",
        ),
        ("too_many_tools", {"messages": [USER], "tools": tools128}, "maximum length 128"),
        (
            "bad_name",
            {
                "messages": [USER],
                "tools": [{"type": "function", "function": {"name": "read file"}}],
            },
            "does not match pattern",
        ),
        ("duplicate_names", {"messages": [USER], "tools": [READ_TOOL, READ_TOOL]}, "duplicate"),
        ("empty_messages", {"messages": []}, "messages"),
        ("unknown_role", {"messages": [{"role": "robot", "content": "x"}]}, "unknown variant"),
        ("unknown_model", {"messages": [USER], "model": "gpt-4o"}, "Model Not Exist"),
    ]


@pytest.mark.parametrize(
    ("body", "needle"), [b[1:] for b in _bad_requests()], ids=[b[0] for b in _bad_requests()]
)
def test_rule_breaking_request_gets_400_and_a_violation(fake_api, client, body, needle):
    fake_api.load([text("never served")])
    body = {"model": MODEL, "extra_body": THINKING, **body}

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(**body)

    assert err.value.status_code == 400
    assert needle in err.value.message
    assert err.value.body["type"] == "invalid_request_error"
    assert len(fake_api.violations) == 1 and needle in fake_api.violations[0]
    assert len(fake_api.remaining) == 1  # a rejected request consumes no step
    fake_api.violations.clear()
    fake_api.allow_leftover = True


def test_reasoning_rule_only_applies_with_thinking_and_tools(fake_api, client):
    fake_api.load([text("a"), text("b"), text("c"), text("d")])
    no_reasoning = [USER, assistant(None), USER]
    client.chat.completions.create(model=MODEL, messages=no_reasoning)  # no tools
    client.chat.completions.create(
        model=MODEL,
        messages=no_reasoning,
        tools=[READ_TOOL],
        extra_body={"thinking": {"type": "disabled"}},
    )
    client.chat.completions.create(
        model=MODEL, messages=no_reasoning, tools=[READ_TOOL], reasoning_effort="none"
    )
    client.chat.completions.create(
        model=MODEL,
        messages=[USER, assistant(""), USER],
        tools=[READ_TOOL],  # "" is fine
    )
    assert [r.status for r in fake_api.requests] == [200, 200, 200, 200]


def test_reasoning_alias_only_for_vllm_and_ollama(fake_api, client):
    history = [USER, {"role": "assistant", "content": "", "reasoning": "r"}, USER]
    fake_api.load([text("ok")])
    with pytest.raises(openai.BadRequestError, match="reasoning_content"):
        client.chat.completions.create(model=MODEL, messages=history, tools=[READ_TOOL])
    fake_api.violations.clear()

    fake_api.configure(dialect="ollama")
    got = stream(client, history, tools=[READ_TOOL], extra_body={})
    assert got["content"] == "ok"
    assert got["chunks"][-1].choices == []  # ollama/vllm: OpenAI-style separate usage chunk
    assert (got["usage"].model_extra or {}).get("prompt_cache_hit_tokens") is None


def test_effort_auth_and_rejected_keys(fake_api, client):
    fake_api.load([text("ok")])
    with pytest.raises(openai.UnprocessableEntityError, match="unknown variant"):
        client.chat.completions.create(model=MODEL, messages=[USER], reasoning_effort="turbo")
    assert fake_api.violations and "422" in fake_api.violations[0]
    fake_api.violations.clear()

    req = urllib.request.Request(
        fake_api.base_url + "/chat/completions",
        data=json.dumps({"model": MODEL, "messages": [USER]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 401
    assert "Authentication Fails" in json.loads(err.value.read())["error"]["message"]
    err.value.close()
    assert fake_api.violations and "401" in fake_api.violations[0]
    fake_api.violations.clear()

    fake_api.configure(reject_keys={"sk-revoked-1234"})
    revoked = OpenAI(api_key="sk-revoked-1234", base_url=fake_api.base_url, max_retries=0)
    with revoked, pytest.raises(openai.AuthenticationError, match=r"\*\*\*\*1234 is invalid"):
        revoked.chat.completions.create(model=MODEL, messages=[USER])
    assert fake_api.violations == []  # the test asked for this 401
    assert client.chat.completions.create(model=MODEL, messages=[USER]).choices[0].message.content


def test_expect_mismatch_is_a_violation(fake_api, client):
    fake_api.load(
        [
            text("a", expect={"model": MODEL, "reasoning_effort": "max"}),
            text("b", expect={"max_tokens": lambda v: v is not None and v > 1000}),
        ]
    )
    client.chat.completions.create(model=MODEL, messages=[USER], reasoning_effort="high")
    client.chat.completions.create(model=MODEL, messages=[USER], max_tokens=64000)
    assert len(fake_api.violations) == 1
    assert "reasoning_effort='max', got 'high'" in fake_api.violations[0]
    fake_api.violations.clear()


# --------------------------------------------------------------------------- faults


def test_429_carries_retry_after_and_sdk_retries_on_it(fake_api, client):
    fake_api.load([fault(429, retry_after=7), fault(503, retry_after=0), text("ok")])
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model=MODEL, messages=[USER])
    assert err.value.response.headers["retry-after"] == "7"
    assert err.value.body["type"] == "rate_limit_error"

    with OpenAI(api_key="t", base_url=fake_api.base_url, max_retries=1) as retrying:
        resp = retrying.chat.completions.create(model=MODEL, messages=[USER])
    assert resp.choices[0].message.content == "ok"
    assert [r.status for r in fake_api.requests] == [429, 503, 200]
    assert fake_api.violations == []


def test_fault_step_is_consumed_by_any_request_but_violations_still_count(fake_api, client):
    fake_api.load([fault(500, message="boom")])
    with pytest.raises(openai.InternalServerError, match="boom"):
        client.chat.completions.create(model="no-such-model", messages=[USER])
    assert fake_api.remaining == []
    assert "Model Not Exist" in fake_api.violations[0]
    fake_api.violations.clear()


def test_script_exhausted_is_500_and_a_violation(fake_api, client):
    with pytest.raises(openai.InternalServerError, match="script exhausted"):
        client.chat.completions.create(model=MODEL, messages=[USER])
    assert fake_api.violations == ["request 0 (POST /chat/completions): fake_api: script exhausted"]
    fake_api.violations.clear()


def test_leftover_steps_are_problems(fake_api):
    fake_api.load([text("unused")])
    assert "never requested" in fake_api.problems()[0]
    fake_api.allow_leftover = True
    assert fake_api.problems() == []


def test_cut_stream_raises_in_the_sdk(fake_api, client):
    fake_api.load([cut(3, content="a long answer that will be cut off midway", chunk_size=5)])
    seen = []
    with (
        pytest.raises(openai.APIConnectionError),
        client.chat.completions.create(
            model=MODEL, messages=[USER], stream=True, extra_body=THINKING
        ) as events,
    ):
        for chunk in events:
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["", "a lon", "g ans"]
    assert fake_api.last_request.cut and fake_api.last_request.status == 200


def test_cut_non_streamed_body_raises(fake_api, client):
    fake_api.load([cut(0, content="x" * 200)])
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=[USER])


def test_keepalive_comments_and_delay_do_not_break_the_sdk(fake_api, client):
    fake_api.load(
        [
            text("kept alive", reasoning="slowly", keepalive=True, delay=0.01, chunk_size=3),
            text("blank lines first", keepalive=True),
        ]
    )
    got = stream(client, [USER])
    assert (got["reasoning"], got["content"], got["finish"]) == ("slowly", "kept alive", "stop")
    assert got["usage"] is not None
    resp = client.chat.completions.create(model=MODEL, messages=[USER])
    assert resp.choices[0].message.content == "blank lines first"


def test_hang_makes_the_client_time_out(fake_api):
    fake_api.load([text("too late", hang=5)])
    impatient = OpenAI(api_key="t", base_url=fake_api.base_url, max_retries=0, timeout=0.3)
    with impatient, pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model=MODEL, messages=[USER])
    assert fake_api.remaining == []  # consumed on arrival; reset() wakes the sleeping handler


def test_steps_are_checked_when_loaded(fake_api):
    with pytest.raises(ValueError, match="unknown step keys"):
        fake_api.load([{"content": "x", "finsh_reason": "stop"}])
    with pytest.raises(ValueError, match="usage_shape"):
        text("x", usage_shape="middle")


# --------------------------------------------------------------------------- standalone


def test_subprocess_server_records_requests(tmp_path):
    server = start_subprocess_server(
        [tool_call("read_file", reasoning="r", path="a.py"), text("done")],
        tmp_path,
        served_model="served-name",
    )
    with server, OpenAI(api_key="t", base_url=server.base_url + "/v1", max_retries=0) as c:
        first = c.chat.completions.create(model=MODEL, messages=[USER], tools=[READ_TOOL])
        assert first.model == "served-name"
        call = first.choices[0].message.tool_calls[0]
        assert len(server.wait_for_requests(1)) == 1
        history = [USER, assistant(None, [(call.id, "")]), tool_msg(call.id)]
        with pytest.raises(openai.BadRequestError):  # reasoning_content not passed back
            c.chat.completions.create(model=MODEL, messages=history, tools=[READ_TOOL])
        history[1]["reasoning_content"] = "r"
        c.chat.completions.create(model=MODEL, messages=history, tools=[READ_TOOL])
        requests, violations = server.stop()
    assert [r["status"] for r in requests] == [200, 400, 200]
    assert requests[2]["body"]["messages"][2]["tool_call_id"] == call.id
    assert len(violations) == 1 and "reasoning_content" in violations[0]
    assert server.proc.returncode == 0


def test_module_entry_point_with_port_file(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps([{"content": "hi"}]))
    port_file, record = tmp_path / "port", tmp_path / "record.json"
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    cmd = [sys.executable, "-m", "fake_api", "--script", str(script)]
    cmd += ["--port-file", str(port_file), "--record", str(record)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path) as proc:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        assert port_file.read_text() == str(port)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    data = json.loads(record.read_text())
    assert data["requests"] == [] and data["remaining"] == 1
    assert "never requested" in data["problems"][0]


def test_fixture_fails_the_test_on_violations_and_leftovers(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import json, urllib.error, urllib.request
            from fake_api import text

            def post(server, messages):
                req = urllib.request.Request(
                    server.base_url + "/chat/completions",
                    data=json.dumps({"model": "deepseek-v4-pro", "messages": messages}).encode(),
                    headers={"Authorization": "Bearer t"},
                )
                try:
                    with urllib.request.urlopen(req) as resp:
                        return resp.status
                except urllib.error.HTTPError as err:
                    err.close()
                    return err.code

            def test_violation(fake_api):
                fake_api.load([text("ok")])
                assert post(fake_api, [{"role": "tool", "tool_call_id": "x", "content": ""}]) == 400

            def test_leftover(fake_api):
                fake_api.load([text("ok"), text("unused")])
                assert post(fake_api, [{"role": "user", "content": "hi"}]) == 200

            def test_clean(fake_api):
                fake_api.load([text("ok")])
                assert post(fake_api, [{"role": "user", "content": "hi"}]) == 200

            def test_opted_out(fake_api):
                fake_api.load([text("unused")])
                fake_api.allow_leftover = True
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "fake_api.pytest_plugin",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    cmd += ["--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_inner.py")]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    out = result.stdout
    assert result.returncode == 1, out
    assert "4 passed, 2 errors" in out, out  # teardown errors count apart
    assert "ERROR at teardown of test_violation" in out
    assert TOOL_NOT_RESPONSE in out
    assert "ERROR at teardown of test_leftover" in out and "never requested" in out


def test_an_unchanged_replay_of_the_answer_is_a_cache_hit(fake_api, client):
    """DeepSeek persists the end of the model output too; dropping reasoning loses that hit."""
    fake_api.load([text("first", reasoning="because"), text("a"), text("b")])
    stream(client, [USER], tools=[READ_TOOL])
    exact = {"role": "assistant", "content": "first", "reasoning_content": "because"}
    follow = {"role": "user", "content": "and then?"}
    second = stream(client, [USER, exact, follow], tools=[READ_TOOL])
    prefix = json.dumps([READ_TOOL], sort_keys=True, separators=(",", ":"))
    prefix += json.dumps(USER, sort_keys=True, separators=(",", ":"))
    prefix += json.dumps(exact, sort_keys=True, separators=(",", ":"))
    assert (second["usage"].model_extra or {})["prompt_cache_hit_tokens"] == len(prefix) // 4

    fake_api.configure()  # same server, same cache
    stripped = {"role": "assistant", "content": "first", "reasoning_content": ""}
    third = stream(
        client, [USER, stripped, {"role": "user", "content": "other"}], tools=[READ_TOOL]
    )
    assert (third["usage"].model_extra or {})["prompt_cache_hit_tokens"] < len(prefix) // 4
