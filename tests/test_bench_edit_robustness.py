"""The edit-robustness benchmark still runs, and on a small synthetic sample applies nothing wrongly.

The real figures come from running `bench/edit_robustness.py` by hand on the shared sample;
this only keeps the script from rotting and checks its classification end to end.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BEFORE = '''\
"""Shapes."""

import math


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return math.pi * self.r ** 2


class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side ** 2
'''

AFTER = '''\
"""Shapes."""

import math


class Circle:
    def __init__(self, r):
        if r < 0:
            raise ValueError("negative radius")
        self.r = r

    def area(self):
        return math.pi * self.r ** 2


class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side

    def perimeter(self):
        return 4 * self.side
'''


def load_bench() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "edit_robustness.py"
    spec = importlib.util.spec_from_file_location("v4code_bench_edit_robustness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_benchmark_on_a_synthetic_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "sample.jsonl"
    row = {"commit": "0" * 40, "files": [{"path": "shapes.py", "before": BEFORE, "after": AFTER}]}
    data.write_text(json.dumps(row) + "\n")
    bench = load_bench()
    code = bench.main(["--data", str(data), "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert {name: f["wrong"] for name, f in figures.items()} == {name: 0 for name in figures}
    for name in ("exact", "indent +4", "trailing ws added", "tabs for spaces", "CRLF file"):
        assert figures[name]["correct"] == 1, name
    for name in ("stale context line", "elided middle lines"):
        assert figures[name]["refused_useful"] == 1, name
    assert code == 0


def test_benchmark_reports_missing_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_bench().main(["--data", str(tmp_path / "absent.jsonl")]) == 2
    assert "data not found" in capsys.readouterr().err
