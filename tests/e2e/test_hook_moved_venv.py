"""The pre-commit hook outlives the virtualenv it was installed from: real `git commit`s."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest


def _git(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, timeout=90
    )


def _throwaway_venv(tmp_path: Path) -> Path:
    """A virtualenv that can run v4code (it borrows this one's packages) and has its own
    `v4code` console script, as `pip install` would write it."""
    venv = tmp_path / "old-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ours = site.getsitepackages()[0]
    Path(purelib, "borrow.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    script = venv / "bin" / "v4code"
    script.write_text(f"#!{python}\nimport sys\nfrom v4code.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    return venv


def _install_from(venv: Path, root: Path, *args: str) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "v4code", "hook", "install", *args],
        cwd=root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(venv) in (root / ".git" / "hooks" / "pre-commit").read_text()


def _commit(root: Path, path: str) -> subprocess.CompletedProcess[str]:
    (root / "app.py").write_text("x = 1\n")
    _git(root, "add", "app.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEEK_", "VIRTUAL_ENV"))}
    return _git(root, "commit", "-m", "add app", env={**env, "PATH": path})


def _delete_interpreter(venv: Path) -> None:
    for entry in (venv / "bin").iterdir():
        if entry.name.startswith("python"):
            entry.unlink()
    assert (venv / "bin" / "v4code").exists()  # the console script stays, now broken


@pytest.mark.timeout(120)
def test_a_deleted_interpreter_falls_back_to_v4code_on_path(
    workspace: Path, tmp_path: Path
) -> None:
    venv = _throwaway_venv(tmp_path)
    _install_from(venv, workspace)
    _delete_interpreter(venv)
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    done = _commit(workspace, path)
    # v4code from PATH ran the review (no key here, so it warns and lets the commit through).
    assert done.returncode == 0, done.stderr
    assert "v4code review: warning: the review could not run" in done.stderr
    assert "add app" in _git(workspace, "log", "-1", "--format=%s").stdout


@pytest.mark.parametrize("fail_closed", [False, True])
def test_without_any_v4code_the_commit_passes_with_a_warning(
    workspace: Path, tmp_path: Path, fail_closed: bool
) -> None:
    venv = _throwaway_venv(tmp_path)
    _install_from(venv, workspace, *(["--fail-closed"] if fail_closed else []))
    shutil.rmtree(venv)  # the venv was deleted; nothing else has v4code
    done = _commit(workspace, "/usr/bin:/bin")
    assert "v4code cannot be found" in done.stderr
    assert "v4code hook install" in done.stderr
    if fail_closed:
        assert done.returncode != 0 and "refused" in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert "add app" in _git(workspace, "log", "-1", "--format=%s").stdout
