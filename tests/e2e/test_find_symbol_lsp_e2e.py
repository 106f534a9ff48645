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

INVOICES = """class Invoice:
    def total(self) -> int:
        return 1


class Order:
    def total(self) -> int:
        return 2
"""
USES = """from inv import Invoice, Order


def both(i: Invoice, o: Order) -> int:
    return i.total() + o.total()


def order_only(o: Order) -> int:
    return o.total()


def invoice_only(i: Invoice) -> int:
    return i.total()
"""


def _run(
    workspace: Path, server: FakeDeepSeek, v4code_home: Path, *, diagnostics: bool
) -> list[dict[str, Any]]:
    (workspace / "inv.py").write_text(INVOICES)
    (workspace / "use.py").write_text(USES)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")  # a cold server
    server.load([tool_calls([("find_symbol", {"name": "Invoice.total"})]), text("done")])
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
    (result,) = [m["content"] for m in server.chat_requests[-1].messages if m["role"] == "tool"]
    return str(result)


def _source(events: list[dict[str, Any]]) -> object:
    (finished,) = [e for e in events if e["type"] == "tool_finished"]
    return finished["result"]["data"]["source"]


@pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None,
    reason="basedpyright is not installed (pip install -e '.[lsp]')",
)
def test_uses_come_from_the_language_server_when_one_runs(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    events = _run(workspace, fake_api, v4code_home, diagnostics=True)

    answer = _answer(fake_api)
    assert "inv.py:2-3: def total(self) -> int" in answer
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
