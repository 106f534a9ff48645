"""Helpers shared by the benchmarks: the fake server from tests/, a quiet agent, a committed
repository."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for fake_api


def committed_repo(where: Path, files: dict[str, str], message: str = "bench") -> Path:
    """`files` (path: text) committed in a fresh git repository at `where` (on branch main,
    under a bench identity, so no git config is needed)."""
    import subprocess

    for name, content in files.items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    identity = ["-c", "user.email=b@example.com", "-c", "user.name=b"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*identity, "commit", "-qm", message],
    ):
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True)
    return where
