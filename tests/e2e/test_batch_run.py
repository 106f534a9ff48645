"""`v4code batch` as a user runs it: real git, real worktrees, real pytest as verify, and the
fake DeepSeek server answering each unit's agent (a child process per unit) from its own script."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_harness import start_v4code, v4code
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call

MODULE = "def value():\n    return {n}\n"
TEST = "from pkg.{name} import value\n\n\ndef test_value():\n    assert value() == {want}\n"


def batch(
    root: Path, server: FakeDeepSeek, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return v4code(root, "batch", *args, server=server, sandbox=True, timeout=timeout)


def plan_each(root: Path, server: FakeDeepSeek, pattern: str, manifest: Path) -> Path:
    """`batch plan "Fix {path}." --each PATTERN -o MANIFEST`: a unit a matching file."""
    planned = batch(root, server, "plan", "Fix {path}.", "--each", pattern, "-o", str(manifest))
    assert planned.returncode == 0
    return manifest


def project(root: Path, names: list[str]) -> Path:
    """pkg/NAME.py returning 1 each, and tests wanting 2: every unit must change its module."""
    (root / "pkg").mkdir()
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for name in names:
        (root / "pkg" / f"{name}.py").write_text(MODULE.format(n=1))
        (root / "tests" / f"test_{name}.py").write_text(TEST.format(name=name, want=2))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "modules")
    return root


def fix(path: str, to: int = 2) -> dict[str, Any]:
    return tool_call("edit_file", path=path, old_string="return 1", new_string=f"return {to}")


def snapshot(root: Path) -> dict[str, str]:
    """What a user would notice changing: refs, worktrees, status, index, and the files."""
    files = {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }
    return {
        "refs": git(root, "for-each-ref"),
        "worktrees": git(root, "worktree", "list", "--porcelain"),
        "status": git(root, "status", "--porcelain"),
        "index": git(root, "ls-files", "-s"),
        "head": git(root, "rev-parse", "HEAD"),
        "files": json.dumps(files),
    }


def states(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted((run_dir / "units").glob("*/state.json"))
    }


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def asked(server: FakeDeepSeek, keys: list[str]) -> set[str]:
    """The keys whose unit's request has arrived: a request belongs to the key its first user
    message names earliest (the task comes first; a repo map after it may name the others)."""
    seen: set[str] = set()
    for request in server.chat_requests:
        first = next((m for m in request.messages if m.get("role") == "user"), {})
        content = str(first.get("content", ""))
        found = [(content.find(key), key) for key in keys if key in content]
        if found:
            seen.add(min(found)[1])
    return seen


VERIFY = f"{sys.executable} -m pytest -q -p no:cacheprovider {{tests}}"


def test_plan_run_report_apply_clean(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = project(workspace, ["alpha", "beta", "gamma", "delta", "omega"])
    # A dirty checkout: an edit, a staged change and an untracked file, kept through it all.
    (root / "pkg" / "alpha.py").write_text(MODULE.format(n=99))
    (root / "notes.txt").write_text("mine\n")
    (root / "README.md").write_text("# project, staged\n")
    git(root, "add", "README.md")
    before = snapshot(root)

    manifest = tmp_path / "jobs.jsonl"
    planned = batch(
        root, fake_api, "plan", "Make value() in {path} return 2.", "--each", "pkg/[a-z]*.py",
        "-o", str(manifest),
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    units = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [u["id"] for u in units] == [
        "pkg-alpha.py", "pkg-beta.py", "pkg-delta.py", "pkg-gamma.py", "pkg-omega.py",
    ]  # fmt: skip
    assert {u["base"] for u in units} == {git(root, "rev-parse", "HEAD").strip()}
    assert units[0]["task"] == "Make value() in pkg/alpha.py return 2." and units[0]["paths"] == [
        "pkg/alpha.py"
    ]
    # The person reviewing the manifest drops one unit.
    manifest.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()[:4]))

    # alpha and beta: green. delta: the agent fixes it wrongly, so verify fails.
    # gamma: the agent gives up. omega: removed from the manifest.
    fake_api.route("pkg/alpha.py", [fix("pkg/alpha.py"), text("Done.")])
    fake_api.route("pkg/beta.py", [fix("pkg/beta.py"), text("Done.")])
    fake_api.route("pkg/delta.py", [fix("pkg/delta.py", to=3), text("Done.")])
    expensive = {"prompt_tokens": 4_000_000, "prompt_cache_miss_tokens": 4_000_000}
    fake_api.route(
        "pkg/gamma.py", [{**tool_call("read_file", path="pkg/gamma.py"), "usage": expensive}]
    )
    run_dir = tmp_path / "run"
    ran = batch(
        root, fake_api, "run", str(manifest), "-j", "2", "--verify", VERIFY,
        "--max-cost-per-unit", "0.5", "--out", str(run_dir), "--on-red-base", "warn",
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout.strip() == str(run_dir.resolve())
    got = states(run_dir)
    assert {uid: s["status"] for uid, s in got.items()} == {
        "pkg-alpha.py": "green",
        "pkg-beta.py": "green",
        "pkg-delta.py": "red",
        "pkg-gamma.py": "red",
    }
    assert got["pkg-delta.py"]["reason"] == "verify failed (exit 1)"
    assert "assert 3 == 2" in got["pkg-delta.py"]["verify_tail"]
    assert got["pkg-gamma.py"]["reason"].startswith("agent limit")
    assert got["pkg-alpha.py"]["verify_exit"] == 0 and got["pkg-alpha.py"]["session_id"]
    assert "1 passed" in (run_dir / "units" / "pkg-alpha.py" / "verify.log").read_text()
    assert "pkg/alpha.py | 2 +-" in got["pkg-alpha.py"]["diffstat"]

    # Each green unit is one commit on its own branch, from the recorded base.
    base = units[0]["base"]
    branch = got["pkg-alpha.py"]["branch"]
    assert branch.startswith("v4code/batch/") and branch.endswith("/pkg-alpha.py")
    assert git(root, "rev-parse", f"{branch}~1").strip() == base
    assert git(root, "show", f"{branch}:pkg/alpha.py") == MODULE.format(n=2)
    assert "pkg/alpha.py" in (run_dir / "units" / "pkg-alpha.py" / "result.patch").read_text()
    assert snapshot(root)["files"] == before["files"]
    assert snapshot(root)["status"] == before["status"]

    report = batch(root, fake_api, "report", str(run_dir), "--format", "json")
    data = json.loads(report.stdout)
    assert data["counts"]["green"] == 2 and data["counts"]["red"] == 2
    assert data["failures"] == {
        "verify failed (exit N)": ["pkg-delta.py"],
        "agent limit": ["pkg-gamma.py"],
    }
    assert data["most_expensive"][0] == "pkg-gamma.py" and data["cost_usd"] > 0.5
    md = batch(root, fake_api, "report", str(run_dir), "--format", "md").stdout
    assert "4 units: 2 green, 2 red" in md and "## Failures by cause" in md
    status = batch(root, fake_api, "status", str(run_dir), "--once").stdout
    assert "pkg-gamma.py" in status and "2 green, 2 red" in status

    # retry: the two red units again, now fixed properly.
    fake_api.route("pkg/delta.py", [fix("pkg/delta.py"), text("Done.")])
    fake_api.route("pkg/gamma.py", [fix("pkg/gamma.py"), text("Done.")])
    retried = batch(root, fake_api, "retry", str(run_dir), "--only", "red")
    assert retried.returncode == 0, retried.stderr
    got = states(run_dir)
    assert {s["status"] for s in got.values()} == {"green"}
    assert got["pkg-gamma.py"]["attempts"] == 2 and got["pkg-alpha.py"]["attempts"] == 1
    assert [h["status"] for h in got["pkg-delta.py"]["history"]] == ["red", "green"]

    # apply: the green units onto one branch; the user's checkout is not touched.
    applied = batch(root, fake_api, "apply", str(run_dir), "--into", "migrated")
    assert applied.returncode == 0, applied.stderr
    for name in ("alpha", "beta", "gamma", "delta"):
        assert git(root, "show", f"migrated:pkg/{name}.py") == MODULE.format(n=2)
    assert git(root, "show", "migrated:pkg/omega.py") == MODULE.format(n=1)
    after_apply = snapshot(root)
    assert after_apply["files"] == before["files"] and after_apply["index"] == before["index"]
    patches = batch(root, fake_api, "apply", str(run_dir), "--patch-dir", str(tmp_path / "p"))
    assert len(patches.stdout.split()) == 4
    git(root, "branch", "-D", "migrated")

    cleaned = batch(root, fake_api, "clean", str(run_dir))
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed 4 worktrees and 4 branches" in cleaned.stdout + cleaned.stderr
    assert snapshot(root) == before
    assert not (run_dir / "worktrees").exists()


def test_apply_reports_a_conflict_per_unit(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = project(workspace, ["one", "two"])
    (root / "pkg" / "__init__.py").write_text("WHO = None\n")
    git(root, "commit", "-qam", "who")
    manifest = tmp_path / "jobs.jsonl"
    targets = tmp_path / "targets.txt"
    targets.write_text(
        "# both units touch the shared file\npkg/one.py pkg/__init__.py\npkg/two.py pkg/__init__.py\n"
    )
    planned = batch(
        root, fake_api, "plan", "Fix {paths}.", "--targets", str(targets), "-o", str(manifest)
    )
    assert planned.returncode == 0, planned.stderr
    units = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [u["paths"] for u in units] == [
        ["pkg/one.py", "pkg/__init__.py"],
        ["pkg/two.py", "pkg/__init__.py"],
    ]
    for name in ("one", "two"):
        fake_api.route(
            f"pkg/{name}.py",
            [
                tool_call(
                    "edit_file",
                    path="pkg/__init__.py",
                    old_string="WHO = None",
                    new_string=f"WHO = {name!r}",
                ),
                text("Done."),
            ],
        )
    run_dir = tmp_path / "run"
    ran = batch(root, fake_api, "run", str(manifest), "--out", str(run_dir))
    assert ran.returncode == 0, ran.stderr
    before = snapshot(root)
    applied = batch(root, fake_api, "apply", str(run_dir), "--into", "combined")
    assert applied.returncode == 1
    assert "applied pkg-one.py" in applied.stdout
    assert "conflict pkg-two.py: conflict in pkg/__init__.py" in applied.stderr
    assert git(root, "show", "combined:pkg/__init__.py") == "WHO = 'one'\n"
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert "refs/heads/combined" in after["refs"]


def test_sigkill_then_resume_loses_nothing_and_repeats_nothing(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    names = ["u1", "u2", "u3", "u4"]
    root = project(workspace, names)
    before = snapshot(root)
    manifest = plan_each(root, fake_api, "pkg/u*.py", tmp_path / "jobs.jsonl")
    # u1 finishes at once; u2 hangs in its first answer, so the driver is killed mid-unit.
    fake_api.route("pkg/u1.py", [fix("pkg/u1.py"), text("Done.")])
    fake_api.route("pkg/u2.py", [text("never seen", delay=60)])
    run_dir = tmp_path / "run"
    driver = start_v4code(
        root, "batch", "run", str(manifest), "--out", str(run_dir),
        server=fake_api, sandbox=True, capture=False,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = states(run_dir) if (run_dir / "units").exists() else {}
        if got.get("pkg-u2.py", {}).get("status") == "running" and len(fake_api.chat_requests) >= 3:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the driver never reached the second unit")
    second = batch(root, fake_api, "run", "--resume", str(run_dir))
    assert second.returncode == 2 and "being run by another v4code batch" in second.stderr
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    # The unit's agent process dies with the driver: nothing keeps writing to its worktree.
    worktree = str(run_dir / "worktrees" / "pkg-u2.py").encode()
    for _ in range(100):
        alive = [p for p in Path("/proc").glob("[0-9]*") if worktree in _cmdline(p)]
        if not alive:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the agent process outlived its driver")
    assert states(run_dir)["pkg-u1.py"]["status"] == "green"

    status = batch(root, fake_api, "status", str(run_dir), "--once").stdout
    assert "pkg-u2.py" in status and "running" in status and "--resume" in status
    fake_api.reset()
    for name in names[1:]:
        fake_api.route(f"pkg/{name}.py", [fix(f"pkg/{name}.py"), text("Done.")])
    resumed = batch(root, fake_api, "run", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    got = states(run_dir)
    assert {s["status"] for s in got.values()} == {"green"}
    assert got["pkg-u1.py"]["attempts"] == 1  # finished: not redone
    assert got["pkg-u2.py"]["attempts"] == 2  # interrupted: restarted from its base
    assert len(fake_api.chat_requests) == 6  # u2, u3, u4: two requests each, once
    branch = got["pkg-u2.py"]["branch"]
    assert git(root, "rev-list", "--count", f"{before['head'].strip()}..{branch}").strip() == "1"
    assert batch(root, fake_api, "clean", str(run_dir)).returncode == 0
    assert snapshot(root) == before


def test_ctrl_c_stops_every_unit_and_resume_finishes(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = project(workspace, ["s1", "s2"])
    manifest = plan_each(root, fake_api, "pkg/s*.py", tmp_path / "jobs.jsonl")
    fake_api.route("pkg/s1.py", [text("never seen", delay=60)])
    fake_api.route("pkg/s2.py", [text("never seen", delay=60)])
    run_dir = tmp_path / "run"
    driver = start_v4code(
        root, "batch", "run", str(manifest), "-j", "2", "--out", str(run_dir),
        server=fake_api, sandbox=True,
    )  # fmt: skip
    # Ctrl-C once each unit's own agent is waiting on the model: two requests alone could be
    # one unit's retry while the other unit is still starting.
    deadline = time.monotonic() + 60
    while asked(fake_api, ["pkg/s1.py", "pkg/s2.py"]) != {"pkg/s1.py", "pkg/s2.py"}:
        if driver.poll() is not None or time.monotonic() > deadline:
            driver.kill()
            pytest.fail(f"the units never both reached the model: {driver.communicate()[1]}")
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    try:
        _, err = driver.communicate(timeout=60)
    finally:  # a driver that ignored Ctrl-C must not outlive the test
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 130, err
    assert "--resume" in err
    got = states(run_dir)
    assert {s["status"] for s in got.values()} == {"pending"}
    assert all("interrupted" in s["reason"] for s in got.values())
    worktrees = str(run_dir.resolve() / "worktrees").encode()
    assert not [p for p in Path("/proc").glob("[0-9]*") if worktrees in _cmdline(p)]

    fake_api.reset()
    fake_api.route("pkg/s1.py", [fix("pkg/s1.py"), text("Done.")])
    fake_api.route("pkg/s2.py", [fix("pkg/s2.py"), text("Done.")])
    resumed = batch(root, fake_api, "run", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert {s["status"] for s in states(run_dir).values()} == {"green"}


def test_run_budget_stops_starting_units(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = project(workspace, ["c1", "c2"])
    manifest = plan_each(root, fake_api, "pkg/c*.py", tmp_path / "jobs.jsonl")
    expensive = {"prompt_tokens": 2_000_000, "prompt_cache_miss_tokens": 2_000_000}
    fake_api.route("pkg/c1.py", [fix("pkg/c1.py"), {**text("Done."), "usage": expensive}])
    run_dir = tmp_path / "run"
    ran = batch(root, fake_api, "run", str(manifest), "--max-cost", "0.1", "--out", str(run_dir))
    assert ran.returncode == 1
    got = states(run_dir)
    assert got["pkg-c1.py"]["status"] == "green" and got["pkg-c1.py"]["cost_usd"] > 0.1
    assert got["pkg-c2.py"]["status"] == "pending" and got["pkg-c2.py"]["attempts"] == 0
    assert got["pkg-c2.py"]["reason"] == "not started: the run's --max-cost was reached"
    missing = batch(root, fake_api, "run")
    assert missing.returncode == 2 and "--resume RUN_DIR" in missing.stderr


def test_a_retry_with_nothing_to_run_passes_and_a_mistyped_unit_or_folder_is_named(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    """No red unit: `retry --only red` ran nothing, yet exited 1 for the unchanged unit. A
    unit id that is not in the run is a typo (it chose nothing, silently, before), and a
    folder with some other tool's run.json is not a run (it was called damaged)."""
    root = project(workspace, ["c1", "c2"])
    manifest = plan_each(root, fake_api, "pkg/c*.py", tmp_path / "jobs.jsonl")
    fake_api.route("pkg/c1.py", [fix("pkg/c1.py"), text("Done.")])
    fake_api.route("pkg/c2.py", [text("Nothing to change.")])
    run_dir = tmp_path / "run"
    ran = batch(root, fake_api, "run", str(manifest), "--out", str(run_dir))
    assert ran.returncode == 1, ran.stderr
    assert {u: s["status"] for u, s in states(run_dir).items()} == {
        "pkg-c1.py": "green",
        "pkg-c2.py": "unchanged",
    }
    asked_before = len(fake_api.chat_requests)

    retried = batch(root, fake_api, "retry", str(run_dir), "--only", "red")
    assert retried.returncode == 0, retried.stderr
    assert "0 units to run: no unit is red" in retried.stderr

    typo = batch(root, fake_api, "retry", str(run_dir), "--only", "pkg-c3.py")
    assert typo.returncode == 2
    assert "--only: no status or unit pkg-c3.py in run" in typo.stderr
    assert len(fake_api.chat_requests) == asked_before

    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text('{"name": "an unrelated tool"}\n')
    report = batch(root, fake_api, "report", str(other))
    assert report.returncode == 2
    assert f"{other.resolve()} is not a batch run directory" in report.stderr
    assert "damaged" not in report.stderr
