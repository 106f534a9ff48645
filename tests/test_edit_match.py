"""The matching cascade: each tolerant step, and the cases it must refuse."""

from __future__ import annotations

import pytest

from v4code.edits.indent import indent_style
from v4code.edits.match import MatchError, find_match
from v4code.edits.operations import parser_for

PY = """\
class Greeter:
    def greet(self, name):
        message = "hello " + name
        return message

    def part(self):
        return "bye"
"""


def test_exact_match_replaces_the_one_occurrence() -> None:
    result = find_match(PY, 'return "bye"', 'return "farewell"')
    assert result.step == "exact"
    assert result.text == PY.replace('return "bye"', 'return "farewell"')
    assert result.spans == ((7, 1),)


def test_exact_match_found_twice_is_refused_with_both_lines() -> None:
    text = "x = 1\ny = 2\nx = 1\n"
    with pytest.raises(MatchError) as err:
        find_match(text, "x = 1", "x = 3")
    assert err.value.kind == "ambiguous"
    assert err.value.lines == (1, 3)
    assert "line 1, line 3" in str(err.value)
    assert "replace_all" in str(err.value)


def test_overlapping_occurrences_count_as_ambiguous() -> None:
    with pytest.raises(MatchError) as err:
        find_match("aaa\n", "aa", "b")
    assert err.value.kind == "ambiguous"


def test_replace_all_replaces_every_exact_occurrence() -> None:
    result = find_match("x = 1\ny = x\nz = x\n", "x", "v", replace_all=True)
    assert result.text == "v = 1\ny = v\nz = v\n"
    assert result.count == 3


def test_identical_and_empty_strings_are_errors() -> None:
    with pytest.raises(MatchError, match="identical"):
        find_match(PY, "return message", "return message")
    with pytest.raises(MatchError, match="empty"):
        find_match(PY, "", "x")


# -- step 2: trailing whitespace ---------------------------------------------------------------


def test_trailing_whitespace_added_by_the_model_is_ignored_and_not_written() -> None:
    old = '        message = "hello " + name   \n        return message  \n'
    new = '        message = "hello " + name   \n        return message.upper()\n'
    result = find_match(PY, old, new)
    assert result.step == "trailing-whitespace"
    # The context line keeps the file's bytes, not the model's trailing spaces.
    assert result.text == PY.replace("return message\n", "return message.upper()\n")


def test_trailing_whitespace_in_the_file_is_kept_on_context_lines() -> None:
    text = "a = 1   \nb = 2\t\nc = 3\n"
    result = find_match(text, "a = 1\nb = 2\n", "a = 1\nb = 20\n")
    assert result.step == "trailing-whitespace"
    assert result.text == "a = 1   \nb = 20\nc = 3\n"


def test_trailing_whitespace_step_refuses_two_matches() -> None:
    text = "x = 1 \ny = 2\nx = 1\t\ny = 2\n"
    with pytest.raises(MatchError) as err:
        find_match(text, "x = 1\ny = 2\n", "x = 5\ny = 2\n")
    assert err.value.kind == "ambiguous"
    assert err.value.lines == (1, 3)
    assert "trailing whitespace" in str(err.value)


# -- step 3: indentation -----------------------------------------------------------------------


def test_over_indented_old_string_matches_and_new_string_is_reindented() -> None:
    old = '            message = "hello " + name\n            return message\n'
    new = (
        '            message = "hello " + name\n'
        "            if not name:\n"
        "                return None\n"
        "            return message\n"
    )
    result = find_match(PY, old, new)
    assert result.step == "indentation"
    assert "-4 spaces" in result.note
    expected = PY.replace(
        "        return message\n",
        "        if not name:\n            return None\n        return message\n",
    )
    assert result.text == expected


def test_dedented_old_string_matches_and_new_string_is_reindented() -> None:
    old = 'def greet(self, name):\n    message = "hello " + name\n'
    new = 'def greet(self, name):\n    """Say hello."""\n    message = "hello " + name\n'
    result = find_match(PY, old, new)
    assert result.step == "indentation"
    assert "+4 spaces" in result.note
    assert '    def greet(self, name):\n        """Say hello."""\n' in result.text


