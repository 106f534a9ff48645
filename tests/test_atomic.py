"""Atomic writes, and a batch killed (SIGKILL) at many points: no file is ever half written."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from v4code.edits.apply import apply_changeset
from v4code.edits.atomic import TEMP_SUFFIX, atomic_write, default_mode
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore
from v4code.edits.undo import undo_last
from v4code.errors import ToolError


def test_atomic_write_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_bytes(b"old")
    target.chmod(0o751)
    atomic_write(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["script.sh"]  # no temp file left


def test_atomic_write_new_file_gets_the_default_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    atomic_write(target, b"x")
    assert stat.S_IMODE(target.stat().st_mode) == default_mode()


def test_atomic_write_failure_leaves_the_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_rolls_back_the_files_already_written(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "x.txt").write_bytes(b"x old")
    (root / "blocker").write_bytes(b"a file where a directory is needed")
    changeset = ChangeSet(
        (
            FileChange("x.txt", b"x old", b"x new", 0o644, 0o644),
            FileChange("blocker/inside.txt", None, b"cannot be written"),
        ),
        "two changes",
    )
    store = CheckpointStore(tmp_path / "store")
    with pytest.raises(ToolError, match="no file was changed"):
        apply_changeset(root, changeset, store, "s")
    assert (root / "x.txt").read_bytes() == b"x old"
    assert store.list_batches(root) == []


# -- SIGKILL in the middle of a batch ----------------------------------------------------------

CHILD = r"""
import sys
from pathlib import Path
from v4code.edits.apply import apply_changeset
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore

root, store_dir = Path(sys.argv[1]), Path(sys.argv[2])
changes = []
for path in sorted(p for p in root.iterdir() if p.is_file()):
    data = path.read_bytes()
    if path.name.startswith("mod"):
        changes.append(FileChange(path.name, data, data.upper(), 0o644, 0o644))
    elif path.name.startswith("del"):
        changes.append(FileChange(path.name, data, None, 0o644, None))
for i in range(10):
    changes.append(FileChange(f"new/add{i:02d}.txt", None, b"added %d " % i * 20000))
changeset = ChangeSet(tuple(changes), "big batch", tool="apply_edits")
store = CheckpointStore(store_dir)
print("ready", flush=True)
sys.stdin.readline()
apply_changeset(root, changeset, store, "kill-test")
print("done", flush=True)
"""


def _make_files(root: Path, seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    files = {}
    for i in range(40):
        size = 1_000_000 if i % 15 == 0 else rng.randint(1, 40_000)
        files[f"mod{i:03d}.txt"] = bytes(rng.choice(b"abcdefghij \n") for _ in range(64)) * (
            size // 64 + 1
        )
    for i in range(10):
        files[f"del{i:02d}.txt"] = b"doomed %d\n" % i * 1000
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def _start(root: Path, store_dir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(store_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def _go(proc: subprocess.Popen[bytes]) -> float:
    assert proc.stdin is not None
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    return time.perf_counter()


def _state(root: Path, files: dict[str, bytes]) -> tuple[int, int]:
    """(files in their new state, files in their old state); fails on anything in between."""
    new = old = 0
    for name, data in files.items():
        path = root / name
        current = path.read_bytes() if path.exists() else None
        if name.startswith("mod"):
            assert current in (data, data.upper()), f"{name} is half written"
            new += current == data.upper()
            old += current == data
        else:
            new += current is None
            old += current == data
    for i in range(10):
        path = root / "new" / f"add{i:02d}.txt"
        if path.exists():
            assert path.read_bytes() == b"added %d " % i * 20000, f"{path.name} is half written"
            new += 1
        else:
            old += 1
    return new, old


def _finish(proc: subprocess.Popen[bytes], timeout: float) -> int:
    code = proc.wait(timeout=timeout)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    return code


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"*{TEMP_SUFFIX}")]


@pytest.mark.timeout(60)
def test_sigkill_at_many_points_never_leaves_a_partial_file(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    store_dir = tmp_path / "store"
    files = _make_files(root, seed=7)
    total = len(files) + 10
    store = CheckpointStore(store_dir)

    # Uninterrupted runs tell how long the batch takes here (the second one finds the
    # contents already in the store, like every run after it).
    for _ in range(2):
        proc = _start(root, store_dir)
        started = _go(proc)
        assert _finish(proc, 30) == 0
        duration = time.perf_counter() - started
        assert _state(root, files) == (total, 0)
        assert undo_last(store, root, "kill-test").ok
        assert _state(root, files) == (0, total)

    def kill_after(delay: float) -> tuple[int, int]:
        proc = _start(root, store_dir)
        _go(proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        _finish(proc, 10)
        outcome = _state(root, files)  # asserts every file is wholly old or new
        report = undo_last(store, root, "kill-test")
        assert not report.refused, report.render()
        assert _state(root, files) == (0, total)
        assert _temp_files(root) == []  # leftovers of the killed batch are cleaned up
        return outcome

    kills = 12
    outcomes = [kill_after(duration * (k + 0.5) / kills) for k in range(kills)]
    rng = random.Random(1)
    while not any(new and old for new, old in outcomes) and len(outcomes) < 2 * kills:
        outcomes.append(kill_after(rng.uniform(0, duration)))  # a slower or faster machine
    partial = [o for o in outcomes if o[0] and o[1]]
    assert partial, f"no kill landed inside the batch: {outcomes} (batch took {duration:.3f} s)"
