"""The repo map's index warmed up in the background, kept between calls, built once at a time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import make_repo
from scripted_backend import ScriptedBackend

from v4code.app import AgentSession, open_session
from v4code.config import Settings
from v4code.protocols import Approval, ApprovalRequest
from v4code.repomap import api
from v4code.repomap import index as repomap_index
from v4code.repomap import opening as opening_module
from v4code.repomap.cache import cache_path
from v4code.repomap.opening import OpeningMap

TASK = "f3 returns the wrong number; fix it."


def make(root: Path, count: int) -> Path:
    return make_repo(
        root, {f"pkg/mod{i}.py": f"def f{i}():\n    return {i}\n" for i in range(count)}
    )


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Files parsed in this process (each slowly, so builds overlap), counted by path."""
    seen: Counter[str] = Counter()
    real = repomap_index.index_file

    def slow(root: str, path: str, *, parse: bool = True) -> repomap_index.FileSymbols:
        seen[path] += 1
        time.sleep(0.02)
        return real(root, path, parse=parse)

    monkeypatch.setattr(repomap_index, "index_file", slow)
    return seen


def drop_cache(root: Path) -> None:
    path = cache_path(root)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        name.unlink(missing_ok=True)


def test_the_kept_index_is_revalidated_by_size_and_mtime(workspace: Path) -> None:
    make(workspace, 5)
    first = api.repo_index(workspace)
    assert first.parsed == len(first.files) == 6
    drop_cache(workspace)  # nothing changed: answered from memory, the cache is not needed
    again = api.repo_index(workspace)
    assert (again.parsed, again.reused) == (0, 6)
    assert not cache_path(workspace).exists()
    (workspace / "pkg" / "mod1.py").write_text("def renamed_one():\n    return 1\n")
    (workspace / "pkg" / "mod2.py").unlink()
    (workspace / "logo.png.txt").write_bytes(b"\x89PNG\x00\x00binary")
    changed = api.repo_index(workspace)
    assert changed.parsed == 2  # the edited file and the new (binary) one
    assert changed.definitions("renamed_one")[0][0] == "pkg/mod1.py"
    assert not changed.definitions("f1")
    assert "pkg/mod2.py" not in changed.files and "logo.png.txt" not in changed.files
    assert api.repo_index(workspace).parsed == 0  # the binary file is not read again
    assert "renamed_one" in api.find_symbol(workspace, "renamed_one").format()


def test_one_build_at_a_time_the_second_caller_reuses_it(
    workspace: Path, parses: Counter[str]
) -> None:
    make(workspace, 40)
    warm = OpeningMap(workspace, 500)
    warm.warm_up()
    while not parses:  # the warm-up is parsing
        time.sleep(0.01)
    index = api.repo_index(workspace)  # waits for the warm-up, then starts from its result
    assert len(index.files) == 41
    assert set(parses.values()) == {1}, "a file was parsed twice"
    warm.close()


def test_the_first_message_waits_within_its_budget_then_stops_the_warm_up(
    workspace: Path, parses: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make(workspace, 60)  # 61 files at 0.02 s: over a second cold
    monkeypatch.setattr(opening_module, "MAP_SECONDS", 0.3)
    hook = OpeningMap(workspace, 500)
    hook.warm_up()
    content, notices = hook(TASK, opening_module.CancelToken())
    assert content == TASK
    assert notices == [
        "No repo map this session: indexing the repository took over 0.3 s (it continues "
        "from the cache next time; `v4code map` indexes it fully)."
    ]
    assert hook._thread is not None
    hook._thread.join(10)
    assert not hook._thread.is_alive()  # stopped, not left indexing beside the session
    assert sum(parses.values()) < 61 and set(parses.values()) == {1}


def test_with_the_index_warm_the_first_message_gets_its_map(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(workspace, 20)
    hook = OpeningMap(workspace, 500)
    hook.warm_up()
    assert hook._thread is not None
    hook._thread.join(60)
    monkeypatch.setattr(opening_module, "MAP_SECONDS", 0.0001)  # no time to index anything
    drop_cache(workspace)  # and no cache: the warm-up's index is in memory
    content, notices = hook(TASK, opening_module.CancelToken())
    assert notices == []
    assert content.startswith(f"{TASK}\n\n<repo_map>\n") and "pkg/mod3.py:" in content


def test_close_stops_the_warm_up_and_its_worker_processes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(repomap_index, "PARALLEL_FROM", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    make(workspace, 400)
    hook = OpeningMap(workspace, 500)
    hook.warm_up()
    deadline = time.monotonic() + 60
    while not multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert multiprocessing.active_children(), "no worker process started"
    hook.close()
    assert hook._thread is not None and not hook._thread.is_alive()
    assert multiprocessing.active_children() == []
    hook.warm_up()  # never again after close
    assert not [t for t in threading.enumerate() if t.name == "v4code-map-warm-up"]
    assert "Traceback" not in capfd.readouterr().err


def test_no_warm_up_without_a_map(workspace: Path) -> None:
    hook = OpeningMap(workspace, 0)
    hook.warm_up()
    assert hook._thread is None
    assert hook(TASK, opening_module.CancelToken()) == (TASK, [])


def test_two_processes_index_the_same_repository_at_once(workspace: Path, tmp_path: Path) -> None:
    """The parse cache is shared (SQLite, WAL): both builds finish and agree."""
    make(workspace, 120)
    argv = [sys.executable, "-m", "v4code", "map", "--tokens", "400", "-C", str(workspace)]
    runs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0] and "pkg/mod" in outputs[0][0]
    assert api.repo_index(workspace).parsed == 0  # everything was cached by one or the other


class Yes:
    def decide(self, request: ApprovalRequest) -> Approval:
        return Approval(True)


def test_only_a_new_session_that_asks_for_it_warms_up(
    workspace: Path, parses: Counter[str]
) -> None:
    make(workspace, 5)

    def session(tokens: int = 1500, **how: Any) -> AgentSession:
        settings = Settings(api_key="test", repo_map_tokens=tokens)
        return open_session(settings, workspace, Yes(), backend=ScriptedBackend([]), **how)

    headless = session()  # `v4code run`: the task is there at once
    assert not parses
    chat = session(warm_up_map=True)
    assert chat.opening_map is not None and chat.opening_map._thread is not None
    chat.opening_map._thread.join(60)
    assert len(parses) == 6  # indexed while nobody waited
    parses.clear()
    resumed = session(resume=headless.agent.session_id, warm_up_map=True)
    off = session(0, warm_up_map=True)
    for opened in (resumed, off):
        assert opened.opening_map is None
        opened.close()
    assert not [t for t in threading.enumerate() if t.name == "v4code-map-warm-up"]
    assert not parses
