"""locate ranks the file a task names first and says why; the map fits its budget."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import make_repo

from v4code.repomap import api
from v4code.repomap.cli_entry import print_locate, print_map
from v4code.repomap.render import estimate_tokens

PROJECT = {
    "billing/__init__.py": "",
    "billing/invoices.py": '''"""Invoices and their totals."""
from billing.money import Money


class Invoice:
    def __init__(self, lines):
        self.lines = lines

    def total(self) -> Money:
        return sum((line.amount for line in self.lines), Money(0))


def render_invoice(invoice: Invoice) -> str:
    return f"Invoice total: {invoice.total()}"
''',
    "billing/money.py": '''"""Amounts of money in cents."""


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __add__(self, other: "Money") -> "Money":
        return Money(self.cents + other.cents)

    def format_amount(self) -> str:
        return f"{self.cents / 100:.2f}"
''',
    "billing/tax.py": '''"""Tax rules per country."""
from billing.money import Money

RATES = {"fr": 20, "de": 19}


def apply_vat(amount: Money, country: str) -> Money:
    return Money(amount.cents * (100 + RATES[country]) // 100)
''',
    "billing/export/csv_writer.py": '''"""Invoices as CSV."""
import csv


def write_rows(rows, stream):
    writer = csv.writer(stream)
    for row in rows:
        writer.writerow(row)
''',
    "tests/test_invoices.py": """from billing.invoices import Invoice, render_invoice
from billing.money import Money


def test_invoice_total_rounding():
    invoice = Invoice([])
    assert render_invoice(invoice) == "Invoice total: 0"
    assert Money(5).format_amount() == "0.05"
    assert Invoice([]).total().cents == 0
""",
    "docs/usage.md": "# Usage\n\nCreate an Invoice, call total, render_invoice prints it.\n",
}


@pytest.fixture
def project(workspace: Path) -> Path:
    return make_repo(workspace, PROJECT)


def first(root: Path, text: str) -> api.RankedFile:
    ranked = api.locate(root, text, top=5)
    assert ranked, "nothing ranked"
    return ranked[0]


def test_a_named_path_ranks_first(project: Path) -> None:
    best = first(project, "Rows come out in the wrong order, see billing/export/csv_writer.py")
    assert best.path == "billing/export/csv_writer.py"
    assert "billing/export/csv_writer.py" in best.why


def test_a_dotted_module_ranks_first(project: Path) -> None:
    best = first(project, "After upgrading, billing.tax gives a wrong amount for Germany.")
    assert best.path == "billing/tax.py"
    assert "module billing.tax" in best.why


def test_a_traceback_frame_ranks_first(project: Path) -> None:
    text = """Crash when formatting an invoice

Traceback (most recent call last):
  File "/home/someone/venv/lib/python3.11/site-packages/billing/money.py", line 9, in __add__
    return Money(self.cents + other.cents)
AttributeError: 'int' object has no attribute 'cents'
"""
    best = first(project, text)
    assert best.path == "billing/money.py"
    assert "traceback frame line 9 in __add__" in best.why


@pytest.mark.parametrize(
    "frame",
    [
        # IPython 7 and Jupyter: the line number comes on a later arrow line
        "~/venv/lib/python3.11/site-packages/billing/money.py in __add__(self, other)\n"
        "      8     def __add__(self, other):\n"
        "----> 9         return Money(self.cents + other.cents)",
        # IPython 8
        "File ~/venv/lib/python3.11/site-packages/billing/money.py:9, in Money.__add__(self, other)",
        # pytest
        "billing/money.py:9: in __add__",
    ],
)
def test_a_traceback_frame_from_ipython_or_pytest_ranks_first(project: Path, frame: str) -> None:
    text = f"""Crash when formatting an invoice

