"""Which errors after an edit are its news: matched to the errors before it by rule at the
line the diff maps them to, or by message (`v4code.lsp.known`)."""

from __future__ import annotations

from lsprotocol import types as lsp

from v4code.lsp.known import Baseline, line_map
from v4code.lsp.manager import new_errors

ATTR = "reportAttributeAccessIssue"
ARG = "reportArgumentType"


def _error(line: int, message: str, code: str | None = ARG) -> lsp.Diagnostic:
    """An error at 1-based `line`, as the server sends it (0-based)."""
    at = lsp.Position(line=line - 1, character=4)
    return lsp.Diagnostic(
        range=lsp.Range(start=at, end=at),
        message=message,
        severity=lsp.DiagnosticSeverity.Error,
        code=code,
    )


BEFORE = "import os\n\ndef f(x):\n    return g(x)\n\ny = f(1)\n"
AFTER = "import os\nimport sys\n\ndef f(x):\n    return g(x)\n\ny = f(1)\n"  # a line added


def test_the_diff_maps_unchanged_lines_and_leaves_changed_ones_out() -> None:
    mapped = line_map(BEFORE, AFTER)
    assert mapped[0] == 0 and mapped[4] == 3 and mapped[6] == 5
    assert 1 not in mapped  # `import sys`: added, maps to nothing


def test_an_old_error_whose_message_names_a_changed_type_is_not_new() -> None:
    """The edit changed a type elsewhere: the unchanged line's old error now says it
    differently. Same rule, same (moved) line: the same error."""
    before = Baseline(BEFORE, [_error(6, 'Argument of type "int | None" ...')])
    after = Baseline(AFTER, [_error(7, 'Argument of type "int | str | None" ...')])

    assert new_errors("m.py", before, after) == []


def test_another_rule_at_the_mapped_line_is_new() -> None:
    before = Baseline(BEFORE, [_error(6, 'Argument of type "int | None" ...')])
    after = Baseline(AFTER, [_error(7, 'Cannot access attribute "x"', ATTR)])

    assert new_errors("m.py", before, after) == ['m.py:7: Cannot access attribute "x"']


def test_an_error_on_a_changed_line_is_new_unless_its_message_is_old() -> None:
    before = Baseline(BEFORE, [_error(4, '"g" is not defined', "reportUndefinedVariable")])
    same = Baseline(AFTER, [_error(2, '"g" is not defined', "reportUndefinedVariable")])
    other = Baseline(AFTER, [_error(2, '"sys2" is not defined', "reportUndefinedVariable")])

    assert new_errors("m.py", before, same) == []  # moved into the change: its message
    assert new_errors("m.py", before, other) == ['m.py:2: "sys2" is not defined']


def test_each_old_error_accounts_for_one_new_one() -> None:
    """The old error matches its twin at the mapped line; a second error with the same
    message elsewhere is news, however the two are ordered."""
    old = _error(4, '"g" is not defined', "reportUndefinedVariable")
    before = Baseline(BEFORE, [old])
    after = Baseline(
        AFTER,
        [
            _error(2, '"g" is not defined', "reportUndefinedVariable"),
            _error(5, '"g" is not defined', "reportUndefinedVariable"),
        ],
    )

    assert new_errors("m.py", before, after) == ['m.py:2: "g" is not defined']


def test_an_error_without_a_rule_is_matched_by_message_only() -> None:
    before = Baseline(BEFORE, [_error(6, "Expected expression", None)])
    after = Baseline(AFTER, [_error(7, 'Expected ":"', None)])

    assert new_errors("m.py", before, after) == ['m.py:7: Expected ":"']


def test_an_error_from_the_first_check_that_an_edit_hid_is_not_new_when_it_comes_back() -> None:
    first = Baseline(BEFORE, [_error(6, 'Argument of type "int | None" ...')])
    hidden = Baseline(BEFORE.replace("y = f(1)", "y = 1"), [])
    back = Baseline(AFTER, [_error(7, 'Argument of type "int | str | None" ...')])

    assert new_errors("m.py", hidden, back, first) == []


def test_the_first_check_does_not_count_an_error_before_has_too() -> None:
    """The first check and the text before both have one `"g" is not defined`: together
    they know one, so a second one the edit adds is news."""
    first = Baseline(BEFORE, [_error(4, '"g" is not defined', "reportUndefinedVariable")])
    after = Baseline(
        AFTER,
        [
            _error(2, '"g" is not defined', "reportUndefinedVariable"),
            _error(5, '"g" is not defined', "reportUndefinedVariable"),
        ],
    )

    assert new_errors("m.py", first, after, first) == ['m.py:2: "g" is not defined']


def test_without_texts_errors_are_matched_by_message() -> None:
    before = Baseline(None, [_error(6, "old")])
    after = Baseline(AFTER, [_error(7, "old"), _error(7, "new")])

    assert new_errors("m.py", before, after) == ["m.py:7: new"]


def test_a_long_texts_unchanged_ends_map_without_diffing_the_whole() -> None:
    lines = [f"x{i % 7} = {i % 3}" for i in range(3000)]  # many repeated lines
    before = "\n".join(lines)
    after = "\n".join([*lines[:1500], "new = 1", *lines[1500:2000], *lines[2003:]])

    mapped = line_map(before, after)

    assert mapped[10] == 10 and mapped[1501] == 1500 and mapped[2001] == 2003
    assert 1500 not in mapped and len(mapped) == 2997
