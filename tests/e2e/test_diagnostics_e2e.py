"""An edit's new errors, from a real language server, in the result the model gets next.

Each test runs the real CLI against the test server: the model edits a Python file, and the
next request to the server carries the tool result, with the errors the edit introduced
(basedpyright, started and stopped by the session, in the read-only sandbox where bubblewrap
runs). A server that never answers costs an edit at most the configured wait, and one that
keeps crashing is restarted once, then left off with one notice.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import cli_harness
import pytest
from fake_api import FakeDeepSeek, text, tool_call, tool_calls

from v4code.safety.sandbox import sandbox_problem

CLEAN = "def total(xs):\n    return sum(xs)\n"
BROKEN = "def total(xs):\n    return sum(totl)\n"

needs_server = pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None,
    reason="basedpyright is not installed (pip install -e '.[lsp]')",
)


def _write(content: str) -> dict[str, Any]:
    """The model writes calc.py (`content` is the call's argument, not the reply's text)."""
    return tool_calls([("write_file", {"path": "calc.py", "content": content})])


def _config(home: Path, **settings: Any) -> None:
    lines = [f"{name} = {json.dumps(value)}" for name, value in settings.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n")


def _run(workspace: Path, server: FakeDeepSeek, *, sandbox: bool = False) -> list[dict[str, Any]]:
    return cli_harness.run_diagnosed(
        workspace, server, "--permission-mode", "full-auto", "fix it", sandbox=sandbox
    )


def _notices(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "notice"]


def _sandbox_runs(workspace: Path) -> bool:
    return shutil.which("bwrap") is not None and sandbox_problem(workspace) is None


@needs_server
def test_an_edit_that_breaks_a_name_reports_the_new_error(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    _config(v4code_home, diagnostics_timeout=60)  # a cold server on a busy machine
    fake_api.load(
        [
            _write(BROKEN),
            tool_call("diagnostics", path="calc.py"),
            text("done"),
        ]
    )

    events = _run(workspace, fake_api, sandbox=_sandbox_runs(workspace))

    edited, asked = cli_harness.tool_results(fake_api)
    assert 'calc.py:2: "totl" is not defined' in edited
    assert "New errors after this edit" in edited
    assert 'calc.py:2: "totl" is not defined' in asked
    found = [e for e in events if e["type"] == "diagnostics"]
    assert [e["errors"] for e in found] == [['calc.py:2: "totl" is not defined']]
    assert (workspace / "calc.py").read_text() == BROKEN  # the edit itself happened


@needs_server
def test_a_clean_edit_adds_nothing(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(BROKEN.replace("totl", "undefined_before"))
    _config(v4code_home, diagnostics_timeout=60)
    fixed = CLEAN + "\n\ndef twice(xs):\n    return 2 * total(xs)\n"
    fake_api.load([_write(fixed), text("done")])

    events = _run(workspace, fake_api)

    (edited,) = cli_harness.tool_results(fake_api)
    assert "error" not in edited.lower() and "Diagnostics" not in edited
    assert [e["errors"] for e in events if e["type"] == "diagnostics"] == [[]]


@needs_server
def test_redefining_an_upper_case_name_is_no_error_under_the_standard_rules(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text("LIMIT = 1\n")
    _config(v4code_home, diagnostics_timeout=60)
    fake_api.load([_write("LIMIT = 1\nLIMIT = 2\nprint(totl)\n"), text("done")])

    events = _run(workspace, fake_api)

    # basedpyright's own default rules call the redefinition an error; the standard ones
    # (what the client asks for) do not, and the server did check the edit
    found = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert found == [['calc.py:3: "totl" is not defined']]


HIDDEN = "def total(xs):\n    return sum(undefined_before)\n"
HIDING = "def total(xs):\n    return missing_name\n    return sum(undefined_before)\n"


@needs_server
def test_an_old_error_an_edit_hid_is_not_reported_when_it_comes_back(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(HIDDEN)  # an error from before the session
    _config(v4code_home, diagnostics_timeout=60)
    fake_api.load([_write(HIDING), _write(HIDDEN), text("done")])

    events = _run(workspace, fake_api)

    # the early return leaves the old error's line unchecked; taking it out again brings
    # the old error back, which is no news of this session's edits
    found = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert found == [['calc.py:2: "missing_name" is not defined'], []]
    hid, back = cli_harness.tool_results(fake_api)
    assert "missing_name" in hid and "New errors" not in back


@needs_server
def test_an_error_another_files_edit_caused_is_not_put_on_the_next_edit(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "lib.py").write_text("def helper():\n    return 1\n")
    (workspace / "app.py").write_text("from lib import helper\n\nprint(helper())\n")
    _config(v4code_home, diagnostics_timeout=60)
    fake_api.load(
        [
            tool_calls(
                [
                    (
                        "edit_file",
                        {"path": "app.py", "old_string": "print", "new_string": "x = 1\nprint"},
                    )
                ]
            ),
            tool_calls(
                [("write_file", {"path": "lib.py", "content": "def helper2():\n    return 1\n"})]
            ),
            tool_calls(
                [("edit_file", {"path": "app.py", "old_string": "x = 1", "new_string": "x = 2"})]
            ),
            text("done"),
        ]
    )

    events = _run(workspace, fake_api)

    # renaming lib.helper broke app.py's import: news of neither edit of app.py (app.py's
    # errors after the rename are asked for afresh, not taken from before it)
    found = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert found == [[], [], []]


def test_diagnostics_off_starts_no_server(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    starts = _use_fake_server(tmp_path, v4code_home, "crash", diagnostics=False)
    fake_api.load([_write(BROKEN), text("done")])

    events = _run(workspace, fake_api)

    assert not starts.exists()
    assert not [e for e in events if e["type"] == "diagnostics"]


FAKE_SERVER = r"""
import json, sys, time

