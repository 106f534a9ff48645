"""`find_symbol` answers a method's uses from the real language server when one runs (exact:
another class's method of the same name is not among them), from the syntax trees otherwise,
and says which."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cli_harness
import pytest
from fake_api import FakeDeepSeek, text, tool_calls

from v4code.safety.sandbox import sandbox_problem

INVOICES = """MAX_LINES = 3
"The limit is MAX_LINES."  # the name in a string, and in this comment: MAX_LINES


class Invoice:
    def total(self) -> int:
        return 1


class Order:
    def total(self) -> int:
        return 2
"""
USES = """from inv import MAX_LINES, Invoice, Order


def both(i: Invoice, o: Order) -> int:
    return i.total() + o.total()


def order_only(o: Order) -> int:
    return o.total()


def invoice_only(i: Invoice) -> int:
    return i.total()


def cap(lines: list[str]) -> list[str]:
    return lines[:MAX_LINES]
"""


def _run(
    workspace: Path,
    server: FakeDeepSeek,
    v4code_home: Path,
    *,
    diagnostics: bool,
    name: str = "Invoice.total",
) -> list[dict[str, Any]]:
    (workspace / "inv.py").write_text(INVOICES)
    (workspace / "use.py").write_text(USES)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")  # a cold server
    server.load([tool_calls([("find_symbol", {"name": name})]), text("done")])
    sandbox = shutil.which("bwrap") is not None and sandbox_problem(workspace) is None
    done = cli_harness.v4code(
        workspace,
        "run",
        "--output",
        "jsonl",
        "where is Invoice.total used?",
        server=server,
        sandbox=sandbox,
        env={"V4CODE_DIAGNOSTICS": None if diagnostics else "false"},
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _answer(server: FakeDeepSeek) -> str:
    (result,) = cli_harness.tool_results(server)
    return result


def _source(events: list[dict[str, Any]]) -> object:
    (finished,) = [e for e in events if e["type"] == "tool_finished"]
    return finished["result"]["data"]["source"]


needs_server = pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None,
    reason="basedpyright is not installed (pip install -e '.[lsp]')",
)


@needs_server
def test_uses_come_from_the_language_server_when_one_runs(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    events = _run(workspace, fake_api, v4code_home, diagnostics=True)

    answer = _answer(fake_api)
    assert "inv.py:6-7: def total(self) -> int" in answer
    assert "References (2, from the language server):" in answer
    assert "use.py:5" in answer and "use.py:13" in answer
    assert "use.py:9" not in answer  # Order.total: the same name, another class
    assert _source(events) == "lsp"


def test_without_a_server_the_syntax_trees_answer_and_say_so(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    events = _run(workspace, fake_api, v4code_home, diagnostics=False)

    answer = _answer(fake_api)
    assert "References (3):" in answer
    assert "use.py:9" in answer  # a name's uses, whatever it is called on
    assert _source(events) == "tree-sitter"


@needs_server
def test_definitions_come_from_the_language_server_when_one_runs(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    # A module constant is no definition to the syntax trees, which see only classes and
    # functions; the server knows where it is bound, and which lines use it.
    events = _run(workspace, fake_api, v4code_home, diagnostics=True, name="MAX_LINES")

    answer = _answer(fake_api)
    assert (
        "Definitions of MAX_LINES (1, from the language server):\n  inv.py:1-1: MAX_LINES = 3\n"
        in answer
    ), answer
    assert "References (2, from the language server):\n  use.py:1\n  use.py:17" in answer, answer
    assert "inv.py:2" not in answer  # the string and the comment that name it
    assert _source(events) == "lsp"
