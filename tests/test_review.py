"""`v4code review` against the fake server: findings, gating, formats, cache, skips, failures."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_api import FakeDeepSeek, fault, tool_call

from v4code.cli import main
from v4code.review.diff import chunks, split_files

APP = "def div(a, b):\n    return a / b\n"


def stage(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text)
    subprocess.run(["git", "add", name], cwd=root, check=True)


def finding(severity: str = "blocker", line: int = 2, path: str = "app.py", **extra: str) -> dict:
    return {
        "path": path, "line": line, "severity": severity, "category": "bug",
        "message": "Division by zero when b is 0.", "suggestion": "Check b first.", **extra,
    }  # fmt: skip


def review(root: Path, server: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    monkeypatch.setenv("V4CODE_RETRY_BASE_DELAY", "0.01")
    return CliRunner().invoke(main, ["review", *args])


def test_blocker_fails_and_text_groups_findings(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load(
        [
            tool_call(
                "report_findings",
                reasoning="b may be 0",
                findings=[finding(), finding("nit", 1)],
                summary="Adds div.",
            )
        ]
    )
    result = review(workspace, fake_api, monkeypatch)
    assert result.exit_code == 1, result.output
    assert (
        "app.py" in result.output
        and "blocker" in result.output
        and "Division by zero" in result.output
    )
    assert "1 blocker, 1 nit in 1 file" in result.output
    body = fake_api.chat_requests[0].body
    assert body["model"] == "deepseek-flash" and body["reasoning_effort"] == "low"
    assert "+    return a / b" in body["messages"][1]["content"]
    assert {t["function"]["name"] for t in body["tools"]} == {
        "read_file",
        "grep",
        "list_files",
        "report_findings",
    }
    assert len(fake_api.chat_requests) == 1  # report_findings ends the turn: no extra request


def test_minor_passes_fail_on_lowers_the_bar(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load(
        [
            tool_call("report_findings", findings=[finding("minor")]),
            tool_call("report_findings", findings=[finding("minor")]),
        ]
    )
    assert review(workspace, fake_api, monkeypatch).exit_code == 0
    stage(workspace, "app.py", APP + "# changed\n")
    assert review(workspace, fake_api, monkeypatch, "--fail-on", "minor").exit_code == 1


def test_findings_outside_the_change_are_marked_and_do_not_gate(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    (workspace / "app.py").write_text("\n".join(f"x{i} = {i}" for i in range(40)) + "\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=workspace, check=True)
    lines = (workspace / "app.py").read_text().splitlines()
    lines[30] = "x30 = 1 / 0"
    stage(workspace, "app.py", "\n".join(lines) + "\n")
    fake_api.load(
        [
            tool_call(
                "report_findings",
                findings=[
                    finding("blocker", 2),
                    finding("major", 31),
                    finding("blocker", 5, path="other.py"),
                ],
            )
        ]
    )
    result = review(workspace, fake_api, monkeypatch, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(f["line"], f["outside_diff"]) for f in data["findings"]] == [(31, False), (2, True)]
    # counts covers every listed finding; changed_lines only those that can gate.
    assert data["counts"]["major"] == 1 and data["counts"]["blocker"] == 1
    assert data["changed_lines"]["major"] == 1 and data["changed_lines"]["blocker"] == 0


def test_sarif_structure(workspace: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load([tool_call("report_findings", findings=[finding(), finding("minor", 1)])])
    result = review(workspace, fake_api, monkeypatch, "--format", "sarif")
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "v4code"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for res in run["results"]:
        assert res["ruleId"] in rule_ids and rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note", "none")
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "app.py" and loc["region"]["startLine"] >= 1
    assert [r["level"] for r in run["results"]] == ["error", "warning"]


def test_cache_avoids_a_second_api_call(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load([tool_call("report_findings", findings=[finding("major")])])
    first = review(workspace, fake_api, monkeypatch, "--format", "json")
    second = review(workspace, fake_api, monkeypatch, "--format", "json")
    assert len(fake_api.chat_requests) == 1
    a, b = json.loads(first.output), json.loads(second.output)
    assert a["findings"] == b["findings"] and b["cached"] and not a["cached"]


def test_old_review_runs_are_pruned_and_conversations_kept(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    from v4code.sessions import SessionLog, sessions_dir

    monkeypatch.setattr("v4code.review.runner.KEEP_LOGS", 2)
    kinds = ["chat", "hook", "run", "review", "review"]  # oldest first
    old = [SessionLog.create(workspace, {"kind": kind}).path for kind in kinds]
    for age, path in enumerate(reversed(old), start=1):
        os.utime(path, (time.time() - 100 * age,) * 2)
    stage(workspace, "app.py", APP)
    fake_api.load([tool_call("report_findings", findings=[])])
    assert review(workspace, fake_api, monkeypatch).exit_code == 0
    left = set(sessions_dir(workspace).iterdir())
    assert [p for p in old if p not in left] == [old[1]]  # the oldest review-like run only
    assert len(left) == len(old)  # the new run's log replaced it


def test_lock_binary_and_configured_files_are_skipped(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    stage(workspace, "poetry.lock", "lock\n")
    (workspace / "img.png").write_bytes(b"\x89PNG\x00\x01\x02")
    subprocess.run(["git", "add", "img.png"], cwd=workspace, check=True)
    stage(workspace, "notes.gen.txt", "generated\n")
    monkeypatch.setenv("V4CODE_REVIEW_SKIP", "*.gen.txt")
    fake_api.load([tool_call("report_findings", findings=[])])
    result = review(workspace, fake_api, monkeypatch)
    assert result.exit_code == 0
    assert "skipped poetry.lock (lock file)" in result.output
    assert "skipped img.png (binary)" in result.output
    assert "skipped notes.gen.txt (matches *.gen.txt)" in result.output
    sent = fake_api.chat_requests[0].body["messages"][1]["content"]
    assert "poetry.lock" not in sent and "app.py" in sent


def test_nothing_staged_means_no_call(workspace: Path, fake_api: FakeDeepSeek, monkeypatch) -> None:
    result = review(workspace, fake_api, monkeypatch)
    assert result.exit_code == 0
    assert "nothing to review (nothing is staged" in result.output
    assert "findings" not in result.output and "0 files" not in result.output
    assert fake_api.chat_requests == []


def test_only_skipped_files_staged_is_nothing_to_review(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "yarn.lock", "# lock\n")
    result = review(workspace, fake_api, monkeypatch)
    assert result.exit_code == 0
    assert "skipped yarn.lock" in result.output
    assert "nothing to review (every changed file is skipped" in result.output
    assert fake_api.chat_requests == []


def test_only_the_hook_talks_about_a_commit(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load([tool_call("report_findings", findings=[finding()])])
    manual = review(workspace, fake_api, monkeypatch)
    assert manual.exit_code == 1
    assert "commit" not in manual.output and "--no-verify" not in manual.output
    hook = review(workspace, fake_api, monkeypatch, "--hook")  # the cached review
    assert hook.exit_code == 1 and "commit blocked" in hook.output
    assert "git commit --no-verify" in hook.output


def test_backend_failure_fails_open_in_hook_mode_only(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load([fault(401), fault(401), fault(401)])
    hook = review(workspace, fake_api, monkeypatch, "--hook")
    assert hook.exit_code == 0 and "warning" in hook.output and "unreviewed" in hook.output
    closed = review(workspace, fake_api, monkeypatch, "--hook", "--fail-closed")
    assert closed.exit_code == 3
    manual = review(workspace, fake_api, monkeypatch)
    assert manual.exit_code == 3 and "could not run" in manual.output


def test_timeout_is_treated_like_a_failure(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    stage(workspace, "app.py", APP)
    fake_api.load([{**tool_call("report_findings", findings=[]), "hang": 5}])
    fake_api.allow_leftover = True
    result = review(workspace, fake_api, monkeypatch, "--hook", "--timeout", "1")
    assert result.exit_code == 0 and "timed out after 1 s" in result.output


def test_a_chunk_out_of_time_sends_no_second_request(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch
) -> None:
    """The review's own time limit ends a chunk: no nudge (a new turn, with a new clock) goes
    out after it, even when the waiting thread notices the deadline late (a loaded machine)."""
    from v4code.review import runner

    real = runner.run_parallel
    monkeypatch.setattr(runner, "run_parallel", lambda jobs, timeout: real(jobs, timeout + 5))
    stage(workspace, "app.py", APP)
    fake_api.load([{**tool_call("report_findings", findings=[]), "hang": 3}])
    fake_api.allow_leftover = True
    result = review(workspace, fake_api, monkeypatch, "--hook", "--timeout", "1")
    assert result.exit_code == 0 and "timed out after 1 s" in result.output, result.output
    assert len(fake_api.requests) == 1 and not fake_api.problems()


def test_large_diff_is_split_per_file_within_budget() -> None:
    diff = "".join(
        f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n@@ -0,0 +1,200 @@\n"
        + "".join(f"+line {j} of file {i}\n" for j in range(200))
        for i in range(6)
    )
    files = split_files(diff)
    assert [len(f.changed_lines) for f in files] == [200] * 6
    groups = chunks(files, budget_tokens=2_000)
    assert len(groups) > 1 and all(sum(f.tokens for f in g) <= 2_000 or len(g) == 1 for g in groups)
    assert sorted(f.path for g in groups for f in g) == [f"f{i}.py" for i in range(6)]


def test_review_never_imports_the_sdk(workspace: Path, fake_api: FakeDeepSeek) -> None:
    """The hook runs on every commit: the openai SDK's import alone costs most of a second."""
    import os
    import sys

    stage(workspace, "app.py", APP)
    fake_api.load([tool_call("report_findings", findings=[])])
    code = (
        "import sys, runpy\n"
        "sys.argv = ['v4code', 'review', '--format', 'json']\n"
        "try:\n    runpy.run_module('v4code', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    sys.stderr.write(f\"exit={exc.code} openai={'openai' in sys.modules} rich={'rich' in sys.modules}\")\n"
    )
    env = {**os.environ, "DEEPSEEK_API_KEY": "sk-test", "DEEPSEEK_BASE_URL": fake_api.base_url}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workspace, env=env, capture_output=True, text=True
    )
    assert done.stderr.endswith("exit=0 openai=False rich=False"), done.stderr
    assert json.loads(done.stdout)["findings"] == []


def test_review_and_hook_take_dash_c_like_every_other_command(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    from cli_harness import v4code

    stage(workspace, "app.py", APP)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake_api.load([tool_call("report_findings", findings=[finding()])])
    done = v4code(elsewhere, "review", "-C", str(workspace), server=fake_api)
    assert done.returncode == 1, done.stderr
    assert "Division by zero" in done.stdout
    assert "+    return a / b" in fake_api.chat_requests[0].body["messages"][1]["content"]
    installed = v4code(elsewhere, "hook", "install", "-C", str(workspace))
    assert installed.returncode == 0, installed.stderr
    assert (workspace / ".git" / "hooks" / "pre-commit").is_file()
    assert v4code(elsewhere, "hook", "uninstall", "--cwd", str(workspace)).returncode == 0
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
