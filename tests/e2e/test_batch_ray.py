"""`v4code batch run --executor ray` against a real local Ray head on 127.0.0.1: the same run
directory, branches and results as the local executor."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import v4code
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason='ray is not installed (pip install -e ".[ray]")',
)


def batch(root: Path, server: FakeDeepSeek, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    return v4code(root, "batch", *args, server=server, env=env, sandbox=True, timeout=300)


def shape(run_dir: Path) -> dict[str, object]:
    """What the run directory holds, per unit: file names, state keys, status."""
    out: dict[str, object] = {}
    for unit in sorted((run_dir / "units").iterdir()):
        state = json.loads((unit / "state.json").read_text())
        out[unit.name] = (
            sorted(p.name for p in unit.iterdir()),
            sorted(state),
            state["status"],
            state["verify_exit"],
        )
    return out


def test_ray_executor_matches_the_local_one(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = workspace
    for name in ("a", "b"):
        (root / f"{name}.py").write_text("X = 1\n")
        (root / f"test_{name}.py").write_text(
            f"from {name} import X\n\n\ndef test_x():\n    assert X == 2\n"
        )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two modules")
    (root / "a.py").write_text("X = 'dirty'\n")  # the user's uncommitted edit stays theirs
    manifest = tmp_path / "jobs.jsonl"
    planned = batch(
        root, fake_api, "plan", "Set X to 2 in {path}.", "--each", "[ab].py", "-o", str(manifest)
    )
    assert planned.returncode == 0, planned.stderr
    verify = f"{sys.executable} -m pytest -q -p no:cacheprovider {{tests}}"

    results: dict[str, Path] = {}
    for executor in ("local", "ray"):
        for name in ("a", "b"):
            fake_api.route(
                f"in {name}.py",
                [tool_call("edit_file", path=f"{name}.py", old_string="X = 1", new_string="X = 2"),
                 text("Done.")],
            )  # fmt: skip
        run_dir = tmp_path / executor
        ran = batch(root, fake_api, "run", str(manifest), "-j", "2", "--executor", executor,
                    "--verify", verify, "--out", str(run_dir), "--on-red-base", "warn")  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        results[executor] = run_dir

    assert shape(results["ray"]) == shape(results["local"])
    assert (results["local"] / "worktrees").is_dir()  # Ray units ran in clones, not worktrees
    assert not (results["ray"] / "worktrees").exists()
    for unit in ("a.py", "b.py"):
        ray_state = json.loads((results["ray"] / "units" / unit / "state.json").read_text())
        assert ray_state["status"] == "green" and ray_state["session_id"]
        assert git(root, "show", f"{ray_state['branch']}:{unit}") == "X = 2\n"
        patch = (results["ray"] / "units" / unit / "result.patch").read_text()
        assert "-X = 1\n+X = 2" in patch
    assert (root / "a.py").read_text() == "X = 'dirty'\n"
    for run_dir in results.values():
        assert batch(root, fake_api, "clean", str(run_dir)).returncode == 0
    assert git(root, "for-each-ref").count("refs/heads/") == 1
