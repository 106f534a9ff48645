"""Working-tree snapshots before commands, and undoing a command with them."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import git, tree_state
from tool_harness import run_command

from v4code.edits.apply import apply_changeset
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore, default_store
from v4code.edits.records import SnapshotRecord
from v4code.edits.snapshot import (
    SkippedSnapshot,
    SnapshotLimits,
    finish_snapshot,
    load_tree,
    snapshot,
)
from v4code.edits.undo import undo_last
from v4code.toolkit import ToolContext, ToolOutput


@pytest.fixture
def store(v4code_home: Path) -> CheckpointStore:
    return default_store()


def populate(root: Path) -> None:
    """Tracked files of every kind, then uncommitted and untracked work."""
    (root / "src" / "pkg" / "deep").mkdir(parents=True)
    (root / "src" / "pkg" / "deep" / "mod.py").write_text("x = 1\n")
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "tool.sh").chmod(0o755)
    (root / "data.bin").write_bytes(bytes(range(256)) * 8)
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("guide\n")
    os.symlink("docs/guide.md", root / "guide-link")
    os.symlink("/etc/hostname", root / "outside-link")  # stored as a link, never followed
    (root / ".gitignore").write_text(".venv/\nbuild/\n")
    (root / ".venv").mkdir()
    (root / ".venv" / "lib.py").write_text("ignored\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    (root / "src" / "pkg" / "deep" / "mod.py").write_text("x = 2  # uncommitted\n")
    (root / "tool.sh").chmod(0o700)
    (root / "notes.txt").write_text("untracked notes\n")
    (root / "src" / "new_module.py").write_bytes(b"\x00\xffbinary untracked")


def run_s1(root: Path, store: CheckpointStore, command: str, **context: Any) -> ToolOutput:
    """`run_command` in session "s1" with its snapshot kept in `store`."""
    return run_command(
        ToolContext(root=root, checkpoints=store, session_id="s1", **context), command=command
    )


def test_reset_and_clean_then_undo_brings_every_file_back(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    before = tree_state(workspace)
    out = run_s1(workspace, store, command="git reset -q --hard && git clean -fdq")
    assert "exit code: 0" in out.text
    assert not (workspace / "notes.txt").exists()
    assert (workspace / "src" / "pkg" / "deep" / "mod.py").read_text() == "x = 1\n"

    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert tree_state(workspace) == before
    assert "before command: git reset -q --hard && git clean -fdq" in report.render()


def test_rm_everything_then_undo(workspace: Path, store: CheckpointStore) -> None:
    populate(workspace)
    before = tree_state(workspace)
    run_s1(workspace, store, command="rm -rf ./* .gitignore")
    assert sorted(os.listdir(workspace)) == [".git", ".venv"]
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert tree_state(workspace) == before
    assert os.readlink(workspace / "outside-link") == "/etc/hostname"


def test_files_the_command_created_are_removed_and_ignored_ones_kept(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    before = tree_state(workspace)
    run_s1(
        workspace,
        store,
        command="mkdir -p gen/sub build && echo a > gen/sub/a.txt && echo b > made.txt "
        "&& echo out > build/out.o && echo more >> .venv/lib.py",
    )
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert "Removed gen/sub/a.txt, made.txt (created by that command)." in report.render()
    assert not (workspace / "gen").exists()  # folders it made are gone once empty
    after = tree_state(workspace)
    # ignored files are not the snapshot's business: left exactly as the command left them
    assert after.pop("build/out.o") == ("file", 0o644, b"out\n")
    assert after.pop(".venv/lib.py")[2] == b"ignored\nmore\n"
    before.pop(".venv/lib.py")
    assert after == before


def test_a_file_replaced_by_a_directory_and_back(workspace: Path, store: CheckpointStore) -> None:
    populate(workspace)
    before = tree_state(workspace)
    run_s1(
        workspace,
        store,
        command="rm notes.txt && mkdir notes.txt && echo inner > notes.txt/inner "
        "&& rm -r docs && echo 'now a file' > docs",
    )
    assert (workspace / "notes.txt").is_dir() and (workspace / "docs").is_file()
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert tree_state(workspace) == before


def test_a_symlinked_folder_put_in_place_is_never_written_through(
    workspace: Path, store: CheckpointStore, tmp_path: Path
) -> None:
    populate(workspace)
    outside = tmp_path / "outside"
    outside.mkdir()
    before = tree_state(workspace)
    run_s1(workspace, store, command=f"rm -rf docs && ln -s {outside} docs")
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert list(outside.iterdir()) == []
    assert tree_state(workspace) == before


def test_a_file_changed_after_the_command_is_refused_unless_forced(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    run_s1(workspace, store, command="echo 'by the command' > notes.txt && rm docs/guide.md")
    (workspace / "notes.txt").write_text("by hand afterwards\n")

    report = undo_last(store, workspace, "s1")
    assert not report.ok
    text = report.render()
    assert "Refused notes.txt: it changed after the command" in text
    assert "-by the command" in text and "+by hand afterwards" in text
    # what is merely gone comes back anyway: restoring it cannot lose anything
    assert (workspace / "docs" / "guide.md").read_text() == "guide\n"
    assert (workspace / "notes.txt").read_text() == "by hand afterwards\n"

    forced = undo_last(store, workspace, "s1", force=True)
    assert forced.ok, forced.render()
    assert (workspace / "notes.txt").read_text() == "untracked notes\n"


def test_undo_takes_the_newest_point_first_whatever_its_kind(
    workspace: Path, store: CheckpointStore
) -> None:
    (workspace / "a.txt").write_text("one\n")
    change = FileChange("a.txt", b"one\n", b"two\n", mode_before=0o644, mode_after=0o644)
    apply_changeset(workspace, ChangeSet((change,), "a.txt", "edit_file"), store, "s1")
    run_s1(workspace, store, command="echo three > a.txt")
    change = FileChange("a.txt", b"three\n", b"four\n", mode_before=0o644, mode_after=0o644)
    apply_changeset(workspace, ChangeSet((change,), "a.txt", "edit_file"), store, "s1")

    points = store.undo_points(workspace, "s1")
    assert [type(p).__name__ for p in points] == ["BatchRecord", "SnapshotRecord", "BatchRecord"]
    for expected in ("three\n", "two\n", "one\n"):
        report = undo_last(store, workspace, "s1")
        assert report.ok, report.render()
        assert (workspace / "a.txt").read_text() == expected
    assert "Nothing left to undo" in undo_last(store, workspace, "s1").render()


def test_a_command_that_changes_nothing_leaves_no_undo_point(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    run_s1(workspace, store, command="git status --short && cat notes.txt")
    assert store.undo_points(workspace) == []


def test_outside_git(tmp_path: Path, store: CheckpointStore) -> None:
    root = tmp_path / "plain"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "c.txt").write_text("c\n")
    (root / "run.sh").write_text("echo\n")
    (root / "run.sh").chmod(0o751)
    (root / "node_modules" / "dep").mkdir(parents=True)  # skipped by the walk, left alone
    (root / "node_modules" / "dep" / "index.js").write_text("dep\n")
    before = tree_state(root)
    run_s1(root, store, command="rm -rf a run.sh node_modules/dep/index.js && echo n > new")
    report = undo_last(store, root, "s1")
    assert report.ok, report.render()
    after = tree_state(root)
    before.pop("node_modules/dep/index.js")
    assert after == before
    assert not (root / "new").exists()


def test_content_changed_with_the_same_size_and_mtime_is_seen(
    workspace: Path, store: CheckpointStore
) -> None:
    path = workspace / "same.txt"
    path.write_text("aaaa\n")
    old = os.stat(path)
    os.utime(path, ns=(old.st_atime_ns - 10**10, old.st_mtime_ns - 10**10))  # settled
    first = snapshot(workspace, store, "s1", "one")
    assert isinstance(first, SnapshotRecord)
    path.write_text("bbbb\n")
    os.utime(path, ns=(old.st_atime_ns - 10**10, old.st_mtime_ns - 10**10))  # same stat, almost
    second = snapshot(workspace, store, "s1", "two")
    assert isinstance(second, SnapshotRecord)
    digest = load_tree(store, second.tree)["same.txt"][1]
    assert store.blob(digest) == b"bbbb\n"


def test_limits_skip_with_a_reason_and_the_command_still_runs(
    workspace: Path, store: CheckpointStore
) -> None:
    (workspace / "big.bin").write_bytes(b"x" * 5000)
    skipped = snapshot(workspace, store, "s1", "cmd", SnapshotLimits(max_files=1))
    assert isinstance(skipped, SkippedSnapshot)
    assert "more than 1 files" in skipped.reason
    skipped = snapshot(workspace, store, "s1", "cmd", SnapshotLimits(max_changed_bytes=1000))
    assert (
        isinstance(skipped, SkippedSnapshot) and "changed since the last snapshot" in skipped.reason
    )

    out = run_s1(workspace, store, snapshot_max_files=1, command="echo ran > ran.txt")
    assert (workspace / "ran.txt").read_text() == "ran\n"
    assert "no undo snapshot was taken before this command" in out.text
    assert store.undo_points(workspace) == []


def test_a_broken_store_never_stops_the_command(workspace: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    out = run_command(
        ToolContext(root=workspace, checkpoints=CheckpointStore(blocker), session_id="s1"),
        command="echo ran > ran.txt",
    )
    assert (workspace / "ran.txt").read_text() == "ran\n"
    assert "exit code: 0" in out.text
    assert "the snapshot failed" in out.text


def test_a_command_v4code_did_not_see_finish_is_undone_cautiously(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    before = tree_state(workspace)
    record = snapshot(workspace, store, "s1", "rm -rf ./*")
    assert isinstance(record, SnapshotRecord)
    shutil.rmtree(workspace / "src")
    (workspace / "notes.txt").write_text("changed\n")
    report = undo_last(store, workspace, "s1")  # no tree after the command: pending
    assert [r.path for r in report.refused] == ["notes.txt"]
    assert "did not see the command finish" in report.render()
    assert (workspace / "src" / "pkg" / "deep" / "mod.py").read_text() == "x = 2  # uncommitted\n"
    assert undo_last(store, workspace, "s1", force=True).ok
    assert tree_state(workspace) == before


def test_snapshot_of_an_unchanged_tree_adds_only_a_record(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    first = snapshot(workspace, store, "s1", "one")
    objects = sorted((store.directory / "objects").rglob("*"))
    second = snapshot(workspace, store, "s1", "two")
    assert isinstance(first, SnapshotRecord) and isinstance(second, SnapshotRecord)
    assert first.tree == second.tree
    assert sorted((store.directory / "objects").rglob("*")) == objects
    tree = load_tree(store, first.tree)
    assert ".venv/lib.py" not in tree and not any(p.startswith(".git/") for p in tree)
    assert stat.S_ISLNK(tree["outside-link"][0])
    assert store.blob(tree["outside-link"][1]) == b"/etc/hostname"
    assert finish_snapshot(store, second) is None  # nothing changed: no undo point
    assert [p.id for p in store.undo_points(workspace)] == [first.id]


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_sandboxed_command_is_snapshotted_and_undone(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    before = tree_state(workspace)
    out = run_s1(workspace, store, sandbox=True, command="rm -rf ./* && echo x > created")
    assert "ran in the sandbox" in out.text and "exit code: 0" in out.text
    assert not (workspace / "src").exists()
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert tree_state(workspace) == before


def test_a_file_the_command_made_ignored_is_restored_not_taken_for_deleted(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    before = tree_state(workspace)
    run_s1(workspace, store, command="echo '*.txt' >> .gitignore && echo edited > notes.txt")
    report = undo_last(store, workspace, "s1")
    assert report.ok, report.render()
    assert tree_state(workspace) == before


def test_two_commands_are_undone_one_at_a_time_newest_first(
    workspace: Path, store: CheckpointStore
) -> None:
    populate(workspace)
    start = tree_state(workspace)
    run_s1(workspace, store, command="echo first >> notes.txt")
    middle = tree_state(workspace)
    run_s1(workspace, store, command="rm -rf src && echo second >> notes.txt")
    labels = [p.summary for p in store.undo_points(workspace, "s1")]
    assert labels == [
        "before command: echo first >> notes.txt",
        "before command: rm -rf src && echo second >> notes.txt",
    ]
    assert undo_last(store, workspace, "s1").ok
    assert tree_state(workspace) == middle
    assert undo_last(store, workspace, "s1").ok
    assert tree_state(workspace) == start


def test_a_repository_the_command_makes_or_replaces_is_moved_aside_and_others_stay(
    workspace: Path, store: CheckpointStore
) -> None:
    """A nested `.git` that was there before the command stays; one the command made (in an
    untracked folder) or put in place of another (`rm -rf sub/.git && git init sub`) is moved out of
    the workspace into the store, with its files, and the output names each."""
    (workspace / "vendor" / "lib").mkdir(parents=True)
    git(workspace / "vendor" / "lib", "init", "-q")  # the user's own clone: kept
    (workspace / "sub").mkdir()
    git(workspace / "sub", "init", "-q")
    out = run_s1(
        workspace,
        store,
        command="mkdir made && cd made && git init -q && echo x > f && cd .. && "
        "rm -rf sub/.git && git init -q sub && git -C vendor/lib status >/dev/null",
    )
    assert "made/.git: a git repository appeared inside the workspace" in out.text
    assert "sub/.git: a git repository appeared inside the workspace" in out.text
    assert "vendor/lib/.git" not in out.text and (workspace / "vendor/lib/.git").is_dir()
    assert not (workspace / "made" / ".git").exists() and (workspace / "made" / "f").exists()
    assert not (workspace / "sub" / ".git").exists()
    aside = store.aside_dir(workspace)
    assert sorted(p.relative_to(aside).parts[1:] for p in aside.glob("*/*/.git")) == [
        ("made", ".git"),
        ("sub", ".git"),
    ]
    assert out.data["planted"] and len(out.data["planted"]) == 2
    assert "planted" not in run_s1(workspace, store, command="true").data  # nothing new
