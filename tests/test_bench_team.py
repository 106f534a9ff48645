"""The team benchmark still runs: `--model auto` on its 20-step scenario through the real
command line escalates once, at the third failing test run, compacts on Flash first (the
summary re-uses Flash's cache) and breaks the cache once.

The figures come from running `bench/team.py` by hand; this keeps the script from rotting.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
FLASH, PRO = "deepseek-flash", "deepseek-v4-pro"


def load_bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # its helpers: _common, team_scenario
    try:
        spec = importlib.util.spec_from_file_location("v4code_bench_team", BENCH / "team.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop("v4code_bench_team", None)
        sys.path.remove(str(BENCH))
    return module


def test_auto_escalates_once_and_is_priced_by_model(capsys: pytest.CaptureFixture[str]) -> None:
    code = load_bench().main(["--model", "auto", "--json"])
    data = json.loads(capsys.readouterr().out)
    auto = data["runs"]["auto"]
    assert code == 0 and data["violations"] == 0
    assert auto["models"] == [FLASH] * 13 + [PRO] * 8  # 12 steps and the summary on Flash
    [summary] = auto["summaries"]
    assert summary["model"] == FLASH and summary["hit_tokens"] > 0.9 * summary["prompt_tokens"]
    assert auto["prompt_tokens_by_step"][12] < auto["prompt_tokens_by_step"][11] / 2
    assert auto["switch_steps"] == ["step 12, tests_failing"]
    assert auto["cache_breaking_switches"] == 1
    assert auto["cli_cost_usd"] == pytest.approx(auto["usd"]["off-peak"], abs=1e-4)
    assert auto["usd"]["peak"] == pytest.approx(2 * auto["usd"]["off-peak"], abs=2e-6)
    assert auto["prompt_tokens"]["last"] > 2 * auto["prompt_tokens"]["first"]  # compacted at 13
    for role in auto["cache"]:
        assert 0 < role["share"] <= role["ceiling"] < 1
    assert sum(auto["off_peak_parts"].values()) == pytest.approx(auto["usd"]["off-peak"], abs=3e-6)
