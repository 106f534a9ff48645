"""Packaging guards: tools/ and prompts/ ship inside v4code and never shadow a user's modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from v4code.app import load_registry

ROOT = Path(__file__).resolve().parents[1]


def test_registry_loads_without_top_level_tools_module(tmp_path: Path) -> None:
    registry = load_registry(tmp_path)
    assert {"read_file", "list_files", "grep", "edit_file", "write_file", "run_command"} <= set(
        registry.names()
    )
    assert "tools" not in sys.modules and "prompts" not in sys.modules


def test_users_own_tools_package_still_works_under_python_dash_m(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("MARK = 'user tools'\n")
    code = (
        "import runpy, sys\n"
        "from v4code.app import load_registry\n"
        "from pathlib import Path\n"
        "reg = load_registry(Path('.'))\n"
        "import tools\n"
        "print(tools.MARK, 'read_file' in reg.names())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "user tools True"


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_wheel_has_only_v4code_at_top_level(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"wheel build unavailable here: {done.stderr[-300:]}")
    wheel = next(tmp_path.glob("v4code-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"v4code"}
    assert "v4code/_bundled/tools/read_file.py" in names
    assert "v4code/_bundled/prompts/system.md" in names
    assert "v4code/py.typed" in names
    assert not any(n.endswith("__init__.py") and "_bundled" in n for n in names)
