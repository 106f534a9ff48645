"""`v4code map` and `v4code locate` through the installed command, on small repositories."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_repo

from v4code.repomap.cli_entry import TerminalProgress

FILES = {
    "inventory/__init__.py": "",
    "inventory/stock.py": (
        '"""Stock levels per warehouse."""\n\n\n'
        "class StockLedger:\n"
        "    def reserve(self, sku: str, quantity: int) -> bool:\n"
        "        return quantity <= self.available(sku)\n\n"
        "    def available(self, sku: str) -> int:\n"
        "        return 0\n"
    ),
    "inventory/shipping.py": (
        "from inventory.stock import StockLedger\n\n\n"
        "def ship_order(ledger: StockLedger, sku: str) -> None:\n"
        "    ledger.reserve(sku, 1)\n"
    ),
    "web/handlers.ts": (
        "export function renderInvoice(id: string): string {\n  return `invoice ${id}`;\n}\n"
    ),
    "tests/test_stock.py": (
        "from inventory.stock import StockLedger\n\n\n"
        "def test_reserve():\n    assert not StockLedger().reserve('a', 1)\n"
    ),
}


def v4code(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "v4code", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def repo(workspace: Path) -> Path:
    return make_repo(workspace, FILES)


def test_locate_json_lists_relative_paths_best_first(repo: Path) -> None:
    done = v4code(repo, "locate", "--json", "StockLedger.reserve accepts more than available")
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert files[0]["path"] == "inventory/stock.py"
    assert files[0]["score"] == 1.0
    assert "reserve" in files[0]["why"].lower() or "stockledger" in files[0]["why"].lower()
    scores = [f["score"] for f in files]
    assert scores == sorted(scores, reverse=True)
    assert all(set(f) == {"path", "score", "why"} for f in files)
    assert all(not f["path"].startswith("/") for f in files)
    assert done.stderr == ""  # no progress when stderr is not a terminal


def test_locate_reads_stdin_limits_top_and_works_from_elsewhere(repo: Path, tmp_path: Path) -> None:
    issue = 'Traceback:\n  File "inventory/shipping.py", line 5, in ship_order\nKeyError'
    done = v4code(tmp_path, "locate", "-C", str(repo / "web"), "--top", "1", "-", stdin=issue)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.split()[:2] == ["1.00", "inventory/shipping.py"]


def test_locate_ranks_tests_low_unless_asked(repo: Path) -> None:
    done = v4code(repo, "locate", "--json", "reserve stock ledger")
    paths = [f["path"] for f in json.loads(done.stdout)["files"]]
    assert paths.index("inventory/stock.py") < paths.index("tests/test_stock.py")


def test_locate_refuses_empty_text(repo: Path) -> None:
    done = v4code(repo, "locate", "-", stdin="  \n")
    assert done.returncode == 2
    assert "TEXT is empty" in done.stderr


def test_map_prints_signatures_within_the_budget(repo: Path) -> None:
    done = v4code(repo, "map", "--focus", "render the invoice page", "--tokens", "60")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("web/handlers.ts")
    assert "renderInvoice(id: string): string" in done.stdout
    assert len(done.stdout) <= 60 * 4 + 1
    whole = v4code(repo, "map")
    assert "class StockLedger" in whole.stdout
    assert "return" not in whole.stdout


def test_a_focus_that_matches_nothing_still_maps_the_repository_and_says_so(repo: Path) -> None:
    """The README's own example, in a repository with nothing about invoices' totals, printed
    "(no files to map)": an empty map of a repository that has files."""
    done = v4code(repo, "map", "--focus", "quarterly zzyzx totals", "--tokens", "1500")
    assert done.returncode == 0, done.stderr
    assert done.stdout == v4code(repo, "map", "--tokens", "1500").stdout
    assert "class StockLedger" in done.stdout
    assert done.stderr == (
        "v4code map: no file matches the focus 'quarterly zzyzx totals'; "
        "the most-used files instead\n"
    )


def test_map_of_a_repository_without_code(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    subprocess.run(["git", "init", "-q"], cwd=tmp_path / "notes", check=True)
    done = v4code(tmp_path / "notes", "map")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "(no files to map)\n"
    located = v4code(tmp_path / "notes", "locate", "--json", "anything")
    assert json.loads(located.stdout) == {"files": []}


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = v4code(tmp_path, "map", "-C", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_after_a_while() -> None:
    quick = Terminal()
    TerminalProgress(quick, after=60)(10, 100)
    assert quick.getvalue() == ""
    slow = Terminal()
    progress = TerminalProgress(slow, after=0)
    progress(10, 2000)
    progress(2000, 2000)
    progress.finish()
    assert "indexing 2,000/2,000 files" in slow.getvalue()
    assert slow.getvalue().endswith("\r\x1b[K")
    piped = io.StringIO()
    TerminalProgress(piped, after=0)(10, 100)
    assert piped.getvalue() == ""


def test_the_map_indents_by_nesting_and_signatures_drop_comments(workspace: Path) -> None:
    make_repo(
        workspace,
        {
            "nest.py": (
                "class Outer:\n"
                "    def method(self, x):  # the trailing remark\n"
                "        def inner(y):\n"
                "            return y\n"
                "        return inner(x)\n\n\n"
                "def top(a,  # why a\n"
                "        b):\n"
                "    def helper():  # helps\n"
                "        pass\n"
                "    return helper\n"
            ),
            "web/nest.js": (
                "function outer(a /* the a */, b) { // remark\n"
                "  function inner() {\n    return a;\n  }\n  return inner;\n}\n"
            ),
        },
    )
    done = v4code(workspace, "map")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for expected in (
        "  1-5: class Outer",
        "    2-5: def method(self, x)",
        "      3-4: def inner(y)",
        "  8-12: def top(a, b)",
        "    10-11: def helper()",
        "  1-6: function outer(a, b)",
        "    2-4: function inner()",
    ):
        assert expected in lines, (expected, done.stdout)
    assert "remark" not in done.stdout and "why a" not in done.stdout
    outline = v4code(workspace, "map", "--tokens", "4000")
    assert "      3-4: def inner(y)" in outline.stdout.splitlines()
