"""Cost of the working-tree snapshot taken before every command (median of several runs).

Run by hand: `python bench/snapshot.py [--files 10000] [-n 9]`. Builds a git repository of
source-like files in a temp dir, then times:

- cold: the first snapshot into an empty store (every file read, hashed and stored);
- warm: nothing changed since the previous snapshot, in the same process (stat cache in memory)
  and as a new process would see it (stat cache read from disk);
- 10 changed: ten files edited since the previous snapshot;
- per command: before and after snapshots of a command that changed nothing;
- listing: the gitignore-aware file listing alone, the floor of every snapshot.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from v4code.edits import snapshot as snap  # noqa: E402
from v4code.edits.checkpoints import CheckpointStore  # noqa: E402
from v4code.edits.records import SnapshotRecord  # noqa: E402
from v4code.repo.files import list_files  # noqa: E402


def build_repo(root: Path, files: int, seed: int = 7) -> int:
    """`files` files over a few hundred folders, sizes skewed like source code; total bytes."""
    rng = random.Random(seed)
    total = 0
    line = b"    value = compute(alpha, beta, gamma)  # a line of ordinary source code\n"
    for i in range(files):
        folder = root / f"pkg{i % 40:02d}" / f"mod{i % 250:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        size = min(int(rng.lognormvariate(6.0, 1.0)), 60_000)
        data = (line * (size // len(line) + 1))[:size]
        (folder / f"file{i:05d}.py").write_bytes(data)
        total += size
    (root / ".gitignore").write_text("build/\n")
    git = ["git", "-c", "user.email=b@example.com", "-c", "user.name=bench"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], cwd=root, check=True)
    return total


def median_ms(fn: Callable[[], object], runs: int, before: Callable[[], None] | None = None) -> str:
    """Median wall time, and the median CPU time of this process (a busy machine inflates
    the first; the second is closer to what an idle one shows, less the git subprocess)."""
    wall, cpu = [], []
    for _ in range(runs):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return (
        f"{statistics.median(wall) * 1000:8.1f} ms  (cpu {statistics.median(cpu) * 1000:6.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("-n", "--runs", type=int, default=9)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="v4code-snapshot-bench-"))
    try:
        root = tmp / "repo"
        root.mkdir()
        total = build_repo(root, args.files)
        print(f"repository: {args.files:,} files, {total / 1e6:.1f} MB")
        time.sleep(snap.RACY_NS / 1e9 + 0.2)  # files as old as a real checkout's
        rng = random.Random(1)
        paths = [p for p in root.rglob("*.py")]

        def cold_store() -> None:
            snap._MEMORY.clear()
            state["store"] = CheckpointStore(tmp / f"store{rng.random()}")

        state: dict[str, CheckpointStore] = {}

        def take() -> object:
            return snap.snapshot(root, state["store"], "bench", "bench")

        cold = median_ms(take, max(3, args.runs // 3), before=cold_store)
        take()  # settle the cache of the last store
        warm = median_ms(take, args.runs)
        from_disk = median_ms(take, args.runs, before=snap._MEMORY.clear)

        def touch_ten() -> None:
            for path in rng.sample(paths, 10):
                with path.open("ab") as fh:
                    fh.write(b"# edited\n")

        changed = median_ms(take, args.runs, before=touch_ten)

        def command() -> None:
            record = take()
            assert isinstance(record, SnapshotRecord)
            snap.finish_snapshot(state["store"], record)

        time.sleep(snap.RACY_NS / 1e9 + 0.2)
        take()
        per_command = median_ms(command, args.runs)
        listing = median_ms(lambda: list_files(root), args.runs)
        print(f"cold (first snapshot):           {cold}")
        print(f"warm, nothing changed:           {warm}")
        print(f"warm, stat cache read from disk: {from_disk}")
        print(f"warm, 10 files changed:          {changed}")
        print(f"per command (before + after):    {per_command}")
        print(f"listing alone (repo/files.py):   {listing}")
        print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
