"""`ruff check` and `ruff format --check` are part of the test suite, as mypy is (test_types.py):
a lint error or an unformatted file fails `pytest`, so the suite alone says a change is ready."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("v4code", "tools", "tests", "bench")  # the rules and line length: pyproject.toml

pytestmark = [
    pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree"),
    pytest.mark.skipif(
        importlib.util.find_spec("ruff") is None,
        reason="ruff is not installed (pip install -e .[test])",
    ),
]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", *CHECKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )


def test_the_code_passes_ruff_check() -> None:
    done = ruff("check", "--output-format", "concise")
    assert done.returncode == 0, f"ruff check reports:\n{done.stdout}{done.stderr}"


def test_the_code_is_formatted_as_ruff_format_would() -> None:
    done = ruff("format", "--check")
    assert done.returncode == 0, f"run `ruff format` on these files:\n{done.stdout}{done.stderr}"
