"""Which model the main loop asks: `model = "auto"` escalation and the fallback on failure.

`auto` starts on the cheap model (`flash_model`) and moves to the strong one (`pro_model`)
once, on a named signal that the cheap one is stuck, and stays there for the session (also
after `--resume`: the switch is in the session log):

- edit_refused: the same edit (tool and arguments alike) came back as an error twice;
- tests_failing: the test command failed three times in a row (see `is_test_command`);
- repeated_call: the model made the same call (tool and arguments alike) twice in a row;
- escalate: the model called the `escalate` tool (offered only in `auto` sessions).

Any session moves to `fallback_model` when its model is overloaded (429 or 503 after the
backend's retries) or no longer served. Each switch is a `ModelSwitched` event; the new
model's prefix cache is cold, so the agent counts the next prompt as a miss. Nothing here
prints or reads the wire: the agent asks `model()` before each request and hands over what
happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from v4code.config import AUTO, Settings
from v4code.errors import FALLBACK_CAUSES, BackendError
from v4code.events import ModelSwitched, ToolFinished

ESCALATE_TOOL = "escalate"
EDIT_REFUSALS = 2  # the same edit refused this many times
TEST_FAILURES = 3  # the test command failing this many times in a row
REPEATS = 2  # the same call this many times in a row

# A command is a test run when one of its parts (split at `&&`, `||`, `;` and `|`) runs a test
# runner: after environment assignments and wrappers (`env`, `time`, `timeout N`, `python -m`,
# `uv run`, `poetry run`, `npx`, ...), its program is one of RUNNERS, or one of TEST_VERBS'
# programs given `test` (`npm test`, `npm run test`, `cargo test`, `make check`). Or it holds
# the configured `test_command`.
PYTHON_RUNNERS = frozenset({"pytest", "py.test", "unittest", "tox", "nox"})
RUNNERS = PYTHON_RUNNERS | {"jest", "vitest", "mocha", "rspec", "phpunit", "ctest"}
TEST_VERBS = {
    **dict.fromkeys(("npm", "pnpm", "yarn", "bun"), ("test", "run test")),
    **dict.fromkeys(("cargo", "go", "mix", "dotnet", "mvn", "gradle", "gradlew"), ("test",)),
    **dict.fromkeys(("deno", "zig"), ("test",)),
    "make": ("test", "check"),
}
WRAPPERS = frozenset({"env", "time", "nice", "command", "exec", "npx", "bunx"})
RUN_WRAPPERS = frozenset({"uv", "poetry", "pipenv", "pdm", "hatch", "rye"})  # `X run ...`
REASONS = {
    "edit_refused": "the same edit was refused twice",
    "tests_failing": "the tests failed three times in a row",
    "repeated_call": "the model repeated the same call",
    "escalate": "the model asked for the stronger model",
    "overloaded": "the model is overloaded",
    "model_not_served": "the server no longer serves the model",
}


def is_test_command(command: str, configured: str | None = None) -> bool:
    """True for a command that runs the tests: the configured `test_command`, or a known
    test runner (pytest, npm test, cargo test, go test, make test, ...)."""
    if configured and configured.strip() and configured.strip() in command:
        return True
    return any(_runs_tests(part) for part in re.split(r"&&|\|\||;|\|", command))


def _runs_tests(part: str) -> bool:
    import shlex

    try:
        words = shlex.split(part)
    except ValueError:
        words = part.split()
    words = _program(words)
    if not words:
        return False
    name = words[0].rsplit("/", 1)[-1]
    rest = " ".join(words[1:3])
    verbs = TEST_VERBS.get(name, ())
    return name in RUNNERS or any(rest == v or rest.startswith(v + " ") for v in verbs)


def _program(words: list[str]) -> list[str]:
    """The words from the program on: assignments and wrappers taken off the front."""
    while words:
        first = words[0].rsplit("/", 1)[-1]
        assignment = "=" in words[0] and not words[0].startswith("=")
        runs = (first in RUN_WRAPPERS and words[1:2] == ["run"]) or (
            first.startswith("python") and words[1:2] == ["-m"]
        )
        if assignment or first in WRAPPERS:
            words = words[1:]
        elif runs or first == "timeout":
            words = words[2:]
        else:
            return words
    return words


def _key(finished: ToolFinished) -> tuple[str, str]:
    try:
        arguments = json.dumps(json.loads(finished.call.arguments), sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        arguments = finished.call.arguments
    return finished.call.name, arguments


class Router:
    """The session's current model and the signals that change it (one router per agent).

    `risk_of(name)` says what a tool does ("edit", "command", ...), so a refused edit is told
    from another failed call without knowing the tools by name.
    """

    def __init__(self, risk_of: Callable[[str], str | None]) -> None:
        self._risk_of = risk_of
        self.switched_to: str | None = None  # set by a switch; a person's /model clears it
        self._recount()

    def _recount(self) -> None:
        self._refused: dict[tuple[str, str], int] = {}
        self._failing = 0
        self._last: tuple[str, str] | None = None
        self._repeats = 0

    def model(self, settings: Settings) -> str:
        """The model the next request goes to."""
        if self.switched_to is not None:
            return self.switched_to
        return settings.flash_model if settings.model == AUTO else settings.model

    def chosen(self) -> None:
        """The person picked a model: their choice holds, the signals count afresh."""
        self.switched_to = None
        self._recount()

    def state(self) -> str | None:
        """Where the last switch led (for `restore`)."""
        return self.switched_to

    def restore(self, model: str | None) -> None:
        """Go on from a saved session's last switch."""
        self.switched_to = model

    def watch(self, finished: ToolFinished, settings: Settings, step: int) -> ModelSwitched | None:
        """Count the signals in one finished call; the escalation when one fires (`auto`
        only, once: a session on its strong model or its fallback stays there). Nothing is
        counted when no escalation can follow: a person's choice of model counts afresh."""
        if settings.model != AUTO or self.switched_to is not None:
            return None
        signal = self._signal(finished, settings)
        if signal is None:
            return None
        return self._switch(settings, settings.pro_model, signal, step)

    def fall_back(self, error: BackendError, settings: Settings, step: int) -> ModelSwitched | None:
        """The switch to `fallback_model` when `error` is one it may help with, else None."""
        target, current = settings.fallback_model, self.model(settings)
        if not target or target == current or error.cause not in FALLBACK_CAUSES:
            return None
        return self._switch(settings, target, error.cause, step)

    def _switch(self, settings: Settings, to: str, signal: str, step: int) -> ModelSwitched:
        current = self.model(settings)
        self.switched_to = to
        return ModelSwitched(current, to, signal, REASONS[signal], step)

    def _signal(self, finished: ToolFinished, settings: Settings) -> str | None:
        """Which signal, if any, this call completes (every counter is kept up to date)."""
        key, found = _key(finished), []
        self._repeats = self._repeats + 1 if key == self._last else 1
        self._last = key
        if self._repeats >= REPEATS:
            found.append("repeated_call")
        if finished.call.name == ESCALATE_TOOL and not finished.result.is_error:
            found.append("escalate")
        failed = finished.result.is_error and not finished.denied
        if failed and self._risk_of(finished.call.name) == "edit":
            self._refused[key] = self._refused.get(key, 0) + 1
            if self._refused[key] >= EDIT_REFUSALS:
                found.append("edit_refused")
        if self._test_failed(finished, settings):
            found.append("tests_failing")
        return found[0] if found else None

    def _test_failed(self, finished: ToolFinished, settings: Settings) -> bool:
        """Count a test run's outcome; True at the third failure in a row (a passing run
        starts the count again; other calls in between do not)."""
        data: Any = finished.result.data
        command = _command(finished)
        if (
            command is None
            or finished.denied
            or not is_test_command(command, settings.test_command)
        ):
            return False
        exit_code = data.get("exit_code") if isinstance(data, dict) else None
        if exit_code == 0 and not finished.result.is_error:
            self._failing = 0
            return False
        self._failing += 1
        return self._failing >= TEST_FAILURES


def _command(finished: ToolFinished) -> str | None:
    """The command line of a `run_command` call (None for any other call)."""
    if finished.call.name != "run_command":
        return None
    try:
        args = json.loads(finished.call.arguments)
    except (json.JSONDecodeError, TypeError):
        return None
    command = args.get("command") if isinstance(args, dict) else None
    return command if isinstance(command, str) else None


def switch_line(switch: ModelSwitched) -> str:
    """The line the chat and `run` show for a switch: which way, why, and that it costs the
    cache (`escalated: deepseek-flash → deepseek-v4-pro, the tests failed three times ...`)."""
    verb = "fell back" if switch.signal in FALLBACK_CAUSES else "escalated"
    return (
        f"{verb}: {switch.from_model} → {switch.to_model}, {switch.reason} "
        f"(step {switch.step}; the new model's prompt cache starts cold)"
    )
