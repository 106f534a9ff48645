"""An edit's new errors from the real servers of the other languages (TypeScript, Go, Rust),
through the real CLI: each test runs where its server is installed and skips, saying why,
where it is not (nothing here installs a toolchain)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cli_harness
import pytest
from fake_api import FakeDeepSeek, text, tool_calls

from v4code.safety.sandbox import sandbox_problem


@dataclass(frozen=True)
class Case:
    language: str
    program: str  # the default server, as `v4code lsp status` names it
    path: str
    clean: str
    broken: str
    error: str  # a new error's line, as the result shows it
    files: tuple[tuple[str, str], ...] = ()  # the project around it (go.mod, Cargo.toml)
    probe: tuple[str, ...] = ()  # a command that must succeed for the server to work


CASES = (
    Case(
        "typescript",
        "typescript-language-server",
        "calc.ts",
        "export function total(xs: number[]): number {\n  return xs.length;\n}\n",
        "export function total(xs: number[]): number {\n  return totl.length;\n}\n",
        "calc.ts:2: Cannot find name 'totl'.",  # "Did you mean 'total'?" follows
    ),
    Case(
        "go",
        "gopls",
        "calc.go",
        "package calc\n\nfunc Total(xs []int) int {\n\treturn len(xs)\n}\n",
        "package calc\n\nfunc Total(xs []int) int {\n\treturn len(totl)\n}\n",
        "calc.go:4: undefined: totl",
        (("go.mod", "module example.com/calc\n\ngo 1.21\n"),),
        ("go", "version"),
    ),
    Case(
        "rust",
        "rust-analyzer",
        "src/lib.rs",
        "pub fn total(xs: &[i32]) -> usize {\n    xs.len()\n}\n",
        "pub fn total(xs: &[i32]) -> usize {\n    totl.len()\n}\n",
        "src/lib.rs:2: cannot find value `totl` in this scope",
        (("Cargo.toml", '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n'),),
        ("rust-analyzer", "--version"),
    ),
)


def _missing(case: Case) -> str | None:
    """Why the case's server cannot run on this machine, or None."""
    if shutil.which(case.program) is None:
        return f"{case.program} is not installed (see the README's Diagnostics section)"
    if case.probe:
        try:
            probe = subprocess.run(case.probe, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(case.probe)} does not run here: {exc}"
        if probe.returncode != 0:
            said = (probe.stderr or probe.stdout).decode(errors="replace").strip()[:120]
            return f"{' '.join(case.probe)} fails here: {said}"
    return None


def _run(workspace: Path, server: FakeDeepSeek, case: Case) -> list[dict[str, Any]]:
    sandbox = shutil.which("bwrap") is not None and sandbox_problem(workspace) is None
    return cli_harness.run_diagnosed(
        workspace, server, "--permission-mode", "full-auto", "fix it", sandbox=sandbox, timeout=300
    )


@pytest.mark.parametrize("case", CASES, ids=[c.language for c in CASES])
def test_an_edit_that_breaks_a_name_reports_the_new_error(
    case: Case, workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    missing = _missing(case)
    if missing is not None:
        pytest.skip(missing)
    for name, content in ((case.path, case.clean), *case.files):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(content)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")  # a cold server
    edit = {"path": case.path, "content": case.broken}
    fake_api.load([tool_calls([("write_file", edit)]), text("done")])

    events = _run(workspace, fake_api, case)

    (edited,) = cli_harness.tool_results(fake_api)
    assert "New errors after this edit:" in edited
    assert case.error in edited
    (found,) = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert [line for line in found if line.startswith(case.error)], found


INVOICES_TS = """export class Invoice {
  total(): number {
    return 1;
  }
}

export class Order {
  total(): number {
    return 2;
  }
}
"""
USES_TS = """import { Invoice, Order } from "./inv";

export function both(i: Invoice, o: Order): number {
  return i.total() + o.total();
}

export function orderOnly(o: Order): number {
  return o.total();
}
"""


def _find_invoice_total(
    workspace: Path, v4code_home: Path, server: FakeDeepSeek, *, tsconfig: bool
) -> str:
    """find_symbol's answer for `Invoice.total` in the TypeScript project (with or without
    its tsconfig.json); the test is skipped where the server cannot run."""
    missing = _missing(CASES[0])
    if missing is not None:
        pytest.skip(missing)
    (workspace / "inv.ts").write_text(INVOICES_TS)
    (workspace / "use.ts").write_text(USES_TS)
    if tsconfig:
        (workspace / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}}\n')
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")
    server.load([tool_calls([("find_symbol", {"name": "Invoice.total"})]), text("done")])

    _run(workspace, server, CASES[0])

    (answer,) = cli_harness.tool_results(server)
    return answer


def test_find_symbol_lists_a_typescript_methods_uses_from_the_server(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    answer = _find_invoice_total(workspace, v4code_home, fake_api, tsconfig=True)

    assert "References (1, from the language server):\n  use.ts:4" in answer
    assert "use.ts:8" not in answer  # Order.total


def test_a_server_that_sees_no_use_does_not_hide_the_trees_uses(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    """Without a tsconfig.json the server's project is the one file: it knows no use."""
    answer = _find_invoice_total(workspace, v4code_home, fake_api, tsconfig=False)

    assert "References (2):\n  use.ts:4\n  use.ts:8" in answer
