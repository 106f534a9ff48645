"""Truncated tool arguments: repaired only when appending closers is the one safe completion."""

from __future__ import annotations

import json

import pytest

from v4code.backends.repair import repair_json_arguments


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"path": "a.py"', {"path": "a.py"}),
        (
            '{"edits": [{"path": "a", "old_string": "x"}',
            {"edits": [{"path": "a", "old_string": "x"}]},
        ),
        ('{"edits": [{"path": "a"}]', {"edits": [{"path": "a"}]}),
        ('{"flag": true', {"flag": True}),
        ('{"v": null', {"v": None}),
        ('  {"a": {"b": "c"}  ', {"a": {"b": "c"}}),
        ('```json\n{"path": "a.py"}\n```', {"path": "a.py"}),
        ('{"s": "brace } and quote \\" inside"', {"s": 'brace } and quote " inside'}),
    ],
)
def test_repaired(raw: str, expected: dict) -> None:
    repaired = repair_json_arguments(raw)
    assert repaired is not None and json.loads(repaired) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '{"content": "def f():\\n    return',  # cut inside a string: the file would be truncated
        '{"path": "a.py", "limit": 12',  # a number may be 120
        '{"flag": tru',  # a literal cut
        '{"path"',  # a key without its value
        '{"path": ',  # a value missing
        '{"a": 1,',  # a member missing
        '{"a": 1}}',  # too many closers
        '["a"',  # not an object
        "not json",
        "",
        '{"a": 1}',  # nothing to repair
    ],
)
def test_refused(raw: str) -> None:
    assert repair_json_arguments(raw) is None