MODE, STARTS = sys.argv[1], sys.argv[2]
with open(STARTS, "a") as f:
    f.write("started\n")


def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            sys.exit(0)
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


TEXTS = {}  # uri -> the text last synced
ASKED = []  # textDocument/diagnostic requests so far


def flagged(text):  # what a checker finds in a text: "totl" is not defined
    where = {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}}
    return [{"range": where, "message": '"totl" is not defined', "severity": 1}] if "totl" in text else []


while True:
    message = read()
    if MODE == "hang":
        continue  # never answers anything
    method = message.get("method", "")
    with open(STARTS, "a") as f:
        f.write(method + "\n")
    if method.startswith("textDocument/did"):
        doc = message["params"]["textDocument"]
        changes = message["params"].get("contentChanges") or [doc]
        old_text, TEXTS[doc["uri"]] = TEXTS.get(doc["uri"], ""), changes[-1]["text"]
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": message["id"], "result": {"capabilities": {}}})
    elif method == "initialized" and MODE.startswith("pull"):  # pyright's way: registered
        pull = {"id": "pull", "method": "textDocument/diagnostic", "registerOptions": {}}
        send({"jsonrpc": "2.0", "id": 900, "method": "client/registerCapability",
              "params": {"registrations": [pull]}})
    elif method == "textDocument/diagnostic" and MODE == "pull":
        ASKED.append(message["id"])
        if len(ASKED) == 1:  # the first is dropped, as a server does when a change comes
            send({"jsonrpc": "2.0", "id": message["id"],
                  "error": {"code": -32802, "message": "cancelled", "data": {"retriggerRequest": True}}})
        else:
            found = flagged(TEXTS[message["params"]["textDocument"]["uri"]])
            send({"jsonrpc": "2.0", "id": message["id"], "result": {"kind": "full", "items": found}})
    elif method.startswith("textDocument/did") and MODE == "pull":  # pushes only noise
        junk = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                "message": "pushed noise", "severity": 1}
        params = {"uri": doc["uri"], "version": doc["version"], "diagnostics": [junk]}
        send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": params})
    elif method.startswith("textDocument/did") and MODE == "stale":  # pyright's push order
        for text in (old_text, TEXTS[doc["uri"]]):  # the old text's errors first, then the checked
            params = {"uri": doc["uri"], "version": doc["version"], "diagnostics": flagged(text)}
            send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": params})
            time.sleep(0.06)
    elif method == "shutdown":
        send({"jsonrpc": "2.0", "id": message["id"], "result": None})
    elif method == "exit":
        sys.exit(0)
    elif method.startswith("textDocument/did") and MODE == "crash":
        sys.exit(3)  # crashes on the first file it is shown
    elif method.startswith("textDocument/did") and MODE == "garbage":
        sys.stdout.buffer.write(b"Traceback (most recent call last): oops\r\n\r\n")
        sys.stdout.buffer.flush()
    elif method.startswith("textDocument/did") and MODE == "flood":
        uri = message["params"]["textDocument"]["uri"]
        junk = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                "message": "noise", "severity": 1}
        for n in range(2000):  # about another file, then old versions of this one
            other = {"uri": uri + ".other", "diagnostics": [junk] * 50}
            send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": other})
            send({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 4, "message": "x" * 1000}})
        send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
              "params": {"uri": uri, "version": 0, "diagnostics": [junk]}})
    elif method.startswith("textDocument/did") and MODE == "checker":  # flags "totl"
        doc = message["params"]["textDocument"]
        changes = message["params"].get("contentChanges") or [doc]
        where = {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 1}}
        bad = [{"range": where, "message": '"totl" is not defined', "severity": 1}]
        found = bad if "totl" in changes[-1]["text"] else []
        params = {"uri": doc["uri"], "version": doc["version"], "diagnostics": found}
        send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": params})
    elif method.startswith("textDocument/did"):  # "record": no errors, ever
        doc = message["params"]["textDocument"]
        params = {"uri": doc["uri"], "version": doc["version"], "diagnostics": []}
        send({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": params})
"""


def _fake_server(folder: Path, mode: str, starts: Path) -> Path:
    """A server script outside the workspace; each start adds a line to `starts`."""
    script = folder / f"{mode}_server.py"
    script.write_text(f"import sys\nsys.argv[1:] = [{mode!r}, {str(starts)!r}]\n" + FAKE_SERVER)
    return script


def _use_fake_server(folder: Path, home: Path, mode: str, **settings: Any) -> Path:
    """The fake server in `mode` as the user's Python server (with `settings`); the file
    its starts are counted in."""
    starts = folder / "starts"
    script = _fake_server(folder, mode, starts)
    _config(home, **settings, lsp_python=[sys.executable, str(script)])
    return starts


def test_a_server_that_never_answers_costs_each_edit_at_most_the_wait(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    starts = _use_fake_server(tmp_path, v4code_home, "hang", diagnostics_timeout=1)
    fake_api.load(
        [
            _write(CLEAN),
            _write(BROKEN),
            text("done"),
        ]
    )

    events = _run(workspace, fake_api)

    first, second = cli_harness.tool_results(fake_api)
    for result in (first, second):
        assert "Diagnostics: basedpyright did not answer within 1 s." in result
    assert (workspace / "calc.py").read_text() == BROKEN
    assert events[-1]["status"] == "done"
    assert starts.read_text().count("started") == 1  # waited for, not restarted


def test_a_server_that_keeps_timing_out_is_turned_off_with_one_notice(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    starts = _use_fake_server(tmp_path, v4code_home, "hang", diagnostics_timeout=1)
    edits = [CLEAN, BROKEN, CLEAN, BROKEN, CLEAN]
    fake_api.load([*(_write(c) for c in edits), text("done")])

    events = _run(workspace, fake_api)

    results = cli_harness.tool_results(fake_api)
    for result in results[:3]:  # three edits in a row without an answer
        assert "did not answer within 1 s" in result, results
    for result in results[3:]:  # then no more waiting on it
        assert "Diagnostics" not in result, results
    notices = _notices(events)
    off = [n for n in notices if "did not answer" in n]
    assert len(off) == 1, notices
    assert "off for this session" in off[0]
    assert starts.read_text().count("started") == 1
    assert (workspace / "calc.py").read_text() == CLEAN


def test_a_crashing_server_is_restarted_once_then_off_with_one_notice(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    starts = _use_fake_server(tmp_path, v4code_home, "crash", diagnostics_timeout=30)
    edits = [CLEAN, BROKEN, CLEAN, BROKEN]
    fake_api.load([*(_write(c) for c in edits), text("done")])

    events = _run(workspace, fake_api)

    results = cli_harness.tool_results(fake_api)
    assert "server stopped" in results[0] and "server stopped" in results[1]
    assert "Diagnostics" not in results[2] and "Diagnostics" not in results[3]
    assert starts.read_text().count("started") == 2
    notices = _notices(events)
    off = [n for n in notices if "stopped twice" in n]
    assert len(off) == 1, notices
    assert (workspace / "calc.py").read_text() == BROKEN


def test_a_server_that_prints_garbage_is_dropped_and_the_edit_kept(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    starts = _use_fake_server(tmp_path, v4code_home, "garbage", diagnostics_timeout=30)
    fake_api.load([_write(CLEAN), _write(BROKEN), _write(CLEAN), text("done")])

    events = _run(workspace, fake_api)

    results = cli_harness.tool_results(fake_api)
    assert all(r.startswith("Created calc.py") or "calc.py" in r for r in results)
    assert "server stopped" in results[0], results
    assert "noise" not in "".join(results)
    assert starts.read_text().count("started") == 2
    assert len([e for e in events if "stopped twice" in e.get("text", "")]) == 1
    assert (workspace / "calc.py").read_text() == CLEAN


def test_a_flooding_server_does_not_stall_the_turn(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    _use_fake_server(tmp_path, v4code_home, "flood", diagnostics_timeout=2)
    fake_api.load([_write(CLEAN), _write(BROKEN), text("done")])

    events = _run(workspace, fake_api)

    first, second = cli_harness.tool_results(fake_api)
    for result in (first, second):  # only stale versions of the file came: not counted
        assert "noise" not in result
        assert "did not answer within 2 s" in result
    assert events[-1]["status"] == "done"
    assert (workspace / "calc.py").read_text() == BROKEN


def test_a_server_that_pushes_a_files_old_errors_first_has_its_checked_ones_taken(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    _use_fake_server(tmp_path, v4code_home, "stale", diagnostics_timeout=30)
    fake_api.load([_write(BROKEN), _write(CLEAN), text("done")])

    events = _run(workspace, fake_api)

    found = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert found == [['calc.py:2: "totl" is not defined'], []]


def test_a_server_that_answers_pulls_is_asked_and_its_pushes_ignored(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    starts = _use_fake_server(tmp_path, v4code_home, "pull", diagnostics_timeout=30)
    fake_api.load([_write(BROKEN), tool_call("diagnostics", path="calc.py"), text("done")])

    events = _run(workspace, fake_api)

    edited, asked = cli_harness.tool_results(fake_api)
    assert 'calc.py:2: "totl" is not defined' in edited
    assert 'calc.py:2: "totl" is not defined' in asked
    assert "noise" not in edited + asked
    found = [e["errors"] for e in events if e["type"] == "diagnostics"]
    assert found == [['calc.py:2: "totl" is not defined']]
    seen = starts.read_text().splitlines()
    assert seen.count("textDocument/diagnostic") >= 3  # the dropped one asked again


def test_a_pull_the_server_leaves_unanswered_is_cancelled_at_the_wait(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    starts = _use_fake_server(tmp_path, v4code_home, "pull-hang", diagnostics_timeout=2)
    fake_api.load([tool_call("read_file", path="calc.py"), _write(BROKEN), text("done")])

    events = _run(workspace, fake_api)

    _, edited = cli_harness.tool_results(
        fake_api
    )  # the read started the server: it is ready by the edit
    assert "Diagnostics: basedpyright did not answer within 2 s." in edited
    seen = starts.read_text().splitlines()
    assert "textDocument/diagnostic" in seen and "$/cancelRequest" in seen
    assert events[-1]["status"] == "done"


def test_reading_a_file_starts_its_server_and_shows_it_the_file(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    starts = _use_fake_server(tmp_path, v4code_home, "record", diagnostics_timeout=30)
    fake_api.load([tool_call("read_file", path="calc.py"), _write(BROKEN), text("done")])

    events = _run(workspace, fake_api)

    seen = starts.read_text().splitlines()
    assert seen.count("started") == 1 and seen[1] == "initialize"
    assert "textDocument/didOpen" in seen and "textDocument/didChange" in seen
    assert seen.index("textDocument/didOpen") < seen.index("textDocument/didChange")
    assert [e["errors"] for e in events if e["type"] == "diagnostics"] == [[]]
    assert "shutdown" in seen and "exit" in seen  # stopped with the session


def test_a_repository_cannot_name_a_server(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    starts = tmp_path / "starts"
    script = _fake_server(tmp_path, "crash", starts)
    project = workspace / ".v4code"
    project.mkdir()
    (project / "config.toml").write_text(
        f"lsp_python = {json.dumps([sys.executable, str(script)])}\n"
    )
    trusted = cli_harness.v4code(workspace, "trust", server=fake_api)
    assert trusted.returncode == 0, trusted.stderr
    fake_api.load([_write(BROKEN), text("done")])

    _run(workspace, fake_api)

    assert not starts.exists()


FIXER = """---
name: fixer
description: Writes the file the brief names.
tools: read_file, write_file
---
You write the file the brief names.
"""


def test_a_child_agents_edit_has_its_diagnostics_event_in_its_transcript(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "calc.py").write_text(CLEAN)
    (v4code_home / "agents").mkdir()
    (v4code_home / "agents" / "fixer.md").write_text(FIXER)
    _use_fake_server(tmp_path, v4code_home, "checker", diagnostics_timeout=30)
    brief = "BRIEF-FIX: rewrite calc.py."
    fake_api.load([tool_call("task", brief=brief, agent="fixer"), text("done")])
    fake_api.route("BRIEF-FIX", [_write(BROKEN), text("FIX-REPORT: calc.py written.")])

    events = _run(workspace, fake_api)

    (log,) = (v4code_home / "sessions").rglob("*.jsonl")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    child = [r["record"] for r in records if r["type"] == "child"]
    logged = [r["event"] for r in child if r["type"] == "event"]
    found = [e for e in logged if e["type"] == "diagnostics"]
    assert [e["errors"] for e in found] == [['calc.py:2: "totl" is not defined']], logged
    edited = [e["call"]["id"] for e in logged if e["type"] == "tool_finished"]
    assert [e["call_id"] for e in found] == edited
    # the child's result carried the error to the child; the session's own stream has
    # no event for a call it did not make
    assert not [e for e in events if e["type"] == "diagnostics"]
    assert (workspace / "calc.py").read_text() == BROKEN


def test_a_server_that_stops_as_it_starts_is_off_with_one_notice_saying_so(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    """It stopped before answering `initialize`: each edit said "stopped; no diagnostics
    this time", and nothing said the server never ran, until a third edit's restart failed."""
    starts = tmp_path / "starts"
    script = tmp_path / "dies.py"
    script.write_text(f"open({str(starts)!r}, 'a').write('started\\n')\nraise SystemExit(7)\n")
    _config(v4code_home, diagnostics_timeout=30, lsp_python=[sys.executable, str(script)])
    fake_api.load([_write(CLEAN), _write(BROKEN), _write(CLEAN), text("done")])

    events = _run(workspace, fake_api)

    first, *rest = cli_harness.tool_results(fake_api)
    assert "basedpyright language server stopped as it started" in first
    assert all("Diagnostics" not in result for result in rest), rest
    notices = _notices(events)
    said = [n for n in notices if "basedpyright" in n]
    assert said == [
        "The basedpyright language server stopped as it started (exit 7), before answering; "
        "diagnostics for python files are off for this session (`v4code lsp status` says "
        "what would run)."
    ]
    assert starts.read_text() == "started\n"  # not restarted


def test_rustups_proxy_is_not_started_in_the_sandbox_and_one_notice_says_why(
    workspace: Path, tmp_path: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    if not _sandbox_runs(workspace):
        pytest.skip("bubblewrap cannot run here")
    bin_dir = tmp_path / "cargo-bin"
    bin_dir.mkdir()
    (bin_dir / "rustup").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "rustup").chmod(0o755)
    (bin_dir / "rust-analyzer").symlink_to(bin_dir / "rustup")
    _config(v4code_home, lsp_rust=[str(bin_dir / "rust-analyzer")])
    write = [("write_file", {"path": "src/lib.rs", "content": "pub fn one() -> i32 { 1 }\n"})]
    fake_api.load([tool_calls(write), text("done")])

    events = _run(workspace, fake_api, sandbox=True)

    (result,) = cli_harness.tool_results(fake_api)
    assert "stopped" not in result
    notices = _notices(events)
    said = [n for n in notices if "rust-analyzer" in n]
    assert said == [
        "The rust-analyzer language server is off: rust-analyzer here is rustup's proxy, which "
        "cannot run in the sandbox; name the toolchain's binary in `lsp_rust` (`rustup which "
        "rust-analyzer` prints it) and let the sandbox read the toolchain (`sandbox_allow_read`)."
    ]
