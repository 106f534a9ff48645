"""Every git call goes through repo/git.py: a hostile repository's config runs nothing.

The repository plants an fsmonitor command, a textconv driver, an external diff, a clean
filter and a post-checkout hook (and for checkouts and commits a smudge filter, a pager and
commit hooks), each touching a marker file. The real CLI (`v4code review`, `run` and `undo`,
`batch` against the fake server), the file listing and `git grep` must never run any of them,
and the review must still see the real content.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from cli_harness import plan_each, run_and_apply, v4code
from conftest import git as plain_git
from conftest import make_repo, program_on_path
from fake_api import FakeDeepSeek, text, tool_call

from v4code.cancel import CancelToken
from v4code.errors import Cancelled
from v4code.repo import git
from v4code.repo.files import list_files
from v4code.repo.search import search

SECRET_LINE = "token = compute()  # the real content"


def plant(root: Path, markers: Path) -> dict[str, Path]:
    """Configure every program git could start for us; each one touches its own marker."""
    markers.mkdir()
    scripts = markers / "scripts"
    scripts.mkdir()
    touched: dict[str, Path] = {}
    # textconv prints a lie the review must not see; clean passes the content through.
    then = {"textconv": "echo FORGED", "clean": "cat"}
    for name in ("fsmonitor", "textconv", "external", "clean", "hook"):
        marker = markers / f"{name}.ran"
        script = scripts / name
        script.write_text(f'#!/bin/sh\ntouch "{marker}"\n{then.get(name, "")}\n')
        script.chmod(0o755)
        touched[name] = marker
    config = [
        ("core.fsmonitor", scripts / "fsmonitor"),
        ("diff.lie.textconv", scripts / "textconv"),
        ("diff.external", scripts / "external"),
        ("filter.lie.clean", scripts / "clean"),
    ]
    for key, value in config:
        subprocess.run(["git", "config", key, str(value)], cwd=root, check=True)
    hook = root / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text((scripts / "hook").read_text())
    hook.chmod(0o755)
    (root / ".gitattributes").write_text("*.py diff=lie filter=lie\n")
    return touched


def ran(touched: dict[str, Path]) -> list[str]:
    return sorted(name for name, marker in touched.items() if marker.exists())


def test_the_planted_programs_work_with_plain_git(workspace: Path, tmp_path: Path) -> None:
    """The trap is real: git without v4code's overrides runs them."""
    touched = plant(workspace, tmp_path / "markers")
    (workspace / "app.py").write_text(SECRET_LINE + "\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    subprocess.run(["git", "diff", "--cached"], cwd=workspace, capture_output=True, check=True)
    subprocess.run(["git", "checkout", "-q", "-b", "other"], cwd=workspace, check=True)
    shown = subprocess.run(
        ["git", "diff", "--cached", "--no-ext-diff"], cwd=workspace, capture_output=True, text=True
    )
    assert "FORGED" in shown.stdout
    assert ran(touched) == ["clean", "external", "fsmonitor", "hook", "textconv"]


@pytest.mark.parametrize("how", ["staged", "paths"])
def test_review_runs_nothing_the_repository_configures(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek, how: str
) -> None:
    touched = plant(workspace, tmp_path / "markers")
    (workspace / "app.py").write_text(SECRET_LINE + "\n")
    if how == "staged":
        subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
        for marker in touched.values():  # `git add` itself ran the clean filter and fsmonitor
            marker.unlink(missing_ok=True)
        args: tuple[str, ...] = ()
    else:
        (workspace / "new.py").write_text("fresh = 1\n")  # untracked: `diff --no-index`
        args = ("app.py", "new.py")
    fake_api.load([tool_call("report_findings", findings=[], summary="fine")])
    done = v4code(workspace, "review", *args, server=fake_api)
    assert done.returncode == 0, done.stderr
    assert ran(touched) == []
    sent = str(fake_api.last_request.messages)
    assert SECRET_LINE in sent and "FORGED" not in sent
    if how == "paths":
        assert "fresh = 1" in sent


def plant_more(root: Path, markers: Path, touched: dict[str, Path]) -> dict[str, Path]:
    """Beyond `plant`: a smudge filter (checkouts, `worktree add`), a pager, commit hooks."""
    for name in ("smudge", "pager", "pre-commit", "commit-msg"):
        touched[name] = markers / f"{name}.ran"
        script = markers / "scripts" / name
        script.write_text(f'#!/bin/sh\ntouch "{touched[name]}"\ncat\n')
        script.chmod(0o755)
    subprocess.run(["git", "config", "filter.lie.smudge", str(markers / "scripts" / "smudge")], cwd=root, check=True)  # fmt: skip
    subprocess.run(["git", "config", "core.pager", str(markers / "scripts" / "pager")], cwd=root, check=True)  # fmt: skip
    for hook in ("pre-commit", "commit-msg"):
        path = root / ".git" / "hooks" / hook
        path.write_text((markers / "scripts" / hook).read_text())
        path.chmod(0o755)
    return touched


@pytest.fixture
def hostile(workspace: Path, tmp_path: Path) -> dict[str, Path]:
    """`plant` and `plant_more` with .gitattributes committed (a new checkout of it filters),
    proven to fire under plain git, then every marker cleared."""
    touched = plant_more(workspace, tmp_path / "markers", plant(workspace, tmp_path / "markers"))
    make_repo(workspace, {"pkg/mod.py": SECRET_LINE + "\n", "pkg/other.py": "x = 1\n"})
    plain_git(workspace, "worktree", "add", "-q", str(tmp_path / "control"), "HEAD")
    assert {"smudge", "hook", "clean", "pre-commit"} <= set(ran(touched))  # the trap is real
    plain_git(workspace, "worktree", "remove", "--force", str(tmp_path / "control"))
    for marker in touched.values():
        marker.unlink(missing_ok=True)
    return touched


FIX = tool_call("edit_file", path="pkg/mod.py", old_string="compute()", new_string="fixed()")


def test_run_and_undo_run_nothing_the_repository_configures(
    workspace: Path, fake_api: FakeDeepSeek, hostile: dict[str, Path]
) -> None:
    """An edit's checkpoint, the snapshot around a command, and `undo` of that command."""
    command = tool_call("run_command", command="echo made > made.txt && rm pkg/other.py")
    fake_api.load([FIX, command, text("Done.")])
    done = v4code(workspace, "run", "--permission-mode", "full-auto", "fix", server=fake_api)
    assert done.returncode == 0, done.stderr
    assert v4code(workspace, "undo", server=fake_api).returncode == 0
    assert (workspace / "pkg" / "other.py").exists() and not (workspace / "made.txt").exists()
    assert "fixed()" in (workspace / "pkg" / "mod.py").read_text()
    assert ran(hostile) == []


def test_batch_runs_nothing_the_repository_configures(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek, hostile: dict[str, Path]
) -> None:
    """A unit's worktree, its commit, and applying it onto a branch."""
    manifest = plan_each(workspace, fake_api, "pkg/mod.py", tmp_path / "jobs.jsonl")
    fake_api.route("pkg/mod.py", [FIX, text("Done.")])
    run_and_apply(workspace, fake_api, manifest, tmp_path / "run", into="fixed")
    assert "fixed()" in plain_git(workspace, "show", "fixed:pkg/mod.py")
    assert ran(hostile) == []


def test_listing_and_git_grep_run_nothing(workspace: Path, tmp_path: Path) -> None:
    touched = plant(workspace, tmp_path / "markers")
    (workspace / "app.py").write_text(SECRET_LINE + "\n")
    assert "app.py" in list_files(workspace).files
    hits = search(workspace, "real content", backend="git")
    assert [m.path for m in hits.matches] == ["app.py"]
    assert ran(touched) == []


def test_inherited_repository_variables_are_ignored(workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    (workspace / "mine.txt").write_text("x\n")
    subprocess.run(["git", "add", "mine.txt"], cwd=workspace, check=True)
    env = {"GIT_DIR": str(other / ".git"), "GIT_INDEX_FILE": str(tmp_path / "nowhere")}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch /nonexistent'")
        listed = git.run_text(workspace, "ls-files").split()
        assert "mine.txt" in listed and "README.md" in listed
        # On purpose, a caller (the pre-commit review) keeps the index git names.
        kept = git.run_text(workspace, "ls-files", keep_env=("GIT_INDEX_FILE",))
        assert kept == ""


def test_errors_are_one_clear_type(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(git.GitError, match="git rev-parse --verify nope failed"):
        git.run(workspace, "rev-parse", "--verify", "nope")
    monkeypatch.setenv("PATH", str(workspace / "no-bin"))
    with pytest.raises(git.GitError, match="git is not installed"):
        git.run(workspace, "status")


@pytest.fixture
def stuck_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = "#!/bin/sh\nsleep 30 &\nsleep 30\n"
    return program_on_path(monkeypatch, tmp_path / "stuck-bin", "git", script)


def test_a_stuck_git_times_out_or_is_cancelled(workspace: Path, stuck_git: Path) -> None:
    with pytest.raises(git.GitError, match="did not finish within 0.3 s"):
        git.run(workspace, "status", timeout=0.3)
    token = CancelToken()
    threading.Timer(0.2, token.cancel).start()
    with pytest.raises(Cancelled):
        git.run(workspace, "status", cancel=token)


def test_every_hardening_option_is_accepted_by_this_git(workspace: Path) -> None:
    out = git.run_text(workspace, "config", "--get", "core.hooksPath")
    assert out.strip() == os.devnull
    assert git.run_text(workspace, "diff", "HEAD") == ""


def test_status_runs_no_filter_of_the_repository(workspace: Path) -> None:
    """`git status` runs clean filters too (the guard asks whether the tree is dirty)."""
    from v4code.repo import git as gitrunner

    marker = workspace.parent / "filter-ran"
    (workspace / ".gitattributes").write_text("*.txt filter=x\n")
    (workspace / "a.txt").write_text("a\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "a"], cwd=workspace, check=True)
    subprocess.run(
        ["git", "config", "filter.x.clean", f"touch {marker}; cat"], cwd=workspace, check=True
    )
    (workspace / "a.txt").write_text("b\n")
    os.utime(workspace / "a.txt", (1, 1))  # a changed stat makes status look at the content
    gitrunner.run_text(workspace, "status", "--porcelain")
    assert not marker.exists()
