"""The fixed 20-step scenario of bench/team.py: a small invoicing package with a discount bug,
and the scripted model that explores it, fails the tests three times, then fixes it.

Steps 1-8 explore (repo_map, list_files, read_file, grep); steps 9-12 edit and run the tests,
which fail three times in a row (the escalation signal of `auto`); steps 13-20 fix and pass.
Each step is one request. The files are a few KB each and every answer carries a few hundred
tokens of reasoning, so the prompts grow as a real session's do. With `auto`, the switch at
step 12 compacts first (`compact_on_switch`): one more request, on Flash, answered by SUMMARY.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import _common  # (also puts tests/ on sys.path)
from fake_api import step, text, tool_call

TASK = "the discounted invoice total is wrong (test_discounted_total fails): fix it"
TESTS = f"{sys.executable} -m pytest -q -p no:cacheprovider"
ESCALATION_STEP = 12  # the third failing test run: `auto` sends steps 13..20 to Pro
STEPS = 20

BUG = "    return total - percent\n"
FIXED = "    return total * (100 - percent) / 100\n"


def _helpers(prefix: str, count: int) -> str:
    """Plausible small functions, so each module is a few KB as real ones are."""
    out = []
    for i in range(count):
        out.append(
            f"\n\ndef {prefix}_{i}(value: float, places: int = 2) -> str:\n"
            f'    """Format `value` for the {prefix} column {i} of a printed invoice: rounded to\n'
            f'    `places` decimals, thousands separated, a sign only when negative."""\n'
            f"    rounded = round(value + {i} * 0, places)\n"
            f'    text = f"{{abs(rounded):,.{{places}}f}}"\n'
            f'    return ("-" if rounded < 0 else "") + text\n'
        )
    return "".join(out)


MONEY = '''"""Money amounts: parsing, rounding and currency codes."""

from __future__ import annotations

CURRENCIES = {"EUR": 2, "USD": 2, "JPY": 0, "GBP": 2, "CHF": 2}


def parse_amount(text: str) -> float:
    """An amount from text such as "1,234.50" (thousands separators are dropped)."""
    return float(text.replace(",", "").strip())


def places(currency: str) -> int:
    """How many decimals `currency` is written with."""
    return CURRENCIES.get(currency.upper(), 2)
''' + _helpers("money_column", 14)

DISCOUNTS = (
    '''"""Discounts: a percentage off an invoice total, and the rules that pick it."""

from __future__ import annotations

TIERS = ((10_000.0, 15.0), (5_000.0, 10.0), (1_000.0, 5.0))


def tier_percent(total: float) -> float:
    """The volume discount, in percent, for an invoice of `total`."""
    for floor, percent in TIERS:
        if total >= floor:
            return percent
    return 0.0


def apply_discount(total: float, percent: float) -> float:
    """`total` less `percent` per cent of it."""
'''
    + BUG
    + _helpers("discount_column", 12)
)

INVOICE = '''"""Invoices: lines, subtotal, discount and the total a customer pays."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.discounts import apply_discount


@dataclass
class Line:
    description: str
    quantity: int
    unit_price: float

    @property
    def amount(self) -> float:
        return self.quantity * self.unit_price


@dataclass
class Invoice:
    customer: str
    lines: list[Line] = field(default_factory=list)
    discount_percent: float = 0.0

    def add(self, description: str, quantity: int, unit_price: float) -> None:
        self.lines.append(Line(description, quantity, unit_price))

    def subtotal(self) -> float:
        return sum(line.amount for line in self.lines)

    def total(self) -> float:
        """What the customer pays: the subtotal less the discount, to the cent."""
        total = apply_discount(self.subtotal(), self.discount_percent)
        return round(total, 2)
''' + _helpers("invoice_column", 12)

REPORT = '''"""Printed reports of invoices."""

from __future__ import annotations

from ledger.invoice import Invoice


def summary(invoice: Invoice) -> str:
    return f"{invoice.customer}: {len(invoice.lines)} lines, total {invoice.total():.2f}"
''' + _helpers("report_column", 14)

TEST_INVOICE = """from ledger.discounts import tier_percent
from ledger.invoice import Invoice


def make() -> Invoice:
    invoice = Invoice("ACME")
    invoice.add("widgets", 10, 15.0)
    invoice.add("gears", 5, 10.0)
    return invoice


def test_subtotal():
    assert make().subtotal() == 200.0


def test_tiers():
    assert tier_percent(12_000) == 15.0
    assert tier_percent(999) == 0.0


def test_no_discount():
    assert make().total() == 200.0


def test_discounted_total():
    invoice = make()
    invoice.discount_percent = 10
    assert invoice.total() == 180.0
"""

FILES = {
    "ledger/__init__.py": '"""Invoicing."""\n',
    "ledger/money.py": MONEY,
    "ledger/discounts.py": DISCOUNTS,
    "ledger/invoice.py": INVOICE,
    "ledger/report.py": REPORT,
    "tests/__init__.py": "",
    "tests/test_invoice.py": TEST_INVOICE,
    "README.md": "# ledger\n\nInvoices with volume discounts. Run the tests with pytest.\n",
}


def make_repo(where: Path) -> Path:
    """The package, committed in a fresh git repository at `where`."""
    return _common.committed_repo(where, FILES, "ledger")