def test_tabs_for_spaces_are_translated() -> None:
    old = '\tdef part(self):\n\t\treturn "bye"\n'
    new = '\tdef part(self):\n\t\tif self:\n\t\t\treturn "bye"\n'
    result = find_match(PY, old, new)
    assert result.step == "indentation"
    assert '    def part(self):\n        if self:\n            return "bye"\n' in result.text
    assert "\t" not in result.text


def test_spaces_for_tabs_are_translated() -> None:
    text = "def f():\n\tif x:\n\t\treturn 1\n\treturn 2\n"
    old = "    if x:\n        return 1\n"
    new = "    if x:\n        y = 1\n        return y\n"
    result = find_match(text, old, new)
    assert result.step == "indentation"
    assert result.text == "def f():\n\tif x:\n\t\ty = 1\n\t\treturn y\n\treturn 2\n"


def test_two_indentation_insensitive_matches_are_refused() -> None:
    text = "def a():\n    return 1\n\nclass B:\n    def a():\n        return 1\n"
    with pytest.raises(MatchError) as err:
        find_match(text, "  def a():\n      return 1\n", "  def a():\n      return 2\n")
    assert err.value.kind == "ambiguous"
    assert err.value.lines == (1, 5)
    assert "ignoring indentation" in str(err.value)
    assert "lines 1-2, lines 5-6" in str(err.value)


def test_inconsistent_indentation_is_refused() -> None:
    text = "if x:\n    a = 1\n    b = 2\n"
    # The model's lines are off by different amounts: no single shift explains them.
    with pytest.raises(MatchError) as err:
        find_match(text, "if x:\n  a = 1\n      b = 2\n", "if x:\n  a = 1\n      b = 3\n")
    assert err.value.kind == "inconsistent-indentation"


def test_first_line_without_indentation_is_anchored_when_later_lines_show_it() -> None:
    result = find_match(
        PY, "return message   \n\n    def part(self):\n", "return msg\n\n    def part(self):\n"
    )
    assert result.text == PY.replace("return message\n", "return msg\n")


# -- exact matches whose indentation is a guess ---------------------------------------------


def test_one_line_without_indentation_and_several_new_lines_is_refused() -> None:
    with pytest.raises(MatchError) as err:
        find_match(PY, "return message\n", "if message:\n    return message\nreturn None\n")
    assert err.value.kind == "inconsistent-indentation"
    assert err.value.lines == (4,)
    assert "beginning of the line" in str(err.value)


def test_a_parser_settles_the_reading_when_only_one_parses() -> None:
    text = "def f(x):\n    y = x\n    return y\n"
    # Relative to the first line, `z = y` lands in the function; as written, at module level,
    # which cuts the function short before its indented `return`: only one reading parses.
    result = find_match(text, "y = x\n", "y = x\nz = y\n", parses=parser_for("m.py"))
    assert result.text == "def f(x):\n    y = x\n    z = y\n    return y\n"
    assert "relative to old_string's first line" in result.note


def test_a_parser_does_not_help_when_both_readings_parse() -> None:
    text = "class A:\n    def f(self):\n        return 1\n"
    with pytest.raises(MatchError) as err:
        find_match(
            text, "return 1\n", "return 1\n\ndef g():\n    pass\n", parses=parser_for("m.py")
        )
    assert "both readings" in str(err.value)
    assert err.value.lines == (3,)


def test_deleting_a_line_copied_without_indentation_removes_the_whole_line() -> None:
    result = find_match(PY, 'message = "hello " + name\n', "")
    assert result.text == PY.replace('        message = "hello " + name\n', "")


def test_mid_line_match_with_continuation_lines_indented_like_the_line() -> None:
    text = "def f():\n    x = call(a, b)\n"
    result = find_match(text, "call(a, b)", "call(\n        a,\n        b,\n    )")
    assert result.text == "def f():\n    x = call(\n        a,\n        b,\n    )\n"
    with pytest.raises(MatchError):  # less indented than the line: absolute or relative?
        find_match(text, "call(a, b)", "call(\n    a,\n)")


