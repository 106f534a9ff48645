"""The real pre-commit framework runs v4code's hook from `.pre-commit-hooks.yaml`.

`pre-commit try-repo` builds the hook's Python environment the way a user's `repo:` entry does
(it installs this checkout and its dependencies from the package index), so this test is slow
the first time; PRE_COMMIT_HOME is shared across the session so it is paid once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_api import FakeDeepSeek, tool_call

ROOT = Path(__file__).resolve().parents[2]


def pre_commit() -> list[str]:
    exe = shutil.which(
        "pre-commit",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    if exe is None:
        pytest.skip("pre-commit is not installed")
    return [exe]


@pytest.mark.timeout(900)
def test_try_repo_blocks_on_a_blocker(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not (ROOT / ".pre-commit-hooks.yaml").exists():
        pytest.skip("needs the source tree")
    (workspace / "app.py").write_text("def div(a, b):\n    return a / b\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    env = {
        **os.environ,
        "DEEPSEEK_API_KEY": "sk-test",
        "DEEPSEEK_BASE_URL": fake_api.base_url,
        "PRE_COMMIT_HOME": str(tmp_path_factory.getbasetemp() / "pre-commit-home"),
    }
    fake_api.load(
        [
            tool_call(
                "report_findings",
                findings=[
                    {
                        "path": "app.py",
                        "line": 2,
                        "severity": "blocker",
                        "category": "bug",
                        "message": "Divides by zero.",
                        "suggestion": "",
                    }
                ],
            )
        ]
    )
    done = subprocess.run(
        [*pre_commit(), "try-repo", str(ROOT), "v4code-review"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
    )
    output = done.stdout + done.stderr
    if "Could not find a version" in output or "No matching distribution" in output:
        pytest.skip("the package index is not reachable")
    assert done.returncode == 1, output
    assert "v4code review" in output and "Failed" in output and "Divides by zero." in output
    assert len(fake_api.chat_requests) == 1
