"""Two processes applying change sets to the same file never lose an update."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from v4code.edits.apply import apply_changeset
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore
from v4code.errors import ToolError

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from v4code.edits.apply import apply_changeset
    from v4code.edits.changeset import ChangeSet, FileChange
    from v4code.edits.checkpoints import CheckpointStore
    from v4code.errors import ToolError

    root, store_dir, tag, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    store = CheckpointStore(store_dir)
    refused = 0
    for i in range(rounds):
        while True:
            read = (root / "shared.txt").read_bytes()  # what the model read
            change = FileChange("shared.txt", read, read + f"{tag}{i}\\n".encode(), 0o644, 0o644)
            try:
                apply_changeset(root, ChangeSet((change,), "append"), store, tag)
                break
            except ToolError as exc:
                assert "changed since it was read; read it again" in str(exc), exc
                refused += 1  # the model reads the file again and retries
    print(refused)
    """
)


def test_two_processes_editing_one_file_lose_no_update(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "shared.txt").write_bytes(b"")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rounds = 40
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(tmp_path / "store"), tag, str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = (root / "shared.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"{t}{i}" for t in "ab" for i in range(rounds))
    # The lock lives in v4code's store, never in the user's tree.
    assert sorted(p.name for p in root.iterdir()) == ["shared.txt"]


def test_a_file_changed_between_read_and_apply_is_refused_and_left_alone(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("one\n")
    (root / "b.py").write_text("two\n")
    changeset = ChangeSet(
        (
            FileChange("a.py", b"one\n", b"ONE\n", 0o644, 0o644),
            FileChange("b.py", b"two\n", b"TWO\n", 0o644, 0o644),
        ),
        "both",
    )
    (root / "b.py").write_text("someone else\n")
    with pytest.raises(ToolError, match="b.py changed since it was read; read it again"):
        apply_changeset(root, changeset, CheckpointStore(tmp_path / "store"), "s")
    assert (root / "a.py").read_text() == "one\n"
    assert (root / "b.py").read_text() == "someone else\n"
