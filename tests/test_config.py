"""Layered settings: each layer overrides the one before, and `config show` says which won."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from v4code.cli import main
from v4code.config import load_settings
from v4code.errors import ConfigError
from v4code.pricing import cost_of, is_peak
from v4code.safety.permissions import PermissionPolicy, Verdict
from v4code.safety.trust import grant
from v4code.types import Usage


def test_layers_in_order(
    tmp_path: Path, v4code_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (v4code_home / "config.toml").write_text(
        'model = "user-model"\neffort = "max"\nmax_steps = 7\n'
    )
    (tmp_path / ".v4code").mkdir()
    (tmp_path / ".v4code" / "config.toml").write_text('model = "project-model"\nmax_steps = 9\n')
    assert load_settings(tmp_path).settings.model == "user-model"  # untrusted: not applied
    grant(tmp_path)
    monkeypatch.setenv("V4CODE_MAX_STEPS", "11")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "http://127.0.0.1:9/v1")
    loaded = load_settings(tmp_path, {"effort": "low"})
    s = loaded.settings
    assert (s.model, s.effort, s.max_steps, s.base_url) == (
        "project-model",
        "low",
        11,
        "http://127.0.0.1:9/v1",
    )
    assert loaded.sources["model"].endswith(".v4code/config.toml")
    assert loaded.sources["max_steps"] == "env V4CODE_MAX_STEPS"
    assert loaded.sources["effort"] == "command line"
    assert loaded.sources["thinking"] == "default"


def test_prices_merge_and_unknown_keys_fail(tmp_path: Path, v4code_home: Path) -> None:
    (v4code_home / "config.toml").write_text('[prices."my-model"]\nhit = 1\nmiss = 2\noutput = 3\n')
    prices = load_settings(tmp_path).settings.prices
    assert prices["my-model"] == {"hit": 1.0, "miss": 2.0, "output": 3.0}
    assert "deepseek-v4-pro" in prices
    (v4code_home / "config.toml").write_text("modle = 'typo'\n")
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        load_settings(tmp_path)
    (v4code_home / "config.toml").write_text("max_steps = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_bad_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V4CODE_MAX_STEPS", "many")
    with pytest.raises(ConfigError, match="max_steps"):
        load_settings(tmp_path)
    monkeypatch.delenv("V4CODE_MAX_STEPS")
    with pytest.raises(ConfigError, match="permission_mode"):
        load_settings(tmp_path, {"permission_mode": "yolo"})


def test_config_show_redacts_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-abcdefghijklmnop1234")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "sk-abcdefghijklmnop1234" not in result.output
    assert "sk-…1234" in result.output and "env DEEPSEEK_API_KEY" in result.output


def test_cost_from_usage_with_peak_hours() -> None:
    prices = {"deepseek-v4-pro": {"hit": 0.022, "miss": 0.66, "output": 1.98}}
    usage = Usage(
        prompt_tokens=1_000_000,
        cache_hit_tokens=900_000,
        cache_miss_tokens=100_000,
        completion_tokens=10_000,
    )
    off_peak = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # a Saturday
    peak = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 02:00 UTC
    assert not is_peak(off_peak) and is_peak(peak)
    expected = (900_000 * 0.022 + 100_000 * 0.66 + 10_000 * 1.98) / 1e6
    assert cost_of(usage, "deepseek-v4-pro", prices, at=off_peak) == pytest.approx(expected)
    assert cost_of(usage, "deepseek-v4-pro", prices, at=peak) == pytest.approx(2 * expected)
    assert cost_of(usage, "local-model", prices, at=off_peak) == 0.0


def test_permission_table() -> None:
    ro, ask, auto, full = (
        PermissionPolicy(m) for m in ("read-only", "ask", "auto-edit", "full-auto")
    )
    assert [p.check("edit_file", "edit") for p in (ro, ask, auto, full)] == [
        Verdict.DENY,
        Verdict.ASK,
        Verdict.ALLOW,
        Verdict.ALLOW,
    ]
    assert [p.check("run_command", "command", "ls") for p in (ro, ask, auto, full)] == [
        Verdict.DENY,
        Verdict.ASK,
        Verdict.ASK,
        Verdict.ALLOW,
    ]
    ask.remember("run_command", "prefix", "pytest -q tests")
    assert ask.check("run_command", "command", "pytest -q other") is Verdict.ALLOW
    assert ask.check("run_command", "command", "pytest -q; rm -rf /") is Verdict.ASK
    assert full.sandbox_commands and not auto.sandbox_commands
