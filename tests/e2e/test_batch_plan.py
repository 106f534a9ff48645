"""`v4code batch plan --discover` (a read-only agent proposes the units) and one run over
several repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_harness import v4code
from conftest import git
from fake_api import FakeDeepSeek, text, tool_call


def batch(root: Path, server: FakeDeepSeek, *args: str) -> subprocess.CompletedProcess[str]:
    return v4code(root, "batch", *args, server=server, sandbox=True, timeout=180)


def test_discover_proposes_units_with_reasons(
    workspace: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    root = workspace
    (root / "old.py").write_text("def fetch(url):\n    return old_http.get(url)\n")
    (root / "new.py").write_text("def fetch(url):\n    return http.get(url)\n")
    (root / "more.py").write_text("import old_http\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "code")
    answer = "\n".join(
        [
            "Here are the units:",
            '{"paths": ["old.py"], "reason": "calls old_http.get"}',
            '```{"paths": ["more.py"], "reason": "imports old_http"}```',
            '{"paths": ["../etc/passwd"], "reason": "outside"}',
            '{"paths": ["missing.py"], "reason": "not in the repository"}',
            "not json {",
        ]
    )
    fake_api.load(
        [
            tool_call("grep", pattern="old_http"),
            text(answer),
        ]
    )
    manifest = tmp_path / "jobs.jsonl"
    planned = batch(
        root, fake_api, "plan", "Replace old_http with http in {path}.", "--discover",
        "-o", str(manifest),
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    units = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [(u["paths"], u["reason"]) for u in units] == [
        (["old.py"], "calls old_http.get"),
        (["more.py"], "imports old_http"),
    ]
    assert units[0]["task"] == "Replace old_http with http in old.py."
    # The pass was read-only: no edit tool could run, and it said so to the model.
    first = fake_api.chat_requests[0]
    assert "Do not change anything" in first.messages[1]["content"]
    seeds = first.messages[1]["content"].split("Files ranked most relevant")[1]
    assert "- old.py (" in seeds and "- more.py (" in seeds  # locate seeded the search
    grep_result = fake_api.chat_requests[1].messages[-1]["content"]
    assert "old.py" in grep_result and "more.py" in grep_result
    assert git(root, "status", "--porcelain") == ""


def test_one_run_over_two_repositories(
    tmp_path: Path, fake_api: FakeDeepSeek, workspace: Path
) -> None:
    repos = []
    for name in ("svc-a", "svc-b"):
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "config.py").write_text("TIMEOUT = 10\n")
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=Dev", "-c", "user.email=d@e", "commit", "-qm", "init")
        repos.append(repo)
    manifest = tmp_path / "jobs.jsonl"
    planned = batch(
        workspace, fake_api, "plan", "Raise TIMEOUT to 30 in {path}.", "--each", "config.py",
        "--repo", str(repos[0]), "--repo", str(repos[1]), "-o", str(manifest),
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    units = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [u["id"] for u in units] == ["svc-a-config.py", "svc-b-config.py"]
    assert [Path(u["repo"]) for u in units] == [r.resolve() for r in repos]
    fake_api.load(
        [
            tool_call("edit_file", path="config.py", old_string="10", new_string="30"),
            text("Done."),
        ]
        * 2
    )
    run_dir = tmp_path / "run"
    ran = batch(workspace, fake_api, "run", str(manifest), "--out", str(run_dir))
    assert ran.returncode == 0, ran.stderr
    report = json.loads(
        batch(workspace, fake_api, "report", str(run_dir), "--format", "json").stdout
    )
    assert report["counts"]["green"] == 2
    assert {Path(row["repo"]).name for row in report["rows"]} == {"svc-a", "svc-b"}
    for repo in repos:
        branches = git(
            repo, "branch", "--list", "--format=%(refname:short)", "v4code/batch/*"
        ).split()
        assert len(branches) == 1
        assert git(repo, "show", f"{branches[0]}:config.py") == "TIMEOUT = 30\n"
        # The units' commits are by the user's git identity, or v4code's when there is none.
        configured = subprocess.run(
            ["git", "config", "user.name"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        author = git(repo, "log", "-1", "--format=%an", branches[0]).strip()
        assert author == (configured or "v4code")
    applied = batch(workspace, fake_api, "apply", str(run_dir), "--into", "timeouts")
    assert applied.returncode == 0, applied.stderr
    for repo in repos:
        assert git(repo, "show", "timeouts:config.py") == "TIMEOUT = 30\n"
        assert (repo / "config.py").read_text() == "TIMEOUT = 10\n"
