"""`v4code batch` as the README runs it: no `--out`, the default run directory, verify in the
sandbox with its output scrubbed, placeholders filled once, and the base commit checked first.

Each test drives the real command line against the fake DeepSeek server, with HOME and
V4CODE_HOME as conftest sets them (so the default run directory is the one a user gets).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_harness import DEFAULT_KEY, v4code
from conftest import git, make_repo, program_on_path
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

PYTEST = f"{sys.executable} -m pytest -q {{tests}}"
MODULE = "def value():\n    return 1\n"
TEST = "from pkg.{name} import value\n\n\ndef test_value():\n    assert value() == 1\n"


def batch(root: Path, server: FakeDeepSeek, *args: str, **kw: Any) -> Any:
    kw.setdefault("sandbox", True)
    kw.setdefault("timeout", 240)
    return v4code(root, "batch", *args, server=server, **kw)


def package(root: Path, names: list[str]) -> Path:
    """pkg/NAME.py returning 1 and tests/test_NAME.py wanting 1: verify passes on the base."""
    files = {"pkg/__init__.py": ""}
    for name in names:
        files[f"pkg/{name}.py"] = MODULE
        files[f"tests/test_{name}.py"] = TEST.format(name=name)
    return make_repo(root, files)


def plan(root: Path, server: FakeDeepSeek, pattern: str) -> None:
    """The README's step 1, in the repository, writing jobs.jsonl there."""
    planned = batch(root, server, "plan", "Tidy {path}; keep behaviour", "--each", pattern,
                    "-o", "jobs.jsonl")  # fmt: skip
    assert planned.returncode == 0, planned.stderr


def edit(path: str, new: str) -> dict[str, Any]:
    return tool_call("edit_file", path=path, old_string="return 1", new_string=new)


def states(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted((run_dir / "units").glob("*/state.json"))
    }