# -- step 4: typography ------------------------------------------------------------------------


def test_typographic_quotes_and_dashes_match_ascii() -> None:
    text = "msg = \u201cIt\u2019s done \u2014 really\u201d\nother = 1\n"
    result = find_match(text, 'msg = "It\'s done - really"\n', 'msg = "Done."\n')
    assert result.step == "typography"
    assert result.text == 'msg = "Done."\nother = 1\n'


def test_typography_step_refuses_two_matches() -> None:
    text = "a = \u201cx\u201d\nb = 1\na = \u201dx\u201c\n"
    with pytest.raises(MatchError) as err:
        find_match(text, 'a = "x"\n', 'a = "y"\n')
    assert err.value.kind == "ambiguous"
    assert err.value.lines == (1, 3)


@pytest.mark.parametrize(
    ("old", "why"),
    [
        ('message  =  "hello " + name', "inner whitespace"),
        ('MESSAGE = "hello " + name', "letter case"),
        ('message = "hello" + name', "a changed character"),
        ('message = "hello " + name ...', "an ellipsis"),
        ('message = "hello " + name\n\n        return message', "an extra blank line"),
    ],
)
def test_matches_only_after_unsafe_normalisation_are_refused(old: str, why: str) -> None:
    with pytest.raises(MatchError) as err:
        find_match(PY, old, "changed = 1")
    assert err.value.kind == "not-found", why


# -- not found: nearest candidates -------------------------------------------------------------


def test_not_found_shows_the_nearest_candidate_and_the_first_difference() -> None:
    old = '    def greet(self, name):\n        message = "hi " + name\n        return message\n'
    with pytest.raises(MatchError) as err:
        find_match(PY, old, "x")
    message = str(err.value)
    assert err.value.kind == "not-found"
    assert err.value.lines[0] == 2
    assert "Nearest candidate, lines 2-4 (2 of 3 lines equal" in message
    assert '!    3|         message = "hello " + name' in message
    assert "First difference: old_string line 2" in message
    assert "file line 3" in message


def test_not_found_with_nothing_similar_says_so() -> None:
    with pytest.raises(MatchError, match="No similar lines"):
        find_match(PY, "zzzzzzzz qqqqqqq", "x")


def test_elided_lines_are_refused_with_a_candidate() -> None:
    old = "    def greet(self, name):\n        ...\n        return message\n"
    with pytest.raises(MatchError) as err:
        find_match(PY, old, "x")
    assert 2 in err.value.lines


# -- line structure ----------------------------------------------------------------------------


def test_file_without_final_newline_keeps_it_missing_on_a_tolerant_match() -> None:
    text = "a = 1\nb = 2"
    result = find_match(text, "b = 2  \n", "b = 3\n")
    assert result.text == "a = 1\nb = 3"


def test_mixed_line_endings_keep_crlf_inside_a_crlf_region() -> None:
    text = "a = 1\r\nb = 2\r\nc = 3\nd = 4\n"
    result = find_match(text, "a = 1\nb = 2\n", "a = 1\nb = 20\nb2 = 5\n")
    assert result.text == "a = 1\r\nb = 20\r\nb2 = 5\r\nc = 3\nd = 4\n"


def test_tabs_in_new_string_follow_a_space_indented_file() -> None:
    result = find_match(PY, '        return "bye"\n', '        if self:\n\t\t\treturn "bye"\n')
    assert '        if self:\n            return "bye"\n' in result.text
    assert "tabs in new_string" in result.note


def test_indent_style_detection() -> None:
    assert indent_style(PY.split("\n"), 7) == ("spaces", 4)
    assert indent_style(["a:", "\tb", "\t\tc", "\td"], 4) == ("tabs", 0)
    assert indent_style(["a", "b"], 2) == ("none", 0)
