"""A batch killed part way is all-or-nothing: the next start rolls it back and tidies up."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from scripted_backend import ScriptedBackend, reply

from v4code.app import load_registry, open_session
from v4code.config import Settings, user_home
from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.checkpoints import CheckpointStore, recover_workspace
from v4code.edits.undo import list_text
from v4code.protocols import Approval, ApprovalRequest
from v4code.sessions import read_session
from v4code.types import Message, ToolCall

FILES = [f"pkg/mod{i}.py" for i in range(5)] + ["new/dir/created.py"]
SIZE = 300_000

# The child applies one batch. With KILL_AT=n it stops (and says so) at its n-th os.replace:
# blobs, the journal record, each file, the "applied" mark; the parent then kills it.
# KILL_AT=-2 lists every os.replace instead.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from v4code.edits.apply import apply_changeset
    from v4code.edits.changeset import ChangeSet, FileChange
    from v4code.edits.checkpoints import CheckpointStore

    root, store_dir, size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    kill_at = int(os.environ.get("KILL_AT", "-1"))
    real_replace, calls = os.replace, [0]

    def replace(src, dst):
        if kill_at == -2:
            print("replace", calls[0], dst, flush=True)
        if calls[0] == kill_at:
            print("at", calls[0], dst, flush=True)
            time.sleep(60)
        calls[0] += 1
        real_replace(src, dst)

    os.replace = replace
    changes = []
    for rel in sys.argv[4:]:
        path = root / rel
        before = path.read_bytes() if path.exists() else None
        changes.append(FileChange(rel, before, (b"after " + rel.encode()) * (size // 20), 0o644, 0o644))
    apply_changeset(root, ChangeSet(tuple(changes), "big batch", tool="apply_edits"), CheckpointStore(store_dir), "s1")
    print("done", calls[0], flush=True)
    """
)


Contents = dict[str, "bytes | None"]


def _setup(tmp_path: Path) -> tuple[Path, Contents, Contents]:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    before: dict[str, bytes | None] = {}
    for rel in FILES:
        if rel.startswith("pkg/"):
            data = (b"before " + rel.encode()) * (SIZE // 20)
            (root / rel).write_bytes(data)
            before[rel] = data
        else:
            before[rel] = None
    after: Contents = {rel: (b"after " + rel.encode()) * (SIZE // 20) for rel in FILES}
    return root, after, before


def _state(root: Path) -> Contents:
    return {rel: (root / rel).read_bytes() if (root / rel).exists() else None for rel in FILES}


def _temp_files(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if "v4code-tmp" in p.name]


def _spawn(tmp_path: Path, root: Path, store: Path, kill_at: int) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, str(script), str(root), str(store), str(SIZE), *FILES],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KILL_AT": str(kill_at)},
    )


def _check_all_or_nothing(
    root: Path, store: CheckpointStore, before: Contents, after: Contents
) -> str:
    recover_workspace(root, store)  # what the next start in the workspace does
    state = _state(root)
    assert state in (before, after), {k: (v or b"")[:12] for k, v in state.items()}
    assert _temp_files(root) == []
    if state == before:
        assert not (root / "new").exists()  # the folders the batch created are gone too
    return "before" if state == before else "after"


def test_a_batch_killed_at_every_step_is_all_before_or_all_after(tmp_path: Path) -> None:
    probe_root, after, before = _setup(tmp_path / "probe")
    proc = _spawn(tmp_path, probe_root, tmp_path / "probe-store", -2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    steps = [line.split(maxsplit=2) for line in out.splitlines() if line.startswith("replace")]
    # Every step from the journal record on (storing the blobs touches no workspace file).
    points = [int(i) for _, i, dst in steps if "/objects/" not in dst]
    assert len(points) >= len(FILES) + 2
    seen = set()
    for kill_at in points:
        root, after, before = _setup(tmp_path / f"k{kill_at}")
        proc = _spawn(tmp_path, root, tmp_path / f"store{kill_at}", kill_at)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("at "), proc.communicate()[1]
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        store = CheckpointStore(tmp_path / f"store{kill_at}")
        seen.add(_check_all_or_nothing(root, store, before, after))
        # The journal says what happened to the batch, for undo --list and a resumed session.
        states = {b.state for b in store.list_batches(root)}
        assert states <= {"rolled-back", "applied"}
    # Every kill point comes before the batch's "applied" mark, so every batch rolls back.
    assert seen == {"before"}


def test_a_batch_killed_at_random_times_is_all_or_nothing(tmp_path: Path) -> None:
    rng = random.Random(4)
    for n in range(6):
        root, after, before = _setup(tmp_path / f"r{n}")
        proc = _spawn(tmp_path, root, tmp_path / f"rstore{n}", -1)
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        _check_all_or_nothing(root, CheckpointStore(tmp_path / f"rstore{n}"), before, after)


class Yes:
    def decide(self, request: ApprovalRequest) -> Approval:
        return Approval(True)


def test_starting_again_rolls_back_and_a_resumed_session_is_told(workspace: Path) -> None:
    (workspace / "a.py").write_text("a = 1\n")
    (workspace / "b.py").write_text("b = 1\n")
    edits = {
        "edits": [
            {"path": "a.py", "old_string": "a = 1", "new_string": "a = 2"},
            {"path": "b.py", "old_string": "b = 1", "new_string": "b = 2"},
        ]
    }
    settings = Settings(api_key="test", permission_mode="auto-edit")
    # A session whose model asked for a batch; the process dies after a.py was written.
    first = open_session(
        settings,
        workspace,
        Yes(),
        backend=ScriptedBackend([]),
        registry=load_registry(workspace),
    ).agent
    changeset = ChangeSet(
        (
            FileChange("a.py", b"a = 1\n", b"a = 2\n", 0o644, 0o644),
            FileChange("b.py", b"b = 1\n", b"b = 2\n", 0o644, 0o644),
        ),
        "edit a.py, b.py",
        tool="apply_edits",
    )
    store = CheckpointStore(user_home() / "checkpoints")
    record = store.record(workspace, changeset, first.session_id)
    (workspace / "a.py").write_text("a = 2\n")
    (workspace / f".b.py.{record.id}.v4code-tmp").write_bytes(b"partial")
    call = ToolCall(id="call_1", name="apply_edits", arguments=json.dumps(edits))
    first.session.message(Message(role="assistant", content="", tool_calls=(call,)))
    resumed = open_session(
        settings,
        workspace,
        Yes(),
        resume=first.session_id,
        backend=ScriptedBackend([reply("ok")]),
        registry=load_registry(workspace),
    ).agent
    assert (workspace / "a.py").read_text() == "a = 1\n"
    assert (workspace / "b.py").read_text() == "b = 1\n"
    result = read_session(resumed.session.path).messages[-1]
    assert result.role == "tool"
    assert "rolled back" in str(result.content) and "a.py, b.py" in str(result.content)
    assert "Not run: the session ended" not in str(result.content)
    listed = list_text(store, workspace, None, every=True)
    assert "rolled back" in listed and "a.py, b.py" in listed
    assert not list(workspace.glob("*.v4code-tmp"))
