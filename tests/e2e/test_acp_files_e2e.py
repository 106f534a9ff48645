"""`v4code acp` with an editor that offers its file system (`fs/read_text_file`,
`fs/write_text_file`): reads see the editor's unsaved text, approved edits are written through
it and the disk ends as approved; secret files never cross in either direction; an editor
that offers nothing is served from the disk (the other acp tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_harness import v4code
from fake_api import FakeDeepSeek, text, tool_call

acp = pytest.importorskip("acp")
from acp_editor import FilesEditor, drive  # noqa: E402

CALC = "def add(a, b):\n    return a - b\n"
UNSAVED = "# unsaved in the editor\n" + CALC
FIX = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
ENV_ON_DISK = "API_TOKEN=on-disk-token-1234\n"
ENV_IN_BUFFER = "API_TOKEN=buffer-token-5678\n"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(CALC)
    (workspace / ".env").write_text(ENV_ON_DISK)
    (workspace / "notes.txt").write_text("plain notes\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "files"], cwd=workspace, check=True)
    return workspace


async def one_turn(conn: object, repo: Path) -> str:
    session = await conn.new_session(cwd=str(repo), mcp_servers=[])  # type: ignore[attr-defined]
    prompt = [acp.text_block("go")]
    response = await conn.prompt(session_id=session.session_id, prompt=prompt)  # type: ignore[attr-defined]
    return str(response.stop_reason)


def tool_results(server: FakeDeepSeek) -> str:
    return "\n".join(
        str(m.get("content")) for m in server.requests[-1].messages if m.get("role") == "tool"
    )


@pytest.mark.parametrize("saves", [False, True])
def test_reads_see_the_editors_buffer_and_an_approved_edit_is_written_through_it(
    repo: Path, fake_api: FakeDeepSeek, saves: bool
) -> None:
    """The model reads the unsaved text; the edit is computed on it, written through the
    editor, and the disk ends as the editor wrote it whether or not the editor saves."""
    fake_api.load(
        [tool_call("read_file", path="calc.py"), tool_call("edit_file", **FIX), text("ok")]
    )
    editor = FilesEditor("allow_once", saves=saves)
    calc = str((repo / "calc.py").resolve())
    editor.buffers[calc] = UNSAVED
    assert drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo)) == "end_turn"
    assert calc in editor.reads
    assert "unsaved in the editor" in tool_results(fake_api)
    fixed = UNSAVED.replace("a - b", "a + b")
    assert editor.writes == [(calc, fixed)]
    assert (repo / "calc.py").read_text() == fixed
    [(call, _)] = editor.asked  # the approval showed the change to the editor's text
    [diff] = call.content
    assert (diff.old_text, diff.new_text) == (UNSAVED, fixed)


def test_an_edit_goes_through_v4codes_checkpoint_and_undo(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    """The checkpoint is v4code's: `v4code undo` puts back what the editor showed before."""
    fake_api.load([tool_call("edit_file", **FIX), text("ok")])
    editor = FilesEditor("allow_once")
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert len(editor.writes) == 1
    assert (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")
    undone = v4code(repo, "undo", server=fake_api)
    assert undone.returncode == 0, undone.stderr
    assert (repo / "calc.py").read_text() == CALC


def test_secret_files_never_cross_to_or_from_the_editor(repo: Path, fake_api: FakeDeepSeek) -> None:
    """A secret file is read and written by v4code (after its question), never through the
    editor: the model gets the disk's content the person was asked about, not an unsaved
    buffer, and the editor gets no write of it. A file whose unsaved text holds a private
    key is read from the disk too."""
    fake_api.load(
        [
            tool_call("read_file", path=".env"),
            tool_call("read_file", path="notes.txt"),
            tool_call(
                "edit_file", path=".env", old_string="on-disk-token-1234", new_string="rotated"
            ),
            text("done"),
        ]
    )
    editor = FilesEditor("allow_once")
    env, notes = str((repo / ".env").resolve()), str((repo / "notes.txt").resolve())
    editor.buffers[env] = ENV_IN_BUFFER
    editor.buffers[notes] = "plain notes\n" + PRIVATE_KEY
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    results = tool_results(fake_api)
    assert "on-disk-token-1234" in results and "buffer-token-5678" not in results
    assert "PRIVATE KEY" not in results and "plain notes" in results
    assert env not in editor.reads
    assert editor.writes == []
    outputs = [str(u.content) for u in editor.updates if u.session_update == "tool_call_update"]
    assert "withheld" in outputs[0] and "on-disk-token-1234" not in outputs[0]  # as in the log
    assert (repo / ".env").read_text() == "API_TOKEN=rotated\n", results


def test_a_read_only_session_sends_the_editor_no_write(repo: Path, fake_api: FakeDeepSeek) -> None:
    fake_api.load([tool_call("edit_file", **FIX), text("refused")])
    editor = FilesEditor("allow_once")

    async def script(conn: object) -> str:
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])  # type: ignore[attr-defined]
        await conn.set_session_mode(session_id=session.session_id, mode_id="read-only")  # type: ignore[attr-defined]
        prompt = [acp.text_block("go")]
        response = await conn.prompt(session_id=session.session_id, prompt=prompt)  # type: ignore[attr-defined]
        return str(response.stop_reason)

    assert drive(repo, fake_api, editor, script) == "end_turn"
    assert editor.writes == [] and editor.asked == []
    assert (repo / "calc.py").read_text() == CALC


def test_an_editor_that_only_writes_gets_no_write_over_its_unsaved_text(
    repo: Path, fake_api: FakeDeepSeek
) -> None:
    """Without reads the edit is computed on the disk's text: written into the editor's
    buffer it would throw the unsaved changes away, so v4code writes the disk itself."""
    fake_api.load([tool_call("edit_file", **FIX), text("ok")])
    editor = FilesEditor("allow_once", reads=False)
    editor.buffers[str((repo / "calc.py").resolve())] = UNSAVED
    drive(repo, fake_api, editor, lambda conn: one_turn(conn, repo))
    assert editor.reads == [] and editor.writes == []
    assert (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")
