"""The README's `repo: local` pre-commit snippet works as written, through real pre-commit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_api import FakeDeepSeek, tool_call

ROOT = Path(__file__).resolve().parents[2]


def _readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
    local = [b for b in blocks if "repo: local" in b]
    assert len(local) == 1, "the README shows one repo: local snippet"
    return local[0]


@pytest.mark.timeout(300)
def test_the_readme_local_hook_blocks_a_commit_on_a_blocker(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    if not (ROOT / "README.md").exists():
        pytest.skip("needs the source tree")
    bindir = str(Path(sys.executable).parent)  # where `v4code` is, as a user install puts it
    path = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    pre_commit = shutil.which("pre-commit", path=path)
    if pre_commit is None:
        pytest.skip("pre-commit is not installed")
    (workspace / ".pre-commit-config.yaml").write_text(_readme_snippet())
    subprocess.run(["git", "add", ".pre-commit-config.yaml"], cwd=workspace, check=True)
    env = {
        **os.environ,
        "PATH": path,
        "DEEPSEEK_API_KEY": "sk-test",
        "DEEPSEEK_BASE_URL": fake_api.base_url,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    installed = subprocess.run(
        [pre_commit, "install"], cwd=workspace, env=env, capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    fake_api.load(
        [
            tool_call(
                "report_findings",
                findings=[
                    {
                        "path": "app.py", "line": 2, "severity": "blocker", "category": "bug",
                        "message": "Divides by zero.", "suggestion": "",
                    }
                ],
            )
        ]
    )  # fmt: skip
    (workspace / "app.py").write_text("def div(a, b):\n    return a / b\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    done = subprocess.run(
        ["git", "commit", "-m", "add div"],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "v4code review" in output and "Failed" in output and "Divides by zero." in output
    assert len(fake_api.chat_requests) == 1

    # a review that passes still shows its findings: the snippet's `verbose: true`
    fake_api.load([tool_call("report_findings", findings=[finding("minor", "Guard b == 0.")])])
    git = ["git", "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "hook"]
    subprocess.run([*git, ".pre-commit-config.yaml"], cwd=workspace, env=env, check=True)
    (workspace / "app.py").write_text("def div(a, b):\n    return a / b if b else 0\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    done = subprocess.run(
        ["git", "commit", "-m", "add div"],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Passed" in output and "Guard b == 0." in output


def finding(severity: str, message: str) -> dict[str, object]:
    return {
        "path": "app.py", "line": 2, "severity": severity, "category": "bug",
        "message": message, "suggestion": "",
    }  # fmt: skip
