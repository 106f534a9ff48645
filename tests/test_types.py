"""mypy --strict over v4code/ is part of the test suite, so a type error fails `pytest`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (pip install -e .[test])",
)
@pytest.mark.timeout(600)  # a cold cache on a loaded machine; the bound only stops a hang
def test_v4code_passes_mypy_strict() -> None:
    # The configuration (strict, files, python_version, cache) lives in pyproject.toml, so
    # `python -m mypy` from the checkout and this test check the same thing.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=590,
    )
    assert done.returncode == 0, f"mypy reports errors:\n{done.stdout}{done.stderr}"
