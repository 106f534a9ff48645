"""Checkpoints and undo: exact restores, refusals, crashes, git left alone, `v4code undo`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from tool_harness import apply_changes

from v4code.commands.undo import undo_command
from v4code.edits.apply import apply_changeset
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore, default_store
from v4code.edits.undo import undo_last


@pytest.fixture
def store(v4code_home: Path) -> CheckpointStore:
    return default_store()  # under the test's own V4CODE_HOME


def test_the_store_lives_under_v4code_home(store: CheckpointStore, v4code_home: Path) -> None:
    assert store.directory == v4code_home / "checkpoints"


def test_undo_after_edit_restores_bytes_and_mode_then_walks_back(
    tmp_path: Path, store: CheckpointStore
) -> None:
    target = tmp_path / "tool.sh"
    original = b"#!/bin/sh\r\necho one\r\n"
    target.write_bytes(original)
    target.chmod(0o755)
    first = apply_changes(
        tmp_path, store, "edit_file", path="tool.sh", old_string="one", new_string="two"
    )
    second = apply_changes(
        tmp_path, store, "edit_file", path="tool.sh", old_string="two", new_string="three"
    )
    assert target.read_bytes() == b"#!/bin/sh\r\necho three\r\n"

    report = undo_last(store, tmp_path, "s1")
    assert report.ok and report.batch is not None and report.batch.id == second
    assert target.read_bytes() == b"#!/bin/sh\r\necho two\r\n"
    report = undo_last(store, tmp_path, "s1")
    assert report.ok and report.batch is not None and report.batch.id == first
    assert target.read_bytes() == original
    assert stat.S_IMODE(target.stat().st_mode) == 0o755

    report = undo_last(store, tmp_path, "s1")
    assert not report.ok and report.batch is None
    assert "Nothing left to undo" in report.render()
    assert [b.undone is not None for b in store.list_batches(tmp_path, "s1")] == [True, True]


def test_undo_after_move_and_delete(tmp_path: Path, store: CheckpointStore) -> None:
    (tmp_path / "a.txt").write_bytes(b"a\n")
    (tmp_path / "b.txt").write_bytes(b"b\n")
    (tmp_path / "b.txt").chmod(0o600)
    apply_changes(tmp_path, store, "move_file", src="a.txt", dst="sub/dir/a.txt")
    apply_changes(tmp_path, store, "delete_file", path="b.txt")
    assert not (tmp_path / "b.txt").exists()

    assert undo_last(store, tmp_path, "s1").ok
    assert (tmp_path / "b.txt").read_bytes() == b"b\n"
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600

    report = undo_last(store, tmp_path, "s1")
    assert report.ok
    assert "Restored a.txt." in report.render()
    assert "Removed sub/dir/a.txt" in report.render()
    assert (tmp_path / "a.txt").read_bytes() == b"a\n"
    assert not (tmp_path / "sub").exists()  # the directories the move created are gone too


def test_undo_refuses_a_file_the_user_changed_and_shows_the_diff(
    tmp_path: Path, store: CheckpointStore
) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    edits = [
        {"path": "a.py", "old_string": "a = 1", "new_string": "a = 2"},
        {"path": "b.py", "old_string": "b = 1", "new_string": "b = 2"},
    ]
    apply_changes(tmp_path, store, "apply_edits", edits=edits)
    (tmp_path / "b.py").write_text("b = 2\nmine = True\n")  # the user kept working

    report = undo_last(store, tmp_path, "s1")
    assert not report.ok
    assert report.restored == ("a.py",)
    (refused,) = report.refused
    assert refused.path == "b.py"
    assert "+mine = True" in refused.diff
    assert "a/b.py (as v4code wrote it)" in refused.diff
    assert (tmp_path / "a.py").read_text() == "a = 1\n"
    assert (tmp_path / "b.py").read_text() == "b = 2\nmine = True\n"  # untouched
    text = report.render()
    assert "Refused b.py" in text and "--force" in text

    # The batch is not marked undone: once the user reverts their change, undo finishes it.
    (tmp_path / "b.py").write_text("b = 2\n")
    report = undo_last(store, tmp_path, "s1")
    assert report.ok
    assert report.unchanged == ("a.py",) and report.restored == ("b.py",)
    assert (tmp_path / "b.py").read_text() == "b = 1\n"


def test_undo_force_restores_a_changed_file(tmp_path: Path, store: CheckpointStore) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    apply_changes(tmp_path, store, "edit_file", path="a.py", old_string="a = 1", new_string="a = 2")
    (tmp_path / "a.py").write_text("something else\n")
    assert undo_last(store, tmp_path, "s1", force=True).ok
    assert (tmp_path / "a.py").read_text() == "a = 1\n"


def test_undo_in_a_directory_that_is_not_a_git_repository(
    tmp_path: Path, store: CheckpointStore
) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "notes.txt").write_text("draft\n")
    apply_changes(root, store, "write_file", path="notes.txt", content="final\n")
    assert not (root / ".git").exists()
    assert undo_last(store, root, "s1").ok
    assert (root / "notes.txt").read_text() == "draft\n"
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]  # nothing of ours left here


def _git_state(root: Path) -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout

    return {
        "head": git("rev-parse", "HEAD"),
        "branches": git("branch", "--list"),
        "index": git("ls-files", "--stage"),
        "stash": git("stash", "list"),
        "refs": git("for-each-ref"),
    }


def test_edits_and_undo_never_touch_git(workspace: Path, store: CheckpointStore) -> None:
    (workspace / "staged.txt").write_text("staged\n")
    subprocess.run(["git", "add", "staged.txt"], cwd=workspace, check=True)
    before = _git_state(workspace)
    index_bytes = (workspace / ".git" / "index").read_bytes()
    apply_changes(
        workspace,
        store,
        "edit_file",
        path="README.md",
        old_string="# project",
        new_string="# Project",
    )
    apply_changes(workspace, store, "write_file", path="new.txt", content="new\n")
    assert _git_state(workspace) == before
    assert undo_last(store, workspace, "s1").ok
    assert undo_last(store, workspace, "s1").ok
    assert _git_state(workspace) == before
    assert (workspace / ".git" / "index").read_bytes() == index_bytes
    assert (workspace / "README.md").read_text() == "# project\n"


def test_sessions_are_kept_apart(tmp_path: Path, store: CheckpointStore) -> None:
    (tmp_path / "a.txt").write_text("1\n")
    apply_changes(
        tmp_path,
        store,
        "edit_file",
        session="old",
        path="a.txt",
        old_string="1",
        new_string="2",
    )
    apply_changes(
        tmp_path,
        store,
        "edit_file",
        session="new",
        path="a.txt",
        old_string="2",
        new_string="3",
    )
    assert store.latest_session(tmp_path) == "new"
    assert [b.session_id for b in store.list_batches(tmp_path)] == ["old", "new"]
    assert len(store.list_batches(tmp_path, "old")) == 1
    # Undoing the older session's batch while the newer one sits on top is refused.
    report = undo_last(store, tmp_path, "old")
    assert [r.path for r in report.refused] == ["a.txt"]
    assert undo_last(store, tmp_path).ok  # latest session by default
    assert undo_last(store, tmp_path, "old").ok
    assert (tmp_path / "a.txt").read_text() == "1\n"


def test_a_batch_recorded_but_not_fully_applied_is_rolled_back_from_the_blobs(
    tmp_path: Path, store: CheckpointStore
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    for name in ("a", "b", "c"):
        (root / name).write_bytes(f"{name} old".encode())
    changeset = ChangeSet(
        tuple(FileChange(n, f"{n} old".encode(), f"{n} new".encode(), 0o644, 0o644) for n in "abc")
        + (FileChange("d/new.txt", None, b"d new"),),
        "crashed batch",
        tool="apply_edits",
    )
    # What a crash after the checkpoint and two writes leaves behind: a pending record, two
    # files written, and a temp file of the third.
    record = store.record(root, changeset, "s1", created_dirs=["d"])
    (root / "a").write_bytes(b"a new")
    (root / "b").write_bytes(b"b new")
    leftover = root / f".c.{record.id}.v4code-tmp"
    leftover.write_bytes(b"c n")
    assert store.list_batches(root)[0].state == "pending"

    # The next undo (like the next apply or session start) rolls the batch back first, so
    # there is nothing of it left to undo.
    report = undo_last(store, root, "s1")
    assert not report.ok and "Nothing left to undo" in report.render()
    assert {n: (root / n).read_bytes() for n in "abc"} == {n: f"{n} old".encode() for n in "abc"}
    assert not leftover.exists()
    assert [b.state for b in store.list_batches(root)] == ["rolled-back"]
    assert [b.id for b in store.interrupted_batches(root, "s1")] == [record.id]


def test_applying_after_a_crash_cleans_the_crashed_batch_temp_files(
    tmp_path: Path, store: CheckpointStore
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a").write_bytes(b"old")
    crashed = store.record(root, ChangeSet((FileChange("a", b"old", b"new"),), "x"), "s1")
    leftover = root / f".a.{crashed.id}.v4code-tmp"
    leftover.write_bytes(b"ne")
    apply_changeset(
        root, ChangeSet((FileChange("a", b"old", b"newer", 0o644, 0o644),), "y"), store, "s1"
    )
    assert not leftover.exists()
    assert (root / "a").read_bytes() == b"newer"


def test_corrupt_blob_refuses_instead_of_restoring_garbage(
    tmp_path: Path, store: CheckpointStore
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    apply_changes(tmp_path, store, "edit_file", path="a.txt", old_string="a", new_string="b")
    for blob in (store.directory / "objects").rglob("*"):
        if blob.is_file():
            blob.write_bytes(b"damaged")
    report = undo_last(store, tmp_path, "s1")
    assert not report.ok
    assert "corrupt" in report.refused[0].reason
    assert (tmp_path / "a.txt").read_text() == "b\n"


# -- v4code undo -------------------------------------------------------------------------------


def test_undo_command_lists_and_undoes(tmp_path: Path, store: CheckpointStore) -> None:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    batch = apply_changes(
        root,
        store,
        "edit_file",
        session="sess-1",
        path="src/a.py",
        old_string="x = 1",
        new_string="x = 2",
    )
    runner = CliRunner()

    listed = runner.invoke(
        undo_command, ["--list", "-C", str(root / "src")]
    )  # found from a subfolder
    assert listed.exit_code == 0, listed.output
    assert f"Undo points in {os.path.realpath(root)}" in listed.output
    assert "Session sess-1 (latest):" in listed.output
    row = next(line for line in listed.output.splitlines() if batch in line)
    assert row.split()[3:] == ["edit_file", "applied", "src/a.py"]

    done = runner.invoke(undo_command, ["-C", str(root)])
    assert done.exit_code == 0, done.output
    assert f"Undid batch {batch} (edit_file)" in done.output
    assert (root / "src" / "a.py").read_text() == "x = 1\n"
    assert "undone" in runner.invoke(undo_command, ["--list", "-C", str(root)]).output

    again = runner.invoke(undo_command, ["-C", str(root)])
    assert again.exit_code == 1
    assert "Nothing left to undo in session sess-1" in again.output


def test_undo_command_exits_non_zero_when_a_file_is_refused(
    tmp_path: Path, store: CheckpointStore
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    apply_changes(tmp_path, store, "edit_file", path="a.txt", old_string="a", new_string="b")
    (tmp_path / "a.txt").write_text("c\n")
    result = CliRunner().invoke(undo_command, ["-C", str(tmp_path)])
    assert result.exit_code == 1
    assert "Refused a.txt" in result.output
    assert "-b\n+c" in result.output
    forced = CliRunner().invoke(undo_command, ["-C", str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "a.txt").read_text() == "a\n"


def test_undo_command_with_nothing_recorded(tmp_path: Path) -> None:
    result = CliRunner().invoke(undo_command, ["-C", str(tmp_path)])
    assert result.exit_code == 1
    assert "Nothing to undo" in result.output
    listed = CliRunner().invoke(undo_command, ["--list", "-C", str(tmp_path)])
    assert listed.exit_code == 0
    assert "no edits" in listed.output


def test_undo_command_session_option_and_all(tmp_path: Path, store: CheckpointStore) -> None:
    (tmp_path / "a.txt").write_text("1\n")
    (tmp_path / "b.txt").write_text("1\n")
    apply_changes(
        tmp_path,
        store,
        "edit_file",
        session="first",
        path="a.txt",
        old_string="1",
        new_string="2",
    )
    apply_changes(
        tmp_path,
        store,
        "edit_file",
        session="second",
        path="b.txt",
        old_string="1",
        new_string="2",
    )
    runner = CliRunner()
    latest_only = runner.invoke(undo_command, ["--list", "-C", str(tmp_path)]).output
    assert "Session second (latest)" in latest_only and "Session first" not in latest_only
    every = runner.invoke(undo_command, ["--list", "--all", "-C", str(tmp_path)]).output
    assert "Session first:" in every and "Session second (latest):" in every
    result = runner.invoke(undo_command, ["--session", "first", "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.txt").read_text() == "1\n"
    assert (tmp_path / "b.txt").read_text() == "2\n"


def _crash_after_first_write(root: Path, store: CheckpointStore) -> None:
    """What a batch killed after writing `a` leaves: a pending record and `a` written."""
    (root / "a").write_bytes(b"a old")
    store.record(root, ChangeSet((FileChange("a", b"a old", b"a new"),), "crashed"), "s1")
    (root / "a").write_bytes(b"a new")


def test_applying_reads_the_pending_batches_only(
    tmp_path: Path, store: CheckpointStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many batches a workspace has, an apply reads the records it must roll back."""

    for i in range(30):
        apply_changeset(
            tmp_path, ChangeSet((FileChange(f"f{i}", None, b"x", None, 0o644),), "one"), store, "s"
        )
    _crash_after_first_write(tmp_path, store)
    read = _record_reads(monkeypatch)
    apply_changeset(tmp_path, ChangeSet((FileChange("b", None, b"b"),), "next"), store, "s")
    assert (tmp_path / "a").read_bytes() == b"a old" and (tmp_path / "b").read_bytes() == b"b"
    assert len(read) == 1
    read.clear()
    apply_changeset(tmp_path, ChangeSet((FileChange("c", None, b"c"),), "next"), store, "s")
    assert read == []


