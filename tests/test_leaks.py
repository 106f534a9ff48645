"""Tool calls written as text (DSML, V3.1, V3) become real calls, however the stream splits them."""

from __future__ import annotations

import json

import pytest
from fake_api import dsml_markup, v31_markup

from v4code.backends.leaks import LeakFilter

B = "\uff5c"
S = "\u2581"


def run(chunks: list[str]) -> tuple[str, list[tuple[str, dict]]]:
    f = LeakFilter(strip_think_close=True)
    shown = "".join(f.feed(c) for c in chunks) + f.flush()
    return shown, [(c.name, json.loads(c.arguments)) for c in f.calls]


def split_every(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


CALLS = [
    ("read_file", {"path": "src/app.py", "offset": 3}),
    ("grep", {"pattern": "TODO", "ignore_case": True}),
]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_dsml_split_anywhere(size: int) -> None:
    text = "Let me look.\n" + dsml_markup(CALLS) + "\nafter"
    shown, calls = run(split_every(text, size))
    assert calls == CALLS
    assert shown == "Let me look.\n\nafter"
    assert "DSML" not in shown


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_v31_split_anywhere(size: int) -> None:
    text = "ok " + v31_markup("list_files", {"path": "."})
    shown, calls = run(split_every(text, size))
    assert calls == [("list_files", {"path": "."})]
    assert shown == "ok "


def test_v3_fenced_form() -> None:
    text = (
        f"<{B}tool{S}calls{S}begin{B}><{B}tool{S}call{S}begin{B}>function<{B}tool{S}sep{B}>grep\n"
        f'```json\n{{"pattern": "x"}}\n```<{B}tool{S}call{S}end{B}><{B}tool{S}calls{S}end{B}>'
    )
    assert run([text])[1] == [("grep", {"pattern": "x"})]


def test_variants_ascii_bars_misspelled_and_unclosed() -> None:
    ascii_block = (
        '<|DSML|tool-calls>\n<|DSML|invoke name="read_file">\n'
        '<|DSML|parameter name="path" string="true">a.py</|DSML|parameter>\n'
        "</|DSML|invoke>\n</|DSML|tool-calls>"
    )
    assert run([ascii_block])[1] == [("read_file", {"path": "a.py"})]
    unclosed = dsml_markup([("read_file", {"path": "b.py"})]).rsplit("</", 1)[0]
    assert run([unclosed])[1] == [("read_file", {"path": "b.py"})]


def test_ordinary_text_with_angle_brackets_passes_through() -> None:
    text = "if a < b and c <d> then <| not a marker |> </think> stays"
    assert run(split_every(text, 2)) == (text, [])


def test_unparseable_block_is_kept_as_text() -> None:
    text = f"<{B}DSML{B}tool_calls>garbage</{B}DSML{B}tool_calls>"
    assert run([text]) == (text, [])


def test_stray_think_close_at_start_is_stripped() -> None:
    assert run(["</thi", "nk>\n\nHello"]) == ("Hello", [])
    assert run(["Hi</think>"]) == ("Hi</think>", [])
