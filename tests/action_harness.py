"""Run action.yml's steps as a GitHub runner would, on this machine, against the test servers.

What the runner does for a composite action, and so what this does: the inputs are the `with:`
values the workflow passes, else each input's default; each step's `if:` is evaluated (a step
whose condition is false is skipped); its `env:` values are evaluated and added to the job's
environment; its `run:` script goes to `bash --noprofile --norc -eo pipefail FILE` (what
`shell: bash` means); what it appends to `$GITHUB_OUTPUT` becomes `steps.ID.outputs`, what it
appends to `$GITHUB_PATH` goes in front of PATH for the later steps. A `uses:` step is not run:
it is recorded with its evaluated `with:`. The first step that fails ends the action.

Expressions (`${{ ... }}`) are evaluated for the subset the action uses: the contexts
`inputs`, `github`, `runner` and `steps`; string literals; `==`, `!=` (strings compared
case-insensitively, as GitHub does), `&&`, `||` (giving one of their operands), `!` and
parentheses. Anything else raises, so the action cannot start using something these tests
do not model without the tests saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML, which pre-commit (a test extra) needs
from cli_harness import cli_env

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
TOKEN = re.compile(r"\s*('(?:[^']|'')*'|==|!=|&&|\|\||!|\(|\)|[A-Za-z_][\w.-]*)")


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


class Expression:
    """One expression's value in `contexts` (nested dicts; a missing key is null)."""

    def __init__(self, text: str, contexts: Mapping[str, Any]) -> None:
        self.tokens = self._tokenize(text)
        self.contexts = contexts
        self.at = 0

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, at = [], 0
        while at < len(text.rstrip()):
            m = TOKEN.match(text, at)
            if m is None:
                raise ValueError(f"expression not modelled: {text!r} at {at}")
            tokens.append(m.group(1))
            at = m.end()
        return tokens

    def value(self) -> Any:
        result = self._or()
        if self.at != len(self.tokens):
            raise ValueError(f"expression not modelled: {' '.join(self.tokens)}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self.at += 1
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self.at += 1
            right = self._compare()
            left = right if truthy(left) else left
        return left

    def _compare(self) -> Any:
        left = self._unary()
        if (op := self._peek()) in ("==", "!="):
            self.at += 1
            right = self._unary()
            same = _fold(left) == _fold(right)
            return same if op == "==" else not same
        return left

    def _unary(self) -> Any:
        token = self._peek()
        self.at += 1
        if token == "!":
            return not truthy(self._unary())
        if token == "(":
            inner = self._or()
            assert self._peek() == ")", "unbalanced parentheses"
            self.at += 1
            return inner
        if token is None or token in (")", "==", "!=", "&&", "||"):
            raise ValueError(f"expression not modelled: {' '.join(self.tokens)}")
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token]
        return self._lookup(token)

    def _lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head not in self.contexts:
            raise ValueError(f"context not modelled: {path}")
        node: Any = self.contexts[head]
        for part in rest:
            node = node.get(part) if isinstance(node, dict) else None
        return node


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else ("" if value is None else value)


def truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(text: str, contexts: Mapping[str, Any]) -> str:
    """A string with `${{ ... }}` in it, each replaced by its value as text."""
    return TEMPLATE.sub(lambda m: as_text(Expression(m.group(1), contexts).value()), text)


def condition(text: str, contexts: Mapping[str, Any]) -> bool:
    """An `if:` (with or without `${{ }}` around it)."""
    m = TEMPLATE.fullmatch(text.strip())
    return truthy(Expression(m.group(1) if m else text, contexts).value())


@dataclass
class StepRun:
    name: str
    id: str | None
    env: dict[str, str]
    returncode: int
    output: str


@dataclass
class ActionRun:
    """What a run of the action did: each step run, the `uses:` steps it reached, and the
    outputs of each step."""

    runs: list[StepRun] = field(default_factory=list)
    uses: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """The failing step's exit code (the job's step fails), else 0."""
        return next((r.returncode for r in self.runs if r.returncode), 0)

    @property
    def log(self) -> str:
        """What the job's log shows (each step's stdout and stderr, as they came)."""
        return "".join(r.output for r in self.runs)


