"""`v4code hook install|uninstall`: where the hook goes, chaining, --force, what the script runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from v4code.cli import main
from v4code.review.hooks import BACKUP, CHAINED, hook_script

FOREIGN = "#!/bin/sh\necho foreign hook >&2\n"


def hook_cli(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, ["hook", *args])


def hooks(root: Path) -> Path:
    return root / ".git" / "hooks"


def put_foreign_hook(root: Path) -> Path:
    path = hooks(root) / "pre-commit"
    path.write_text(FOREIGN)
    path.chmod(0o755)
    return path


def test_install_writes_an_executable_hook_and_uninstall_removes_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = hook_cli(workspace, monkeypatch, "install", "--fail-on", "major", "--timeout", "20")
    assert done.exit_code == 0 and "installed" in done.output
    hook = hooks(workspace) / "pre-commit"
    assert os.access(hook, os.X_OK)
    script = hook.read_text()
    assert "review --hook --fail-on major --timeout 20" in script
    assert hook_cli(workspace, monkeypatch, "install").exit_code == 0  # reinstall: replaced
    assert "--fail-on" not in hook.read_text() and not (hooks(workspace) / CHAINED).exists()
    assert hook_cli(workspace, monkeypatch, "uninstall").exit_code == 0
    assert not hook.exists()
    again = hook_cli(workspace, monkeypatch, "uninstall")
    assert again.exit_code == 2 and "not v4code's hook" in again.output


def test_an_existing_hook_is_chained_never_overwritten(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = put_foreign_hook(workspace)
    done = hook_cli(workspace, monkeypatch, "install")
    assert "still runs first" in done.output
    assert (hooks(workspace) / CHAINED).read_text() == FOREIGN
    # a second foreign hook cannot be chained on top of the first one
    (hooks(workspace) / CHAINED).rename(hooks(workspace) / "keep")
    put_foreign_hook(workspace)
    (hooks(workspace) / "keep").rename(hooks(workspace) / CHAINED)
    refused = hook_cli(workspace, monkeypatch, "install")
    assert refused.exit_code == 2 and "--force" in refused.output
    assert hook.read_text() == FOREIGN


def test_force_replaces_and_uninstall_restores(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = put_foreign_hook(workspace)
    done = hook_cli(workspace, monkeypatch, "install", "--force")
    assert "replaced" in done.output and (hooks(workspace) / BACKUP).read_text() == FOREIGN
    assert not (hooks(workspace) / CHAINED).exists() and "v4code" in hook.read_text()
    hook_cli(workspace, monkeypatch, "uninstall")
    assert hook.read_text() == FOREIGN and not (hooks(workspace) / BACKUP).exists()


def test_hooks_path_and_worktrees(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "worktree", "add", "-q", "../wt"], cwd=workspace, check=True)
    hook_cli(workspace.parent / "wt", monkeypatch, "install")
    assert (hooks(workspace) / "pre-commit").exists()  # worktrees share the main hooks dir
    subprocess.run(["git", "config", "core.hooksPath", "ci/hooks"], cwd=workspace, check=True)
    (workspace / "sub").mkdir()
    done = hook_cli(workspace / "sub", monkeypatch, "install")
    assert done.exit_code == 0
    assert (workspace / "ci" / "hooks" / "pre-commit").exists()


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done = hook_cli(tmp_path, monkeypatch, "install")
    assert done.exit_code == 2 and "v4code hook:" in done.output


def test_the_script_uses_this_installation() -> None:
    script = hook_script(["--fail-on", "major"])
    assert script.startswith("#!/bin/sh\n")
    assert f"python={sys.executable}" in script and "review --hook --fail-on major" in script
    assert f"script={Path(sys.executable).parent / 'v4code'}" in script
    assert 'V4CODE_SKIP_REVIEW:-}" = "1"' in script


def run_script(tmp_path: Path, script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    path = tmp_path / "pre-commit"
    path.write_text(script)
    path.chmod(0o755)
    return subprocess.run([str(path)], env=env, capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize("fail_closed", [False, True])
def test_a_vanished_installation_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_closed: bool
) -> None:
    """The venv the hook was installed from was deleted and no v4code is on PATH."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "bin" / "python"))
    script = hook_script([], fail_closed=fail_closed)
    done = run_script(tmp_path, script, {"PATH": "/usr/bin:/bin"})
    assert done.returncode == (1 if fail_closed else 0)
    assert "is gone" in done.stderr and "v4code hook install" in done.stderr


def test_skip_variable_skips_before_python_starts(tmp_path: Path) -> None:
    script = hook_script([]).replace("exec ", "echo would-run ")
    done = run_script(tmp_path, script, {"PATH": "/usr/bin:/bin", "V4CODE_SKIP_REVIEW": "1"})
    assert done.returncode == 0 and "skipped" in done.stderr and "would-run" not in done.stdout
