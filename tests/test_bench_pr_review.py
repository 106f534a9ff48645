"""The pull-request review benchmark still runs: a range of a small repository served as a
pull request, reviewed four times through the real command line, with the requests each test
server received per run.

The figures come from running `bench/pr_review.py` by hand on a real repository's last 20
commits; this keeps the script from rotting.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import git

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # its helpers: _common
    try:
        spec = importlib.util.spec_from_file_location("v4code_bench_pr", BENCH / "pr_review.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_the_benchmark_counts_each_runs_requests(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        (workspace / f"mod{i}.py").write_text("".join(f"v{j} = {j + i}\n" for j in range(20)))
        (workspace / "README.md").write_text(f"# project {i}\n")
        git(workspace, "add", "-A")
        git(workspace, "commit", "-qm", f"change {i}")
    load_bench().run(tmp_path / "bench", str(workspace), 2)
    out = capsys.readouterr().out
    rows = {line.split("  ")[1].strip(): line.split() for line in out.splitlines()
            if line.startswith("  ") and "    " in line and not line.startswith("  run ")}  # fmt: skip
    assert list(rows) == ["first review", "re-run, unchanged (cache kept)",
                          "re-run, unchanged, fresh runner", "re-run after one more commit"]  # fmt: skip
    deepseek_and_github = {name: row[-3:] for name, row in rows.items()}
    assert deepseek_and_github == {
        "first review": ["1", "5", "1"],  # one review posted
        "re-run, unchanged (cache kept)": ["0", "5", "0"],  # the review cache: no model call
        "re-run, unchanged, fresh runner": ["1", "5", "0"],  # nothing changed: nothing written
        "re-run after one more commit": ["1", "5", "2"],  # the body updated, one new review
    }
    assert (
        "re-run after one more commit: 5 findings; posted: 1 new comment(s), 0 edited, 3 kept"
        in out
    )