@dataclass
class Runner:
    """A job's world: the runner's variables, a temp folder, the event, the installed v4code."""

    tmp: Path
    workspace: Path
    event: dict[str, Any]
    github: Mapping[str, str] = field(default_factory=dict)  # GITHUB_* the runner sets
    secrets: Mapping[str, str] = field(default_factory=dict)  # the workflow's `secrets`
    preinstalled: bool = True  # v4code already in the job's venv (the install step skips pip)
    path: tuple[str, ...] = ()  # folders in front of PATH (programs standing in for the runner's)

    def __post_init__(self) -> None:
        self.temp = self.tmp / "runner-temp"
        self.temp.mkdir(parents=True, exist_ok=True)
        self.event_path = self.tmp / "event.json"
        self.event_path.write_text(json.dumps(self.event), encoding="utf-8")
        if self.preinstalled:
            self._preinstall()

    def _preinstall(self) -> None:
        """v4code as the install step leaves it: `$RUNNER_TEMP/v4code-venv/bin/v4code` (here
        the test environment's, so the install step finds it and fetches nothing)."""
        program = self.temp / "v4code-venv" / "bin" / "v4code"
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m v4code "$@"\n')
        program.chmod(0o755)

    def environment(self) -> dict[str, str]:
        env = cli_env(key=None, base_url=None)  # no DEEPSEEK_* of the test runner's
        env |= {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(self.temp),
            **self.github,
        }
        return env

    def run_workflow_step(self, step: Mapping[str, Any]) -> ActionRun:
        """A workflow's step that uses the action: its `with:` evaluated in the workflow's
        contexts and turned into text as the runner does (`true`, not `True`), then run."""
        contexts = {
            "secrets": dict(self.secrets),
            "github": {"token": self.github.get("GITHUB_TOKEN")},
        }
        given = step.get("with") or {}
        return self.run({k: evaluate(as_text(v), contexts) for k, v in given.items()})

    def run(self, inputs: Mapping[str, str]) -> ActionRun:
        action = load_action()
        declared = action.get("inputs") or {}
        unknown = set(inputs) - set(declared)
        assert not unknown, f"inputs action.yml does not declare: {unknown}"
        contexts: dict[str, Any] = {
            "github": {"action_path": str(ROOT), "token": self.github.get("GITHUB_TOKEN", "")},
            "runner": {"temp": str(self.temp)},
            "steps": {},
        }
        contexts["inputs"] = {
            name: inputs[name] if name in inputs else evaluate(str(spec.get("default", "")), contexts)
            for name, spec in declared.items()
        }  # fmt: skip
        done = ActionRun()
        path_prefix: list[str] = []
        for number, step in enumerate(action["runs"]["steps"]):
            if "if" in step and not condition(str(step["if"]), contexts):
                continue
            if "uses" in step:
                with_ = {k: evaluate(str(v), contexts) for k, v in (step.get("with") or {}).items()}
                done.uses.append({"uses": step["uses"], "with": with_})
                continue
            ran = self._run_step(number, step, contexts, path_prefix)
            done.runs.append(ran)
            if ran.id:
                done.outputs[ran.id] = contexts["steps"][ran.id]["outputs"]
            if ran.returncode:
                break
        return done

    def _run_step(
        self, number: int, step: dict[str, Any], contexts: dict[str, Any], path_prefix: list[str]
    ) -> StepRun:
        assert step.get("shell") == "bash", "every run step says shell: bash"
        script = self.tmp / f"step-{number}.sh"
        script.write_text(evaluate(step["run"], contexts), encoding="utf-8")
        files = {name: self.tmp / f"step-{number}.{name}" for name in ("output", "path")}
        for f in files.values():
            f.write_text("")
        step_env = {k: evaluate(str(v), contexts) for k, v in (step.get("env") or {}).items()}
        env = self.environment() | step_env
        env["GITHUB_OUTPUT"], env["GITHUB_PATH"] = str(files["output"]), str(files["path"])
        env["PATH"] = os.pathsep.join([*path_prefix, *self.path, env["PATH"]])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=180,
        )  # fmt: skip
        outputs = _read_outputs(files["output"].read_text(encoding="utf-8"))
        path_prefix[:0] = files["path"].read_text(encoding="utf-8").split()
        if step.get("id"):
            contexts["steps"][step["id"]] = {"outputs": outputs}
        return StepRun(step.get("name", ""), step.get("id"), step_env, done.returncode, done.stdout)


def _read_outputs(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as $GITHUB_OUTPUT takes them."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for more in lines:
                if more == delimiter:
                    break
                block.append(more)
            out[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
    return out