{frame}
AttributeError: 'int' object has no attribute 'cents'
"""
    best = first(project, text)
    assert best.path == "billing/money.py"
    assert "traceback frame line 9 in __add__" in best.why


def test_a_short_class_called_in_the_task_finds_its_definition(workspace: Path) -> None:
    files = {
        "orm/query_utils.py": "class Q:\n    def __or__(self, other):\n        return self\n",
        "orm/expressions.py": "class Combinable:\n    def __or__(self, other):\n        return self\n",
        "orm/shortcuts.py": "def Q2():\n    return 1\n\nq = 3\n",
    }
    root = make_repo(workspace, files)
    best = first(root, "Combining fails: `Q(a=1) | Q(b=2)` raises TypeError about the or")
    assert best.path == "orm/query_utils.py"
    assert "defines Q" in best.why


def test_a_test_file_named_in_the_body_stays_below_the_code(project: Path) -> None:
    text = (
        "Invoice total drops the cents\n\n"
        "Invoice.total() loses the cents; see tests/test_invoices.py for the case."
    )
    ranked = [r.path for r in api.locate(project, text, top=10)]
    assert ranked[0] == "billing/invoices.py"
    assert "tests/test_invoices.py" in ranked


def test_an_identifier_ranks_its_definition_first(project: Path) -> None:
    best = first(project, "`apply_vat` should round half up")
    assert best.path == "billing/tax.py"
    assert "defines apply_vat" in best.why


def test_tests_rank_below_the_code_they_test(project: Path) -> None:
    ranked = [
        r.path for r in api.locate(project, "Invoice total is rendered without cents", top=10)
    ]
    assert ranked[0] == "billing/invoices.py"
    assert ranked.index("tests/test_invoices.py") > ranked.index("billing/invoices.py")
    assert ranked.index("tests/test_invoices.py") > ranked.index("billing/money.py")


def test_a_task_about_a_test_file_ranks_it(project: Path) -> None:
    best = first(project, "tests/test_invoices.py::test_invoice_total_rounding is flaky")
    assert best.path == "tests/test_invoices.py"


def test_scores_are_relative_and_sorted(project: Path) -> None:
    ranked = api.locate(project, "money amounts and invoices", top=3)
    assert len(ranked) == 3
    assert ranked[0].score == 1.0
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert all(r.why for r in ranked)


def test_locate_json_output(project: Path) -> None:
    out = io.StringIO()
    print_locate(project, "apply_vat in billing/tax.py", top=2, as_json=True, out=out)
    data = json.loads(out.getvalue())
    assert list(data) == ["files"]
    assert data["files"][0]["path"] == "billing/tax.py"
    assert data["files"][0]["score"] == 1.0
    assert set(data["files"][0]) == {"path", "score", "why"}
    assert len(data["files"]) == 2


def test_locate_text_output(project: Path) -> None:
    out = io.StringIO()
    print_locate(project, "apply_vat", top=1, out=out)
    assert out.getvalue().split()[:2] == ["1.00", "billing/tax.py"]


def test_file_names_cannot_drive_the_terminal_or_forge_lines(workspace: Path) -> None:
    root = make_repo(
        workspace,
        {
            "pay/\x1b]0;owned\x07fees\nok.py": 'def charge_fee(x="\x1b[2J"):\n    return x\n',
            "pay/other.py": "def unrelated():\n    pass\n",
        },
    )
    out = io.StringIO()
    print_locate(root, "charge_fee charges twice", top=2, out=out)
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown.splitlines()[0].split()[1].startswith("pay/\\x1b]0;owned\\x07fees\\nok.py")
    mapped = io.StringIO()
    print_map(root, focus="charge_fee", max_tokens=500, out=mapped)
    assert "\x1b" not in mapped.getvalue()
    assert "charge_fee" in mapped.getvalue()


def test_map_shows_signatures_not_bodies_and_fits_the_budget(project: Path) -> None:
    full = api.repo_map(project, None, 10_000)
    assert "billing/money.py:" in full
    assert "def format_amount(self) -> str" in full
    assert "return" not in full
    assert full.index("billing/money.py") < full.index("tests/test_invoices.py")
    for budget in (10, 40, 80, 200):
        text = api.repo_map(project, None, budget)
        assert estimate_tokens(text) <= budget


def test_a_focused_map_starts_with_the_focus(project: Path) -> None:
    text = api.repo_map(project, "apply_vat rounding", 200)
    assert text.startswith("billing/tax.py:")
    assert "def apply_vat(amount: Money, country: str) -> Money" in text


def test_print_map(project: Path) -> None:
    out = io.StringIO()
    print_map(project, "invoice", 100, out=out)
    assert out.getvalue().endswith("\n")
    assert estimate_tokens(out.getvalue().rstrip("\n")) <= 100


def test_an_error_message_finds_where_it_is_raised(project: Path) -> None:
    (project / "billing" / "tax.py").write_text(
        (project / "billing" / "tax.py").read_text()
        + '\n\ndef check(country):\n    raise KeyError(f"no VAT rate known for country {country}")\n'
    )
    best = first(project, "Export fails:\n\nKeyError: no VAT rate known for country 'XX'\n")
    assert best.path == "billing/tax.py"
    assert "contains the message 'no VAT rate known for country'" in best.why


def test_a_logged_warning_finds_its_source_despite_the_formatted_value(project: Path) -> None:
    (project / "billing" / "tax.py").write_text(
        (project / "billing" / "tax.py").read_text()
        + '\n\ndef warn(log, kind):\n    log.warning("no rate is assigned for %s", kind)\n'
    )
    (project / "billing" / "legacy.txt").write_bytes(b"caf\xe9 cr\xe8me\n")  # not UTF-8
    text = "Upgrade floods the build log\n\n`WARNING: no rate is assigned for table`\n"
    best = first(project, text)
    assert best.path == "billing/tax.py"
    assert "contains the message 'no rate is assigned for'" in best.why


def test_class_dot_method_names_the_file_defining_that_method(project: Path) -> None:
    best = first(project, "Money.format_amount drops the sign of negative amounts")
    assert best.path == "billing/money.py"
    assert "defines Money.format_amount" in best.why
