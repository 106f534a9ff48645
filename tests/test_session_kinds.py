"""Review and hook runs are sessions of their own kind: listed with --all, never continued."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_api import FakeDeepSeek, text, tool_call

from v4code.cli import main
from v4code.errors import V4codeError
from v4code.sessions import find_session, list_sessions, read_session, session_kind

FINDING = {
    "path": "app.py", "line": 1, "severity": "nit", "category": "style",
    "message": "Name it.", "suggestion": "",
}  # fmt: skip


def _env(monkeypatch: pytest.MonkeyPatch, root: Path, server: FakeDeepSeek) -> None:
    monkeypatch.chdir(root)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    monkeypatch.setenv("DEEPSEEK_BASE_URL", server.base_url)
    monkeypatch.setenv("V4CODE_RETRY_BASE_DELAY", "0.01")


def test_a_review_after_a_chat_is_not_what_continue_resumes(
    workspace: Path, fake_api: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, workspace, fake_api)
    fake_api.load([text("the chat's answer")])
    ran = CliRunner().invoke(main, ["run", "explain the project"])
    assert ran.exit_code == 0, ran.output
    conversation = list_sessions(workspace)[0]

    (workspace / "app.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "app.py"], cwd=workspace, check=True)
    fake_api.load([tool_call("report_findings", findings=[FINDING])])
    assert CliRunner().invoke(main, ["review", "--hook"]).exit_code == 0
    fake_api.load([tool_call("report_findings", findings=[FINDING])])
    assert CliRunner().invoke(main, ["review", "--no-cache"]).exit_code == 0

    # --continue and the picker see the conversation only.
    assert list_sessions(workspace) == [conversation]
    assert find_session(workspace, None) == conversation
    every = list_sessions(workspace, every=True)
    assert sorted(session_kind(p) for p in every) == ["hook", "review", "run"]
    assert read_session(every[0]).meta["kind"] == "review"

    listed = CliRunner().invoke(main, ["sessions"])
    assert listed.exit_code == 0
    assert conversation.stem in listed.output and len(listed.output.splitlines()) == 1
    listed_all = CliRunner().invoke(main, ["sessions", "--all"])
    rows = listed_all.output.splitlines()
    assert len(rows) == 3
    assert {row.split()[3] for row in rows} == {"run", "review", "hook"}

    review_id = next(p.stem for p in every if session_kind(p) == "review")
    with pytest.raises(V4codeError, match="is a review run"):
        find_session(workspace, review_id)


def test_finding_a_session_reads_only_the_files_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids are file names: a lookup by id opens that file alone, and the latest conversation
    is found newest first, however many sessions the workspace has."""
    import json
    import os

    from v4code import sessions

    folder = sessions.sessions_dir(tmp_path)
    folder.mkdir(parents=True)
    for i in range(40):
        kind = "review" if i in (13, 39) else "run"
        meta = {"type": "meta", "session_id": f"s-{i:02d}", "kind": kind}
        path = folder / f"s-{i:02d}.jsonl"
        path.write_text(json.dumps(meta) + "\n")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    opened = _opened_sessions(monkeypatch)
    assert find_session(tmp_path, "s-07").stem == "s-07" and opened == ["s-07"]
    opened.clear()
    assert find_session(tmp_path, None).stem == "s-38" and opened == ["s-39", "s-38"]
    opened.clear()
    with pytest.raises(V4codeError, match="is a review run"):
        find_session(tmp_path, "s-13")
    assert opened == ["s-13"]
    with pytest.raises(V4codeError, match="ambiguous: s-38, s-37, s-36"):
        find_session(tmp_path, "s-3")


def test_listing_a_few_sessions_reads_only_the_newest_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`v4code sessions -n N`, the picker and completion show the same newest N
    conversations as before, however many sessions there are, and open no older file."""
    import json
    import os

    from v4code import sessions

    folder = sessions.sessions_dir(tmp_path)
    folder.mkdir(parents=True)
    for i in range(300):
        kind = "review" if i % 7 == 0 else "chat"
        records = [
            {"type": "meta", "session_id": f"s-{i:03d}", "kind": kind},
            {"type": "message", "message": {"role": "user", "content": f"question {i}"}},
        ]
        path = folder / f"s-{i:03d}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    everything = list_sessions(tmp_path)
    assert len(everything) == 300 - 43
    opened = _opened_sessions(monkeypatch)
    newest = list_sessions(tmp_path, limit=5)
    assert newest == everything[:5]
    assert [p.stem for p in newest] == ["s-299", "s-298", "s-297", "s-296", "s-295"]
    assert opened == ["s-299", "s-298", "s-297", "s-296", "s-295"]
    opened.clear()
    assert list_sessions(tmp_path, limit=9) == everything[:9]
    assert opened == [f"s-{i}" for i in range(299, 289, -1)]  # s-294 (a review) is skipped
    assert list_sessions(tmp_path, every=True, limit=3)[-1].stem == "s-297"
    assert list_sessions(tmp_path, limit=1000) == everything

    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(main, ["sessions", "-n", "9"])
    assert listed.exit_code == 0, listed.output
    rows = listed.output.splitlines()
    assert [row.split()[0] for row in rows] == [p.stem for p in everything[:9]]
    assert rows[0].endswith("question 299") and "s-294" not in listed.output


def _opened_sessions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The session files opened from now on (their stems), in order."""
    from v4code import sessions

    opened: list[str] = []
    real = sessions.session_kind

    def recording(path: Path) -> str:
        opened.append(path.stem)
        return real(path)

    monkeypatch.setattr(sessions, "session_kind", recording)
    return opened