def test_readme_run_without_out_edits_verifies_and_says_when_nothing_changed(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    root = package(workspace, ["a", "b", "c"])
    plan(root, fake_api, "pkg/[abc].py")
    before = git(root, "status", "--porcelain")
    fake_api.route("pkg/a.py", [edit("pkg/a.py", "return 0 + 1"), text("Done.")])
    fake_api.route("pkg/b.py", [edit("pkg/b.py", "return 1 +"), text("Done.")])
    fake_api.route("pkg/c.py", [text("Nothing to tidy here.")])

    ran = batch(root, fake_api, "run", "jobs.jsonl", "-j", "4", "--verify", PYTEST,
                "--max-cost-per-unit", "0.20")  # fmt: skip
    assert ran.returncode == 1, ran.stderr  # not every unit is green
    run_dir = Path(ran.stdout.strip().splitlines()[-1])
    home = Path(os.environ["HOME"])
    assert run_dir.parent == home / ".local" / "state" / "v4code" / "batch"
    assert v4code_home not in run_dir.parents and root not in run_dir.parents
    assert git(root, "status", "--porcelain") == before  # the checkout never sees the run

    got = states(run_dir)
    assert {uid: s["status"] for uid, s in got.items()} == {
        "pkg-a.py": "green",
        "pkg-b.py": "red",
        "pkg-c.py": "unchanged",
    }
    assert got["pkg-c.py"]["reason"] == "the agent changed nothing: Nothing to tidy here."
    assert "1 unchanged" in ran.stderr
    # The green unit's commit holds the agent's change only, not what verify left behind.
    branch = got["pkg-a.py"]["branch"]
    assert git(root, "show", f"{branch}:pkg/a.py") == "def value():\n    return 0 + 1\n"
    changed = git(root, "diff", "--name-only", f"{branch}~1", branch).split()
    assert changed == ["pkg/a.py"]
    # The red unit says what its agent changed, and why verify failed.
    assert "pkg/b.py | 2 +-" in got["pkg-b.py"]["diffstat"]
    assert got["pkg-b.py"]["reason"] == "verify failed (exit 2)"

    status = batch(root, fake_api, "status", str(run_dir), "--once").stdout
    assert "unchanged" in status and "1 unchanged" in status and "pkg/b.py" in status
    md = batch(root, fake_api, "report", str(run_dir), "--format", "md").stdout
    assert "1 unchanged" in md and "| pkg-c.py | unchanged |" in md
    assert "### pkg-b.py" in md and "SyntaxError" in md  # the verify output of a red unit
    data = json.loads(batch(root, fake_api, "report", str(run_dir), "--format", "json").stdout)
    assert data["counts"]["unchanged"] == 1

    applied = batch(root, fake_api, "apply", str(run_dir), "--into", "tidy")
    assert applied.returncode == 0, applied.stderr
    assert git(root, "show", "tidy:pkg/a.py") == "def value():\n    return 0 + 1\n"
    assert batch(root, fake_api, "clean", str(run_dir)).returncode == 0
    assert git(root, "status", "--porcelain") == before


WALKER = """import os
import re

found = set()
pids = [os.getpid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]
for pid in pids:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\\0")
    except OSError:
        continue
    for item in env:
        if item.startswith(b"DEEPSEEK_API_KEY="):
            found.add(item.split(b"=", 1)[1].decode())
print("seen", len(found))
for key in sorted(found):
    print("key", key)
"""


def leaky_project(root: Path) -> Path:
    return make_repo(root, {"pkg/mod.py": MODULE, "tools/check.py": "print('ok')\n"})


def test_verify_runs_in_the_sandbox_and_its_output_is_scrubbed(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    """The agent rewrites the check verify runs so that it reads every process's environment
    (the driver's holds the key) and prints what it found."""
    root = leaky_project(workspace)
    plan(root, fake_api, "pkg/mod.py")
    fake_api.route(
        "pkg/mod.py",
        [
            tool_calls([("write_file", {"path": "tools/check.py", "content": WALKER})]),
            text("Done."),
        ],
    )
    escaped = tmp_path / "escaped"
    verify = f"{sys.executable} tools/check.py; touch {escaped}"
    ran = batch(root, fake_api, "run", "jobs.jsonl", "--verify", verify)
    assert ran.returncode == 0, ran.stderr
    run_dir = Path(ran.stdout.strip().splitlines()[-1])
    log = (run_dir / "units" / "pkg-mod.py" / "verify.log").read_text()
    assert "seen 0" in log  # no process outside the sandbox is visible
    assert not escaped.exists()  # and nothing outside the worktree is writable
    for written in run_dir.rglob("*"):
        if written.is_file() and ".git" not in written.parts:
            assert DEFAULT_KEY not in written.read_text(errors="replace"), written


def test_with_the_users_sandbox_false_verify_says_so_and_finds_no_key(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = leaky_project(workspace)
    plan(root, fake_api, "pkg/mod.py")
    fake_api.route(
        "pkg/mod.py",
        [
            tool_calls([("write_file", {"path": "tools/check.py", "content": WALKER})]),
            text("Done."),
        ],
    )
    ran = batch(root, fake_api, "run", "jobs.jsonl", "--verify", f"{sys.executable} tools/check.py",
                sandbox=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "sandbox = false" in ran.stderr and "unconfined" in ran.stderr
    run_dir = Path(ran.stdout.strip().splitlines()[-1])
    unit = run_dir / "units" / "pkg-mod.py"
    # unconfined, yet no process it can see holds the key in its environment: v4code's own
    # processes hand it over through a pipe, and verify runs in a PID namespace of its own
    assert "seen 0" in (unit / "verify.log").read_text()
    for name in ("verify.log", "state.json"):
        assert DEFAULT_KEY not in (unit / name).read_text()
    report = batch(root, fake_api, "report", str(run_dir), "--format", "md", sandbox=False)
    assert DEFAULT_KEY not in report.stdout


def test_batch_refuses_before_spending_when_the_sandbox_cannot_start(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = package(workspace, ["a"])
    plan(root, fake_api, "pkg/a.py")
    program_on_path(monkeypatch, tmp_path / "bin", "bwrap",
                    "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")  # fmt: skip
    ran = batch(root, fake_api, "run", "jobs.jsonl", "--verify", PYTEST)
    assert ran.returncode == 2, ran.stderr
    assert "sandbox" in ran.stderr and "No permissions" in ran.stderr
    assert "sandbox = false" in ran.stderr  # what the user may do about it
    assert fake_api.chat_requests == []
    assert not (Path(os.environ["HOME"]) / ".local" / "state" / "v4code" / "batch").exists()


def test_verify_fills_hostile_file_names_once_and_quoted(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    hostile = "tests/test_{paths}$(sh${IFS}x.sh).py"
    root = make_repo(workspace, {"pkg/mod.py": MODULE, hostile: "", "x.sh": "echo PWNED\n"})
    targets = tmp_path / "targets.txt"
    targets.write_text(f"pkg/mod.py {hostile}\n")
    planned = batch(root, fake_api, "plan", "Tidy {paths}.", "--targets", str(targets),
                    "-o", "jobs.jsonl")  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    fake_api.route("pkg/mod.py", [edit("pkg/mod.py", "return 0 + 1"), text("Done.")])
    ran = batch(root, fake_api, "run", "jobs.jsonl", "--verify", "printf '<%s>\\n' {tests} {paths}")
    assert ran.returncode == 0, ran.stderr
    run_dir = Path(ran.stdout.strip().splitlines()[-1])
    (log,) = (run_dir / "units").glob("*/verify.log")
    shown = log.read_text()
    assert "PWNED" not in shown
    assert shown.count(f"<{hostile}>") == 2 and "<pkg/mod.py>" in shown


def test_verify_failing_on_the_base_commit_stops_the_run_before_spending(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    root = package(workspace, ["a"])
    (root / "tests" / "test_a.py").write_text(TEST.format(name="a").replace("== 1", "== 2"))
    git(root, "commit", "-qam", "a test the units are to make pass")
    plan(root, fake_api, "pkg/a.py")
    fake_api.route("pkg/a.py", [edit("pkg/a.py", "return 2"), text("Done.")])
    ran = batch(root, fake_api, "run", "jobs.jsonl", "--verify", PYTEST)
    assert ran.returncode == 2, ran.stderr
    assert "fails on the base commit" in ran.stderr and "assert 1 == 2" in ran.stderr
    assert "--on-red-base warn" in ran.stderr
    assert fake_api.chat_requests == []

    going = batch(root, fake_api, "run", "jobs.jsonl", "--verify", PYTEST, "--on-red-base", "warn")
    assert going.returncode == 0, going.stderr
    assert "fails on the base commit" in going.stderr
    assert fake_api.chat_requests


def test_a_run_directory_the_agents_could_not_edit_or_the_checkout_would_see_is_refused(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    from v4code.jobs.manifest import read_manifest
    from v4code.jobs.state import RunDir

    root = package(workspace, ["a"])
    plan(root, fake_api, "pkg/a.py")
    for out, why in ((v4code_home / "runs" / "r1", "under v4code's home"),
                     (root / "runs" / "r1", "inside the repository")):  # fmt: skip
        ran = batch(root, fake_api, "run", "jobs.jsonl", "--out", str(out))
        assert ran.returncode == 2 and why in ran.stderr, ran.stderr
        assert not out.exists()
    # A run made under v4code's home before is not continued either.
    old = RunDir(v4code_home / "batch" / "r0")
    old.create("r0", read_manifest(root / "jobs.jsonl"), {})
    for args in (("run", "--resume", str(old.path)), ("retry", str(old.path))):
        again = batch(root, fake_api, *args)
        assert again.returncode == 2 and "start it again with an --out folder" in again.stderr
    assert fake_api.chat_requests == []
