"""Model roles and routing through the real command line, against the test server.

`--model auto` starts on Flash and escalates to Pro on a named signal (the tests failing three
times in a row, the same edit refused twice, a repeated call, the model's `escalate` call),
stays there across `--resume`, and prices each response by the model that served it, so
`--max-cost` works with it. `fallback_model` takes over on overload (429/503 after the
retries) or a model the server no longer serves. Each switch is a line, a jsonl event and a
`switches` entry of the json result; the server saw each request's model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chat_harness import ENTER, chat
from cli_harness import v4code
from conftest import git
from fake_api import FakeDeepSeek, fault, text, tool_call

from v4code.config import DEFAULT_PRICES
from v4code.sessions import list_sessions, read_session

FLASH, PRO = "deepseek-flash", "deepseek-v4-pro"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TESTS = f"{sys.executable} -m pytest -q -p no:cacheprovider"
OFF_PEAK = {"V4CODE_PEAK_MULTIPLIER": "1"}  # the figures do not depend on the hour


def project(workspace: Path) -> Path:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (workspace / "test_calc.py").write_text(TEST_CALC)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "calc")
    return workspace


def edit(old: str, new: str) -> dict[str, Any]:
    return tool_call("edit_file", path="calc.py", old_string=old, new_string=new)


def models(server: FakeDeepSeek) -> list[str]:
    return [r.body["model"] for r in server.chat_requests]


def tool_names(request: Any) -> list[str]:
    return [t["function"]["name"] for t in request.tools]


def run(
    root: Path, server: FakeDeepSeek, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return v4code(root, "run", *args, server=server, env={**OFF_PEAK, **(env or {})})


def jsonl(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def cost(usage: dict[str, Any], model: str) -> float:
    price = DEFAULT_PRICES[model]
    return (
        usage["cache_hit_tokens"] * price["hit"]
        + usage["cache_miss_tokens"] * price["miss"]
        + usage["completion_tokens"] * price["output"]
    ) / 1_000_000


def test_auto_escalates_after_three_failing_test_runs_and_prices_each_model(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load(
        [
            tool_call("run_command", command=TESTS),
            edit("a - b", "a * b"),
            tool_call("run_command", command=TESTS),
            edit("a * b", "a ** b"),
            tool_call("run_command", command=TESTS),  # the third failure in a row
            edit("a ** b", "a + b"),
            tool_call("run_command", command=TESTS),
            text("Fixed: add adds."),
        ]
    )
    done = run(root, fake_api, "-o", "jsonl", "--model", "auto", "--max-cost", "5", "fix add")
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [FLASH] * 5 + [PRO] * 3
    events = jsonl(done)
    switched = [e for e in events if e["type"] == "model_switched"]
    assert switched == [
        {
            "type": "model_switched",
            "from_model": FLASH,
            "to_model": PRO,
            "signal": "tests_failing",
            "reason": "the tests failed three times in a row",
            "step": 5,
        }
    ]
    result = events[-1]
    assert result["type"] == "result" and result["status"] == "done"
    assert result["switches"] == [
        {
            "from": FLASH,
            "to": PRO,
            "signal": "tests_failing",
            "reason": "the tests failed three times in a row",
            "step": 5,
        }
    ]
    used = [e for e in events if e["type"] == "usage_reported"]
    assert [e["model"] for e in used] == [FLASH] * 5 + [PRO] * 3
    for event in used:  # each response at its own model's price
        assert event["cost"] == pytest.approx(cost(event["usage"], event["model"]), abs=2e-6)
    assert result["cost_usd"] == pytest.approx(sum(e["cost"] for e in used), abs=1e-5)
    first_pro = used[5]["usage"]
    assert first_pro["cache_hit_tokens"] == 0  # Pro's cache was cold: a full miss
    assert used[4]["usage"]["cache_hit_tokens"] > 0
    assert (root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_the_escalate_tool_is_offered_only_with_auto_and_pro_holds_on_resume(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load([text("Hi.")])
    assert run(root, fake_api, "-o", "json", "hello").returncode == 0
    assert "escalate" not in tool_names(fake_api.chat_requests[0])
    fake_api.reset()
    fake_api.load(
        [
            tool_call("escalate", reason="the bug spans three modules"),
            text("Pro looked at it."),
        ]
    )
    done = run(root, fake_api, "-o", "json", "-m", "auto", "find the bug")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert models(fake_api) == [FLASH, PRO]
    assert first["switches"][0] | {"reason": ""} == {
        "from": FLASH,
        "to": PRO,
        "signal": "escalate",
        "reason": "",
        "step": 1,
    }
    tools = fake_api.chat_requests[0].tools
    assert "escalate" in tool_names(fake_api.chat_requests[0])
    fake_api.reset()
    fake_api.load([text("Still Pro.")])
    again = run(root, fake_api, "-o", "json", "--resume", first["session_id"], "go on")
    assert again.returncode == 0, again.stderr
    assert models(fake_api) == [PRO]  # no `--model auto` needed: the session was started so
    assert fake_api.chat_requests[0].tools == tools  # the same tool list: the prefix holds
    assert json.loads(again.stdout)["switches"] == []


def test_the_same_edit_refused_twice_escalates_with_a_line_on_stderr(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    wrong = edit("return a + c", "return a + b")  # not in the file: refused
    fake_api.load(
        [wrong, tool_call("read_file", path="calc.py"), wrong, edit("a - b", "a + b"), text("ok")]
    )
    done = run(root, fake_api, "--model", "auto", "fix add")
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [FLASH] * 3 + [PRO] * 2
    assert (
        f"⇄ escalated: {FLASH} → {PRO}, the same edit was refused twice (step 3; the new "
        "model's prompt cache starts cold)"
    ) in done.stderr


def test_a_repeated_identical_call_escalates(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    read = tool_call("read_file", path="calc.py")
    fake_api.load([read, read, text("It subtracts.")])
    done = run(root, fake_api, "-o", "json", "--model", "auto", "what does add do?")
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [FLASH, FLASH, PRO]
    assert [s["signal"] for s in json.loads(done.stdout)["switches"]] == ["repeated_call"]


def test_after_an_escalation_the_new_model_counts_its_repeats_afresh(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """Pro's first call may be the call Flash repeated: that is one call of Pro's, not the
    third of a loop (the run ended at once, "3 times in a row", before)."""
    root = project(workspace)
    read = tool_call("read_file", path="calc.py")
    fake_api.load([read, read, read, text("It subtracts.")])
    done = run(root, fake_api, "-o", "json", "--model", "auto", "what does add do?")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["final_message"]) == ("done", "It subtracts.")
    assert models(fake_api) == [FLASH, FLASH, PRO, PRO]


def test_without_auto_nothing_escalates(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    read = tool_call("read_file", path="calc.py")
    fake_api.load([read, read, text("It subtracts.")])
    done = run(root, fake_api, "-o", "json", "--model", FLASH, "what does add do?")
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [FLASH] * 3
    assert json.loads(done.stdout)["switches"] == []


@pytest.mark.parametrize(
    ("failure", "signal"),
    [
        (fault(429), "overloaded"),
        (fault(503), "overloaded"),
        (fault(400, message="Model Not Exist"), "model_not_served"),
    ],
)
def test_fallback_model_takes_over_and_says_so(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path, failure: Any, signal: str
) -> None:
    root = project(workspace)
    retried = failure["status"] != 400  # a 400 is not retried
    fake_api.load([failure, failure] if retried else [failure])
    fake_api.extend([tool_call("read_file", path="calc.py"), text("It subtracts.")])
    env = {"V4CODE_MAX_RETRIES": "1", "V4CODE_FALLBACK_MODEL": FLASH}
    done = run(root, fake_api, "-o", "json", "--model", PRO, "what does add do?", env=env)
    assert done.returncode == 0, done.stderr
    assert models(fake_api) == [PRO] * (2 if retried else 1) + [FLASH, FLASH]
    result = json.loads(done.stdout)
    assert [(s["from"], s["to"], s["signal"], s["step"]) for s in result["switches"]] == [
        (PRO, FLASH, signal, 1)
    ]
    assert result["final_message"] == "It subtracts."


def test_without_a_fallback_model_overload_still_ends_the_run(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    fake_api.load([fault(429), fault(429)])
    env = {"V4CODE_MAX_RETRIES": "1"}
    done = run(root, fake_api, "-o", "json", "--model", PRO, "hello", env=env)
    assert done.returncode == 3
    assert json.loads(done.stdout)["switches"] == []


def test_max_cost_with_auto_names_the_model_without_a_price(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = project(workspace)
    env = {"V4CODE_PRO_MODEL": "deepseek-v5-pro"}
    done = run(root, fake_api, "--model", "auto", "--max-cost", "1", "hi", env=env)
    assert done.returncode == 2
    assert "no price is known for model 'deepseek-v5-pro'" in done.stderr
    assert fake_api.chat_requests == []


def test_the_chat_shows_the_switch(
    workspace: Path,
    fake_api: FakeDeepSeek,
    v4code_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api.load([tool_call("escalate", reason="hard"), text("Done on Pro.")])
    screen = chat(workspace, fake_api, monkeypatch, ["look at it" + ENTER], flags={"model": "auto"})
    assert f"⇄ escalated: {FLASH} → {PRO}, the model asked for the stronger model" in screen
    assert models(fake_api) == [FLASH, PRO]


def test_compaction_runs_on_the_compact_model_and_is_priced_as_it(
    workspace: Path,
    fake_api: FakeDeepSeek,
    v4code_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api.load([text("a1"), text("a2"), text("a3"), text("Earlier: one, two."), text("a4")])
    keys = ["one" + ENTER, "two" + ENTER, "three" + ENTER, "/compact" + ENTER, "four" + ENTER]
    flags = {"model": PRO, "compact_model": FLASH}
    screen = chat(workspace, fake_api, monkeypatch, keys, flags=flags)
    assert "Compacted 2 older messages" in screen
    assert models(fake_api) == [PRO, PRO, PRO, FLASH, PRO]
    log = read_session(list_sessions(workspace)[0])
    priced = [e["model"] for e in log.events if e["type"] == "usage_reported"]
    assert priced == [PRO, PRO, PRO, FLASH, PRO]


def test_model_auto_in_the_chat(
    workspace: Path,
    fake_api: FakeDeepSeek,
    v4code_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api.load([text("Hi.")])
    screen = chat(workspace, fake_api, monkeypatch, ["/model auto" + ENTER, "hi" + ENTER])
    assert "model: auto" in screen
    assert "has no model" not in screen and "No price" not in screen
    assert models(fake_api) == [FLASH]


def test_a_switch_is_budgeted_as_the_cache_miss_it_is(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    """After the escalation the next prompt is Pro's, with nothing of it in Pro's cache: at
    Pro's miss rate it would pass the cap, so it is never sent (at a cache-hit rate it would
    have looked affordable)."""
    root = project(workspace)
    fake_api.load([tool_call("escalate", reason="hard")])
    done = run(root, fake_api, "-o", "json", "-m", "auto", "--max-cost", "0.002", "fix add")
    result = json.loads(done.stdout)
    assert done.returncode == 4, done.stderr
    assert result["status"] == "limit" and "the next request would cost" in result["reason"]
    assert models(fake_api) == [FLASH]
    assert [s["to"] for s in result["switches"]] == [PRO]


def test_a_custom_commands_model_is_for_its_turn_and_the_escalation_holds(
    workspace: Path,
    fake_api: FakeDeepSeek,
    v4code_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (v4code_home / "commands").mkdir()
    (v4code_home / "commands" / "quick.md").write_text(f"---\nmodel: {FLASH}\n---\nAnswer briefly.")
    fake_api.load(
        [tool_call("escalate", reason="hard"), text("On Pro."), text("Brief."), text("Pro again.")]
    )
    keys = ["look" + ENTER, "/quick" + ENTER, "and now?" + ENTER]
    chat(workspace, fake_api, monkeypatch, keys, flags={"model": "auto"})
    assert models(fake_api) == [FLASH, PRO, FLASH, PRO]