def test_a_batch_an_older_store_left_pending_is_still_rolled_back(
    tmp_path: Path, store: CheckpointStore
) -> None:
    """Stores written before the pending markers keep no marker: the first apply reads them."""
    import shutil

    _crash_after_first_write(tmp_path, store)
    for marker_folder in store.directory.rglob("pending"):
        shutil.rmtree(marker_folder)
    apply_changeset(tmp_path, ChangeSet((FileChange("b", None, b"b"),), "next"), store, "s")
    assert (tmp_path / "a").read_bytes() == b"a old"
    assert [b.state for b in store.list_batches(tmp_path)].count("rolled-back") == 1


def _copies_of(record_file: Path, count: int, session: str, start: float) -> None:
    """`count` older records next to `record_file`, one a second from `start`, each file as
    old as its record."""
    import json

    data = json.loads(record_file.read_text())
    for i in range(count):
        created = start + i
        copy = {**data, "id": f"old-{i:04d}", "session_id": session, "created": created}
        path = record_file.with_name(f"old-{i:04d}.json")
        path.write_text(json.dumps(copy))
        os.utime(path, (created, created))


def test_undo_among_many_records_reads_only_the_newest(
    tmp_path: Path, store: CheckpointStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However long a workspace's history, `v4code undo` picks the newest undo point of the
    latest session, reading the newest records alone."""

    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.txt").write_text("1\n")
    first = apply_changes(
        root, store, "edit_file", session="s", path="a.txt", old_string="1", new_string="2"
    )
    second = apply_changes(
        root, store, "edit_file", session="s", path="a.txt", old_string="2", new_string="3"
    )
    record_file = next(store.directory.rglob(f"batches/{first}.json"))
    _copies_of(record_file, 400, "old", start=1_000_000_000.0)
    read = _record_reads(monkeypatch)

    report = undo_last(store, root)
    assert report.ok and report.batch is not None and report.batch.id == second
    assert (root / "a.txt").read_text() == "2\n"
    assert len(read) < 10
    read.clear()
    done = CliRunner().invoke(undo_command, ["-C", str(root)])
    assert done.exit_code == 0, done.output
    assert f"Undid batch {first} (edit_file)" in done.output
    assert (root / "a.txt").read_text() == "1\n"
    assert len(read) < 10
    again = CliRunner().invoke(undo_command, ["-C", str(root)])
    assert again.exit_code == 1 and "Nothing left to undo in session s;" in again.output


def test_undo_reads_each_record_once(
    tmp_path: Path, store: CheckpointStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding the latest session and then its newest point does not read a record twice."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.txt").write_text("1\n")
    apply_changes(
        root, store, "edit_file", session="s", path="a.txt", old_string="1", new_string="2"
    )
    second = apply_changes(
        root, store, "edit_file", session="s", path="a.txt", old_string="2", new_string="3"
    )
    read = _record_reads(monkeypatch)
    report = undo_last(store, root)
    assert report.ok and report.batch is not None and report.batch.id == second
    assert (root / "a.txt").read_text() == "2\n"
    assert read and len(read) == len(set(read))


def test_the_newest_undo_point_is_the_one_a_full_read_picks(
    tmp_path: Path, store: CheckpointStore
) -> None:
    """Whatever order files were rewritten in (undone since, or stamped by a coarse clock), the
    undo point chosen is the newest by its record, as reading every record would find."""
    import json
    import random

    from v4code.edits.records import SnapshotRecord

    (tmp_path / "a.txt").write_text("1\n")
    batch = apply_changes(
        tmp_path, store, "edit_file", session="s", path="a.txt", old_string="1", new_string="2"
    )
    batches = next(store.directory.rglob(f"batches/{batch}.json")).parent
    (batches.parent / "snapshots").mkdir()
    rng = random.Random(7)
    data = json.loads((batches / f"{batch}.json").read_text())
    for i in range(300):
        created = 1_000_000_000.0 + rng.uniform(0, 10_000)
        undone = created + rng.uniform(0, 20_000) if rng.random() < 0.3 else None
        session = rng.choice(["s", "t", "u"])
        if i % 3:
            record = {**data, "id": f"b-{i:03d}", "created": created, "undone": undone}
            path = batches / f"b-{i:03d}.json"
        else:
            snap = SnapshotRecord(f"c-{i:03d}", data["root"], session, "make", created, "0" * 64, 1)
            record = {**snap.to_json(), "undone": undone}
            path = batches.parent / "snapshots" / f"c-{i:03d}.json"
        path.write_text(json.dumps({**record, "session_id": session}))
        stamped = (undone or created) + rng.choice([-0.5, 0.0, rng.uniform(0, 5_000)])
        os.utime(path, (stamped, stamped))
    (batches / f"{batch}.json").unlink()
    points = store.undo_points(tmp_path)
    assert store.latest_session(tmp_path) == points[-1].session_id
    for session in ("s", "t", "u"):
        expected = [p for p in points if p.session_id == session and p.undone is None][-1]
        chosen = store.latest_point(
            tmp_path, lambda p, s=session: p.session_id == s and p.undone is None
        )
        assert chosen == expected


def _record_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the batch records read from now on, in order."""
    from v4code.edits.records import BatchRecord

    read: list[str] = []
    parse = BatchRecord.from_json
    monkeypatch.setattr(
        BatchRecord,
        "from_json",
        classmethod(lambda cls, data: read.append(data["id"]) or parse(data)),
    )
    return read
