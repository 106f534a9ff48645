"""The command line as a user meets it: version, help, bad input and its exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from v4code import __version__
from v4code.cli import main


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"v4code, version {__version__}"
    help_text = runner.invoke(main, ["run", "--help"]).output
    for word in ("--output", "--permission-mode", "--max-cost", "Exit codes", "130"):
        assert word in help_text


def test_python_dash_m_works_and_help_imports_no_sdk(tmp_path: Path) -> None:
    code = (
        "import sys, runpy; sys.argv=['v4code','--help']\n"
        "try:\n    runpy.run_module('v4code', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print('openai' in sys.modules, 'rich' in sys.modules, 'tools' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "Usage: v4code" in out.stdout
    assert out.stdout.strip().endswith("False False False")


def test_run_without_api_key_says_how_to_set_it(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(main, ["run", "do something"])
    assert result.exit_code == 2
    assert "DEEPSEEK_API_KEY" in result.output and "config.toml" in result.output


def test_empty_task_is_a_usage_error(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(main, ["run", "-"], input="   \n")
    assert result.exit_code == 2 and "empty" in result.output


def test_bad_setting_is_a_usage_error(workspace: Path, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("V4CODE_MAX_STEPS", "lots")
    result = CliRunner().invoke(main, ["run", "x"])
    assert result.exit_code == 2 and "max_steps" in result.output
