"""The GitHub Action (action.yml) as a runner runs it: each step's `env:` from the inputs the
workflow passes, the event GitHub recorded, the scripts run with bash against the DeepSeek test
server and the GitHub test server; what GitHub received, what the job's log says and the
action's verdict are asserted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML, which pre-commit (a test extra) needs
from action_harness import ROOT, TEMPLATE, ActionRun, Runner, load_action
from cli_harness import DEFAULT_KEY
from fake_api import FakeDeepSeek, text, tool_call
from fake_github import FakeGitHub, PullFile

PATCH = "@@ -1,2 +1,3 @@\n import os\n-x = 1\n+def div(a, b):\n+    return a / b"
FORK = "mallory/app"


def pull_request_event(head_repo: str = "acme/app", number: int = 7) -> dict[str, Any]:
    """The parts of a `pull_request` event's payload the action reads, as GitHub sends them."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": "1" * 40, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "sha": "0" * 40, "repo": {"full_name": "acme/app"}},
        },
        "repository": {"full_name": "acme/app"},
    }


def finding(line: int, severity: str, message: str) -> dict[str, Any]:
    return {"path": "app.py", "line": line, "severity": severity, "category": "bug",
            "message": message, "suggestion": ""}  # fmt: skip


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub().start()
    server.files[7] = [PullFile("app.py", PATCH)]
    try:
        yield server
    finally:
        server.stop()


def runner(tmp_path: Path, workspace: Path, github: FakeGitHub, event: dict[str, Any]) -> Runner:
    variables = {"GITHUB_TOKEN": github.token, "GITHUB_API_URL": github.url,
                 "GITHUB_REPOSITORY": github.repo}  # fmt: skip
    return Runner(tmp_path / "job", workspace, event, variables)


def review(
    tmp_path: Path,
    workspace: Path,
    github: FakeGitHub,
    api: FakeDeepSeek | None,
    *,
    head_repo: str = "acme/app",
    **inputs: str,
) -> ActionRun:
    given = {"api-key": DEFAULT_KEY, "base-url": api.base_url if api else "http://127.0.0.1:9"}
    given |= {k.replace("_", "-"): v for k, v in inputs.items()}
    return runner(tmp_path, workspace, github, pull_request_event(head_repo)).run(given)


def writes(github: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in github.requests if r.method != "GET"]


# ---------------------------------------------------------------- the action file itself


def test_scripts_take_inputs_only_through_env() -> None:
    """No `${{ }}` inside a `run:` script (the runner would splice the text in before bash
    parses it), and every input a step names is declared, every declared input used."""
    action = load_action()
    steps = action["runs"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]
    used = set()
    for step in steps:
        texts = [str(v) for v in (step.get("env") or {}).values()]
        texts += [str(step.get("if", ""))] + [str(v) for v in (step.get("with") or {}).values()]
        for t in texts:
            used |= set(re.findall(r"inputs\.([\w-]+)", t))
    assert used == set(action["inputs"])
    assert action["runs"]["using"] == "composite"
    for output in action["outputs"].values():
        assert TEMPLATE.search(output["value"])


# ---------------------------------------------------------------- review mode


