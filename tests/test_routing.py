"""The routing rules on their own: what counts as a test run, when a signal fires, and that a
person's choice of model holds over an escalation."""

from __future__ import annotations

import json

import pytest

from v4code.config import Settings
from v4code.events import ToolFinished
from v4code.routing import Router, is_test_command
from v4code.types import ToolCall, ToolResult

AUTO = Settings(model="auto")


@pytest.mark.parametrize(
    "command",
    [
        "pytest -q",
        "python -m pytest tests/test_x.py",
        "cd web && npm test",
        "npm run test -- --watch=false",
        "yarn test",
        "cargo test --workspace",
        "go test ./...",
        "make check",
        "uv run pytest",
        "python -m unittest discover",
        "npx vitest run",
        "CI=1 timeout 60 ./node_modules/.bin/jest",
        "git diff | cat; /usr/bin/python3 -m pytest -x",
        "./gradlew test",
    ],
)
def test_known_test_runners_are_test_runs(command: str) -> None:
    assert is_test_command(command)


@pytest.mark.parametrize(
    "command",
    [
        "ls tests",
        "cat pytest.ini",
        "git log",
        "npm install",
        "grep -r pytest .",
        "make",
        "cargo build",
        "pip install pytest",
    ],
)
def test_other_commands_are_not(command: str) -> None:
    assert not is_test_command(command)


def test_the_configured_test_command_counts() -> None:
    assert is_test_command("./scripts/check-all --fast", "./scripts/check-all")
    assert not is_test_command("./scripts/build", "./scripts/check-all")


def run(command: str, exit_code: int, n: int = 0) -> ToolFinished:
    call = ToolCall(f"c{n}", "run_command", json.dumps({"command": command, "n": n}))
    return ToolFinished(call, ToolResult(call.id, "", data={"exit_code": exit_code}))


def test_a_passing_run_starts_the_count_again() -> None:
    router = Router(lambda name: "command")
    outcomes = [1, 1, 0, 1, 1]
    assert [router.watch(run("pytest", code, i), AUTO, i) for i, code in enumerate(outcomes)] == [
        None
    ] * 5
    switch = router.watch(run("pytest", 1, 9), AUTO, 9)
    assert switch is not None and switch.signal == "tests_failing"
    assert router.model(AUTO) == AUTO.pro_model


def test_a_person_choosing_a_model_clears_the_escalation() -> None:
    router = Router(lambda name: "command")
    for i in range(3):
        router.watch(run("pytest", 1, i), AUTO, i)
    assert router.model(AUTO) == AUTO.pro_model
    router.chosen()
    assert router.model(AUTO) == AUTO.flash_model
    assert router.model(Settings(model="deepseek-v4-pro")) == "deepseek-v4-pro"