THOUGHTS = (
    "The failing test builds an invoice of 200.00 with a 10 per cent discount and expects "
    "180.00, so either the subtotal, the discount or the rounding is off. ",
    "I should look at how Invoice.total combines apply_discount with round, and whether the "
    "percentage is treated as a fraction or as a number of currency units. ",
    "The other tests (subtotal, tiers, no discount) pass, which narrows it to the discount "
    "path; tier_percent returns percentages as plain numbers like 10.0, not 0.1. ",
    "Before changing anything I want to be sure no other caller depends on the current "
    "behaviour, report.summary only formats the total, so it is safe. ",
)


def thought(focus: str, size: int) -> str:
    """Reasoning of about `size` characters (~size/4 tokens), as a thinking model writes."""
    out, i = focus + " ", 0
    while len(out) < size:
        out += THOUGHTS[i % len(THOUGHTS)]
        i += 1
    return out


def _calls(reasoning: str, *calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    listed = [{"name": name, "arguments": args} for name, args in calls]
    return step(reasoning=reasoning, tool_calls=listed)


def _run_tests() -> tuple[str, dict[str, Any]]:
    return ("run_command", {"command": TESTS})


SUMMARY = (
    "Task: the discounted invoice total is wrong; tests/test_invoice.py::test_discounted_total "
    "expects 180.00 for a 200.00 invoice with discount_percent = 10.\n"
    "Code: ledger/invoice.py Invoice.total() returns round(apply_discount(subtotal, "
    "discount_percent), 2); ledger/discounts.py apply_discount(total, percent) is meant to take "
    "`percent` per cent off `total`; tier_percent returns plain percentages (15.0, 10.0, 5.0). "
    "ledger/money.py and ledger/report.py only parse and format amounts; report.summary "
    "formats invoice.total() and does not depend on how the discount is computed. Nothing else "
    "calls apply_discount.\n"
    "Tried (see the steps kept below): rounding the total to 1 place in invoice.py (still "
    "rounded to 1: put back to 2), then two rewrites of apply_discount; the tests failed each "
    "time.\n"
    "Next: make apply_discount return total * (100 - percent) / 100, restore round(total, 2) "
    "in Invoice.total, run the tests."
)


def switch_summary(size: int = 1400) -> dict[str, Any]:
    """The summary `auto` asks Flash for at the switch (`compact_on_switch`), before Pro's
    first request."""
    return text(SUMMARY, reasoning=thought("Summarise the session for the next model.", size))


def scenario(size: int = 1400, compact_on_switch: bool = False) -> list[dict[str, Any]]:
    """The 20 scripted answers, one per request, each with `size` characters of reasoning;
    with `compact_on_switch`, the summary comes after step 12 (`auto`'s escalation)."""
    steps = _steps(size)
    if compact_on_switch:
        steps.insert(ESCALATION_STEP, switch_summary(size))
    return steps


def _steps(size: int) -> list[dict[str, Any]]:

    def think(focus: str) -> str:
        return thought(focus, size)

    discounts, invoice = "ledger/discounts.py", "ledger/invoice.py"
    wrong1 = ("    return round(total, 2)\n", "    return round(total, 1)\n")
    wrong2 = (BUG, "    return total - percent / 100\n")
    wrong3 = ("    return total - percent / 100\n", "    return total * percent / 100\n")
    return [
        # 1-8: explore
        tool_call("repo_map", reasoning=think("Map the repository first."), focus=TASK),
        tool_call("list_files", reasoning=think("What else is there?"), path="."),
        tool_call(
            "read_file", reasoning=think("Read the failing test."), path="tests/test_invoice.py"
        ),
        tool_call("read_file", reasoning=think("Read the invoice."), path=invoice),
        tool_call("grep", reasoning=think("Who calls apply_discount?"), pattern="apply_discount"),
        tool_call("read_file", reasoning=think("Read the discounts."), path=discounts),
        tool_call("read_file", reasoning=think("Money helpers may round."), path="ledger/money.py"),
        tool_call("grep", reasoning=think("Any other rounding?"), pattern=r"round\("),
        # 9-12: edit and run the tests; they fail three times in a row
        _calls(think("Maybe the rounding is to blame."), ("edit_file", _args(invoice, *wrong1))),
        _calls(think("Run the tests."), _run_tests()),
        _calls(
            think("Percent as a fraction?"), ("edit_file", _args(discounts, *wrong2)), _run_tests()
        ),
        _calls(think("Multiply instead."), ("edit_file", _args(discounts, *wrong3)), _run_tests()),
        # 13-20: fix and pass
        tool_call("read_file", reasoning=think("Start over from the code."), path=discounts),
        tool_call("grep", reasoning=think("Check the callers again."), pattern="discount_percent"),
        _calls(
            think("Keep the rest, take the percent off."),
            ("edit_file", _args(discounts, wrong3[1], FIXED)),
        ),
        _calls(
            think("Put the rounding back to cents."),
            ("edit_file", _args(invoice, wrong1[1], wrong1[0])),
        ),
        _calls(think("Run the tests."), _run_tests()),
        tool_call("read_file", reasoning=think("Review the result."), path=invoice),
        _calls(
            think("Run them once more, all of them."),
            ("run_command", {"command": TESTS + " tests"}),
        ),
        text(
            "Fixed: `apply_discount` subtracted the percentage as an amount; it now takes "
            "`percent` per cent off the total, and the total is rounded to cents again. "
            "All 4 tests pass.",
            reasoning=think("Done; summarise."),
        ),
    ]


def _args(path: str, old: str, new: str) -> dict[str, Any]:
    return {"path": path, "old_string": old, "new_string": new}