def test_review_posts_one_review_and_fails_on_the_severity_asked(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    fake_api.load([tool_call("report_findings", findings=[finding(3, "major", "Divides by 0.")])])
    done = review(tmp_path, workspace, github, fake_api, fail_on="major", sarif="true")
    assert done.failed == 1, done.log  # the verdict step fails the job: a major finding
    posts = github.sent("POST", "/pulls/7/reviews")
    assert len(posts) == 1 and [c["line"] for c in posts[0].body["comments"]] == [3]
    assert "Divides by 0." in posts[0].body["comments"][0]["body"]
    (upload,) = done.uses
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    sarif = json.loads(Path(upload["with"]["sarif_file"]).read_text())
    assert [r["message"]["text"] for r in sarif["runs"][0]["results"]] == ["Divides by 0."]
    assert done.outputs["review"]["exit-code"] == "1"
    # the model's request went to the base-url input with the api-key input
    assert fake_api.chat_requests and fake_api.chat_requests[0].headers["authorization"] == (
        f"Bearer {DEFAULT_KEY}"
    )


def test_a_finding_below_fail_on_passes_and_nothing_is_uploaded_unasked(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    fake_api.load([tool_call("report_findings", findings=[finding(3, "major", "Divides by 0.")])])
    done = review(tmp_path, workspace, github, fake_api)  # fail-on: blocker (the default)
    assert done.failed == 0, done.log
    assert len(github.sent("POST", "/pulls/7/reviews")) == 1
    assert not done.uses
    assert "Divides by 0." in done.log  # the text review is in the job's log


def test_post_comments_false_reads_and_writes_nothing(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    fake_api.load([tool_call("report_findings", findings=[finding(3, "nit", "Name.")])])
    done = review(tmp_path, workspace, github, fake_api, post_comments="false")
    assert done.failed == 0, done.log
    assert github.requests and not writes(github)


def test_a_fork_with_a_key_gets_sarif_and_nothing_posted(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    """A fork's token is read-only: the action does not try to post, and does not upload
    (that is a write too); the SARIF file is there for the workflow to keep."""
    fake_api.load([tool_call("report_findings", findings=[finding(3, "major", "Divides by 0.")])])
    done = review(tmp_path, workspace, github, fake_api, head_repo=FORK, sarif="true")
    assert done.failed == 0, done.log
    assert not writes(github) and not done.uses
    assert "::notice title=v4code::a pull request from a fork" in done.log
    assert "app.py:3 major: Divides by 0." in done.log  # the findings are in the job's log
    sarif_file = Path(done.outputs["review"]["sarif-file"])
    assert json.loads(sarif_file.read_text())["runs"][0]["results"]


@pytest.mark.parametrize("head_repo", [FORK, "acme/app"])
def test_no_key_says_so_and_reviews_nothing(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub, head_repo: str
) -> None:
    """No secrets on a fork's `pull_request`: the key input is empty. Nothing is asked of
    either server, the job passes, the log says why."""
    done = review(tmp_path, workspace, github, fake_api, head_repo=head_repo, api_key="")
    assert done.failed == 0, done.log
    assert not github.requests and not fake_api.chat_requests
    assert done.outputs["review"]["skipped"] == "true"
    said = "gets no secrets" if head_repo == FORK else "api-key is empty"
    assert said in done.log


def test_the_model_unreachable_posts_nothing_and_passes(
    tmp_path: Path, workspace: Path, github: FakeGitHub
) -> None:
    done = review(tmp_path, workspace, github, None, sarif="true")
    assert done.failed == 0, done.log
    assert not writes(github) and not done.uses  # no empty SARIF file is uploaded
    assert "could not run" in done.log


def test_a_push_event_is_refused_in_one_line(
    tmp_path: Path, workspace: Path, github: FakeGitHub
) -> None:
    event = {"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}}
    done = runner(tmp_path, workspace, github, event).run({"api-key": DEFAULT_KEY})
    assert done.failed == 2
    assert "::error title=v4code::mode review runs on pull_request events" in done.log
    assert not github.requests


def test_what_v4code_prints_cannot_act_as_a_workflow_command(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    """A finding's text (the model's, steered by the pull request) is printed in the log
    only between ::stop-commands:: and its resume token."""
    fake_api.load([tool_call("report_findings", findings=[finding(3, "nit", "x\n::add-mask::y")])])
    done = review(tmp_path, workspace, github, fake_api)
    log = done.log
    stop = re.search(r"^::stop-commands::(v4code-[0-9a-f]{32})$", log, re.M)
    assert stop is not None, log
    inside = log[stop.end() : log.index(f"\n::{stop.group(1)}::\n")]
    assert "add-mask" in inside and "add-mask" not in log.replace(inside, "")


# ---------------------------------------------------------------- inputs stay data

HOSTILE = "$(touch {m}/dollar) `touch {m}/tick` \"; touch {m}/quote; \" '; touch {m}/single; '"


@pytest.mark.parametrize("mode", ["review", "run", "hostile"])
def test_hostile_input_text_is_never_executed(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub, mode: str
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    hostile = HOSTILE.format(m=marks)
    fake_api.allow_leftover = True
    fake_api.load([text("Done.")] if mode == "run" else [tool_call("report_findings", findings=[])])
    inputs = {"mode": hostile if mode == "hostile" else mode, "task": hostile, "model": hostile,
              "fail_on": hostile, "max_cost": hostile, "post_comments": hostile,
              "sarif": hostile}  # fmt: skip
    done = review(tmp_path, workspace, github, fake_api, **inputs)
    assert not list(marks.iterdir()), done.log
    assert done.failed == 2, done.log  # refused as a value: the mode, the model, the severity
    assert not writes(github)
    if mode == "hostile":
        assert "mode must be review, run or setup" in done.log
        assert done.runs[0].env["V4ACTION_MODE"] == hostile
    else:
        (step,) = [r for r in done.runs if r.id == mode]
        assert step.env["V4ACTION_MODEL"] == hostile  # it reached v4code as one word, as written
        assert done.outputs[mode]["exit-code"] == "2"


def test_run_mode_gives_the_task_word_for_word(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    task = 'Say "$(whoami)" and `id`; then stop'
    fake_api.load([text("Done.")])
    done = review(tmp_path, workspace, github, fake_api, mode="run", task=task, max_cost="0.5")
    assert done.failed == 0, done.log
    assert done.outputs["run"]["exit-code"] == "0"
    first = fake_api.chat_requests[0].messages
    assert any(task in str(m.get("content")) for m in first if m["role"] == "user")
    assert not github.requests


# ---------------------------------------------------------------- the README's workflows


def readme_workflows() -> list[dict[str, Any]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)]
    return [w for w in found if isinstance(w, dict) and "jobs" in w]


def triggers(workflow: dict[str, Any]) -> list[str]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    return [on] if isinstance(on, str) else sorted(on)


def action_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    return [s for s in steps if re.fullmatch(r"OWNER/v4code@\w+", str(s.get("uses", "")))]


def test_the_readme_workflows_use_only_what_the_action_declares() -> None:
    """One workflow reviews pull requests, one runs `batch` on a schedule; each names only
    inputs action.yml declares, and no script of theirs splices an expression in."""
    declared = set(load_action()["inputs"])
    workflows = readme_workflows()
    assert sorted(triggers(w) for w in workflows) == [
        ["pull_request"], ["schedule", "workflow_dispatch"],
    ]  # fmt: skip
    for workflow in workflows:
        (step,) = action_steps(workflow)
        assert set(step.get("with") or {}) <= declared
        assert step["with"].get("mode", "review") in ("review", "run", "setup")
        for job in workflow["jobs"].values():
            for s in job["steps"]:
                assert "${{" not in s.get("run", ""), s["run"]


def test_the_readme_review_workflow_reviews_the_pull_request(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    (workflow,) = [w for w in readme_workflows() if triggers(w) == ["pull_request"]]
    (step,) = action_steps(workflow)
    assert {"pull-requests": "write"}.items() <= workflow["permissions"].items()
    fake_api.load([tool_call("report_findings", findings=[finding(3, "major", "Divides by 0.")])])
    job = runner(tmp_path, workspace, github, pull_request_event())
    job.secrets = {"DEEPSEEK_API_KEY": DEFAULT_KEY}
    # the one substitution: the endpoint (the README's step talks to DeepSeek)
    done = job.run_workflow_step({"with": {**step["with"], "base-url": fake_api.base_url}})
    assert done.failed == 1, done.log  # fail-on: major, as the README says
    assert len(github.sent("POST", "/pulls/7/reviews")) == 1
    assert [u["uses"].split("@")[0] for u in done.uses] == ["github/codeql-action/upload-sarif"]


def test_setup_mode_only_puts_v4code_on_path(
    tmp_path: Path, workspace: Path, fake_api: FakeDeepSeek, github: FakeGitHub
) -> None:
    job = runner(tmp_path, workspace, github, {"repository": {"full_name": "acme/app"}})
    done = job.run({"mode": "setup"})
    assert done.failed == 0 and [r.id for r in done.runs] == ["install"], done.log
    program = Path(done.outputs["install"]["program"])
    assert program == job.temp / "v4code-venv" / "bin" / "v4code"
    path_file = job.tmp / "step-0.path"  # what the step appended to $GITHUB_PATH
    assert path_file.read_text().split() == [str(program.parent)]
    assert not github.requests and not fake_api.chat_requests


def test_v4code_is_installed_from_the_actions_own_checkout(
    tmp_path: Path, workspace: Path, github: FakeGitHub
) -> None:
    """In a venv of its own, from `github.action_path` (the ref the workflow pinned), never
    from the repository the job checked out. python3 here stands in for the runner's, and
    the venv's pip records what it was asked."""
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    log = tmp_path / "pip.log"
    (fake / "python3").write_text(
        '#!/bin/sh\n[ "$1 $2" = "-m venv" ] || exit 9\nmkdir -p "$3/bin"\n'
        f'printf \'#!/bin/sh\\necho "$@" >> {log}\\n\' > "$3/bin/pip"\nchmod +x "$3/bin/pip"\n'
    )
    (fake / "python3").chmod(0o755)
    event = {"repository": {"full_name": "acme/app"}}
    job = Runner(tmp_path / "job", workspace, event, {}, preinstalled=False, path=(str(fake),))
    done = job.run({"mode": "setup"})
    assert done.failed == 0, done.log
    assert log.read_text().split() == [
        "install", "--quiet", "--disable-pip-version-check", str(ROOT),
    ]  # fmt: skip
