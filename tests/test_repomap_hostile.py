"""The repository reader against repositories built to break it: special files, symbolic
links out of the tree, pathological sources, files changing under it, a damaged parse cache.

Each case must end in a clear message or a graceful degradation (the file skipped or indexed
as plain text): never a hang (every command runs under a timeout), a traceback, a read outside
the repository, or a cache entry that poisons a later answer.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import start_v4code, v4code
from conftest import git, make_repo
from tool_harness import tool_text

from v4code.errors import WorkspaceError
from v4code.repomap import api, find_symbol, outline
from v4code.repomap.cache import cache_path
from v4code.repomap.index import build_index

TIMEOUT = 60
"""Long enough for a slow shared machine; a hang fails the test instead of blocking it."""

SECRET_NAME = "outside_only_credential_loader"
"""Defined only in a file outside the repository: it must never show up in an answer."""


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must have succeeded without a traceback."""
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def indexed(root: Path, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """What `v4code map` / `v4code locate ARGS` print for `root`, in a child process (so a hang
    or a crash fails the test, not the runner). The commands themselves refuse a folder
    outside git; a session in such a folder still maps it by walking it, which is what these
    hostile folders test."""
    call = {
        "map": "print_map(Path.cwd())",
        "locate": "print_locate(Path.cwd(), sys.argv[1])",
    }[command]
    script = (
        f"import sys\nfrom pathlib import Path\nfrom v4code.repomap.cli_entry import *\n{call}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=root, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repository holding code the repository must not expose."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "loader.py").write_text(f"def {SECRET_NAME}(path):\n    return open(path).read()\n")
    (folder / ".npmrc").write_text("registry=https://registry.example.com/\n")
    return folder


@pytest.fixture
def plain_folder(tmp_path: Path) -> Iterator[Path]:
    """A project folder outside git (listed by a walk, which sees every kind of file)."""
    root = tmp_path / "plain"
    root.mkdir()
    (root / "app.py").write_text("def visible_entry_point():\n    return 1\n")
    yield root


# -- special files and links ------------------------------------------------------------


@pytest.mark.parametrize("name", [".npmrc", ".pypirc", "pipe.py", "notes.md"])
def test_a_fifo_in_a_folder_outside_git_does_not_hang(plain_folder: Path, name: str) -> None:
    os.mkfifo(plain_folder / name)
    assert "visible_entry_point" in ok(indexed(plain_folder, "map"))
    assert "app.py" in ok(indexed(plain_folder, "locate", "visible entry point"))


def test_a_tracked_token_file_replaced_by_a_fifo_does_not_hang(workspace: Path) -> None:
    make_repo(
        workspace, {".npmrc": "registry=https://example.com/\n", "app.py": "def run(): pass\n"}
    )
    (workspace / ".npmrc").unlink()
    os.mkfifo(workspace / ".npmrc")
    assert "def run()" in ok(indexed(workspace, "map"))


def test_sockets_devices_and_link_loops_are_skipped(plain_folder: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(plain_folder / "server.py"))
        (plain_folder / "loop.py").symlink_to("loop.py")
        (plain_folder / "a.py").symlink_to("b.py")
        (plain_folder / "b.py").symlink_to("a.py")
        (plain_folder / "zero.py").symlink_to("/dev/zero")
        (plain_folder / "random.py").symlink_to("/dev/urandom")
        out = ok(indexed(plain_folder, "map"))
    finally:
        sock.close()
    assert "visible_entry_point" in out
    for name in ("server.py", "loop.py", "zero.py", "random.py"):
        assert name not in out


def test_links_out_of_the_repository_are_not_read(workspace: Path, outside: Path) -> None:
    make_repo(workspace, {"app.py": "def run(): pass\n"})
    (workspace / "linked.py").symlink_to(outside / "loader.py")
    (workspace / "vendor").symlink_to(outside, target_is_directory=True)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "links")
    assert SECRET_NAME not in ok(indexed(workspace, "map"))
    assert SECRET_NAME not in ok(indexed(workspace, "map", "--focus", SECRET_NAME))
    located = ok(indexed(workspace, "locate", "--json", SECRET_NAME))
    assert "linked.py" not in located and "vendor" not in located
    report = find_symbol(workspace, SECRET_NAME)
    assert not report.definitions and not report.references


def test_a_token_file_linked_from_outside_is_not_read(plain_folder: Path, outside: Path) -> None:
    """The token sniff of `.npmrc` must not follow a link out of the repository either: such
    a link is treated as secret unread (the safe answer), and the map still works."""
    (plain_folder / ".npmrc").symlink_to(outside / ".npmrc")
    index = build_index(plain_folder)
    assert index.files[".npmrc"].language == "secret"


def test_a_file_name_that_is_not_utf8_is_mapped(plain_folder: Path) -> None:
    name = os.fsencode(plain_folder) + b"/caf\xe9.py"
    with open(name, "w") as handle:
        handle.write("def latin_one_named_module():\n    pass\n")
    for _ in range(2):  # cold, then from the cache
        out = ok(indexed(plain_folder, "map"))
        assert "latin_one_named_module" in out and "caf\\udce9.py" in out


def test_a_file_name_that_is_not_utf8_in_git(workspace: Path) -> None:
    with open(os.fsencode(workspace) + b"/\xff.py", "w") as handle:
        handle.write("def odd_named_module():\n    pass\n")
    assert "odd_named_module" in ok(indexed(workspace, "map"))


# -- pathological sources ---------------------------------------------------------------


def test_deeply_nested_code_is_still_indexed(workspace: Path) -> None:
    depth = 100_000
    make_repo(
        workspace,
        {
            "parens.py": "x = "
            + "(" * depth
            + "1"
            + ")" * depth
            + "\n\ndef after_parens(): pass\n",
            "arrays.js": "var x = " + "[" * depth + "]" * depth + ";\nfunction afterArrays() {}\n",
            "ifs.py": "".join(" " * i + "if x:\n" for i in range(1000))
            + " " * 1000
            + "def inner(): pass\n",
            "blocks.rs": "fn outer() {" + "{" * depth + "}" * depth + "}\nfn after_blocks() {}\n",
        },
    )
    out = ok(indexed(workspace, "map"))
    for name in ("after_parens", "afterArrays", "after_blocks"):
        assert name in out
    assert "ifs.py" in out
    assert "parens.py" in outline(workspace, "parens.py")
    assert find_symbol(workspace, "after_parens").definitions


def test_deep_expressions_do_not_stall_the_symbol_queries(workspace: Path) -> None:
    """A generated 100,000-term sum nests 100,000 deep: tree-sitter's queries slow down with
    depth (half a minute a file), so find_symbol and the map must not walk that deep."""
    terms = " + ".join(f"a{i}" for i in range(100_000))
    files = {f"gen{i}.py": f"def total_{i}():\n    return {terms}\n" for i in range(3)}
    files["Nested.java"] = "class A {" * 50_000 + "}" * 50_000
    make_repo(workspace, files)
    assert "total_0" in ok(indexed(workspace, "map"))
    script = "import sys; from v4code.repomap import find_symbol as f; print(f('.', 'a5').format())"
    found = ok(subprocess.run(
        [sys.executable, "-c", script], cwd=workspace, capture_output=True, text=True, timeout=TIMEOUT
    ))  # fmt: skip
    assert "gen0.py:2" in found


def test_a_parse_over_its_time_budget_degrades_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import random
    import string

    from v4code.repomap import symbols

    rng = random.Random(7)
    garbage = "".join(rng.choice(string.printable) for _ in range(300_000))
    monkeypatch.setattr(symbols, "PARSE_SECONDS", 0.0)
    slow = symbols.index_text("noise.ts", garbage.encode() + b"\nfunction lateName() {}\n")
    assert slow.language == "text" and not slow.definitions and "latename" in slow.terms
    assert symbols.reference_lines("noise.ts", b"x\nlateName()\n", "lateName") == [2]
    monkeypatch.undo()
    assert symbols.index_text("fine.ts", b"function fine() {}\n").language == "typescript"


def test_odd_bytes_degrade_to_text(workspace: Path) -> None:
    files = {
        "long_line.py": "x = '" + "a" * 1_900_000 + "'\n",
        "huge_name.py": "def " + "n" * 500_000 + "(): pass\n",
        "latin.py": "def caf\xe9():\n    return '\xff\xfe'\n\ndef after_latin(): pass\n",
        "late_nul.py": "def before_nul(): pass\n" + "#" * 9000 + "\x00\n",
    }
    for rel, text in files.items():
        (workspace / rel).write_bytes(text.encode("latin-1"))
    (workspace / "nul.py").write_bytes(b"def hidden_by_nul(): pass\n\x00\x00")
    (workspace / "too_big.py").write_bytes(b"def too_big(): pass\n" + b"#" * 2_100_000)
    out = ok(indexed(workspace, "map", "--tokens", "4000"))
    assert "after_latin" in out and "before_nul" in out
    assert "hidden_by_nul" not in out and "too_big" not in out
    assert len(out) < 4000 * 4 + 200  # the 500 kB name is cut in its signature
    assert "huge_name.py" in outline(workspace, "huge_name.py")


def test_a_hundred_thousand_definitions_stay_within_the_budget(workspace: Path) -> None:
    # 45,000 fit below the parse limit; the rest make a second file indexed as text.
    (workspace / "many.py").write_text("".join(f"def f{i}(): pass\n" for i in range(45_000)))
    (workspace / "more.py").write_text("".join(f"def g{i}(): pass\n" for i in range(55_000)))
    out = ok(indexed(workspace, "map", "--tokens", "500"))
    assert "def f0()" in out and len(out) <= 500 * 4 + 100
    hits = find_symbol(workspace, "f44999").definitions
    assert [(h.path, h.line) for h in hits] == [("many.py", 45_000)]
    text = tool_text("outline", workspace, path="many.py")
    assert len(text) < 200_000  # capped for the model, not a 1 MB answer


def test_many_files_stay_within_the_budget(workspace: Path) -> None:
    for i in range(400):
        folder = workspace / f"pkg{i % 20}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"def handler_{i}(x):\n    return handler_{i + 1}(x)\n")
    out = ok(v4code(workspace, "map", "--tokens", "300"))
    assert out.count("def handler_") >= 3 and len(out) <= 300 * 4 + 100


# -- files changing under the reader ----------------------------------------------------


def test_a_file_gone_while_indexing_is_left_out(workspace: Path) -> None:
    """A file that vanishes (or turns into a link) between the listing and its read is left
    out, not mapped as an empty file; back, it is mapped again."""
    make_repo(workspace, {"app/flaky.py": "def flaky_handler():\n    return 1\n"})
    path = workspace / "app" / "flaky.py"
    content = path.read_bytes()

    def swap(done: int, total: int) -> None:
        if done == 0 and not path.is_symlink():
            path.unlink()
            path.symlink_to("/dev/zero")

    index = build_index(workspace, progress=swap)
    assert "app/flaky.py" not in index.files
    path.unlink()
    path.write_bytes(content)
    assert "flaky_handler" in ok(indexed(workspace, "map"))


def test_a_read_that_fails_once_is_not_cached(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too many open files (or any passing error) while reading one file: the next build,
    the file untouched, reads it again instead of reusing an empty entry."""
    make_repo(workspace, {"app/busy.py": "def busy_handler():\n    return 1\n"})
    real_open = os.open

    def failing_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("busy.py"):
            raise OSError(24, "Too many open files")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing_open)
    build_index(workspace)
    monkeypatch.setattr(os, "open", real_open)
    assert "busy_handler" in ok(indexed(workspace, "map"))


def test_a_folder_swapped_for_a_link_out_while_indexing_is_not_read(
    workspace: Path, outside: Path
) -> None:
    make_repo(workspace, {"app/loader.py": "def local_loader():\n    pass\n"})
    (outside / "app").mkdir()
    (outside / "app" / "loader.py").write_text(f"def {SECRET_NAME}():\n    pass\n")

    def swap(done: int, total: int) -> None:
        if done == 0 and not (workspace / "app").is_symlink():
            (workspace / "app" / "loader.py").unlink()
            (workspace / "app").rmdir()
            (workspace / "app").symlink_to(outside / "app", target_is_directory=True)

    index = build_index(workspace, progress=swap)
    assert SECRET_NAME not in index.definers() and "app/loader.py" not in index.files


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_skipped_and_read_once_readable(workspace: Path) -> None:
    make_repo(workspace, {"locked.py": "def locked_away():\n    pass\n"})
    path = workspace / "locked.py"
    path.chmod(0)
    try:
        assert "locked_away" not in ok(indexed(workspace, "map"))
    finally:
        path.chmod(0o644)
    assert "locked_away" in ok(indexed(workspace, "map"))


def _stale_index(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make find_symbol answer from the index built now, as if the files then changed
    between its listing and its reads."""
    index = api.repo_index(root)
    monkeypatch.setattr(api, "repo_index", lambda *a, **k: index)


def test_find_symbol_does_not_hang_on_a_file_turned_into_a_fifo(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(workspace, {"a.py": "def shared(): pass\n", "b.py": "shared()\nshared()\n"})
    _stale_index(workspace, monkeypatch)
    (workspace / "b.py").unlink()
    os.mkfifo(workspace / "b.py")
    report = find_symbol(workspace, "shared")  # a blocking open would never return
    assert [h.path for h in report.definitions] == ["a.py"]
    assert all(h.path != "b.py" for h in report.references)


def test_find_symbol_does_not_read_through_a_new_link_out(
    workspace: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(workspace, {"a.py": "def shared(): pass\n", "b.py": "shared()\n"})
    (outside / "loader.py").write_text("\n\n\nshared()\n")
    _stale_index(workspace, monkeypatch)
    (workspace / "b.py").unlink()
    (workspace / "b.py").symlink_to(outside / "loader.py")
    report = find_symbol(workspace, "shared")
    assert all(h.path != "b.py" for h in report.references)


# -- outline and find_symbol given hostile paths ----------------------------------------


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "linked.py", "vendor/loader.py", "app", "."]
)
def test_outline_refuses_paths_outside_or_not_files(
    workspace: Path, outside: Path, path: str
) -> None:
    make_repo(workspace, {"app/main.py": "def main(): pass\n"})
    (workspace / "linked.py").symlink_to(outside / "loader.py")
    (workspace / "vendor").symlink_to(outside, target_is_directory=True)
    with pytest.raises(WorkspaceError):
        outline(workspace, path)
    text = tool_text("outline", workspace, path=path)
    assert text.startswith("ERROR:") and SECRET_NAME not in text


def test_outline_of_a_fifo_or_device_link_is_refused(workspace: Path) -> None:
    os.mkfifo(workspace / "pipe.py")
    (workspace / "zero.py").symlink_to("/dev/zero")
    for path in ("pipe.py", "zero.py"):
        assert tool_text("outline", workspace, path=path).startswith("ERROR:")


def test_find_symbol_names_cannot_escape(workspace: Path) -> None:
    make_repo(workspace, {"app.py": "def run(): pass\n"})
    for name in ("../../etc/passwd", "/etc/passwd", ".", "a.", "(.*)", "x" * 10_000):
        text = tool_text("find_symbol", workspace, name=name)
        assert "root:" not in text and "Traceback" not in text


# -- the parse cache --------------------------------------------------------------------


@pytest.fixture
def cached_repo(workspace: Path) -> Path:
    make_repo(
        workspace,
        {f"pkg/m{i}.py": f"def cached_fn_{i}():\n    return {i}\n" for i in range(30)},
    )
    assert "cached_fn_0" in ok(indexed(workspace, "map"))
    assert cache_path(workspace).is_file()
    return workspace


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "directory"])
def test_a_damaged_cache_costs_only_a_reparse(cached_repo: Path, damage: str) -> None:
    cache = cache_path(cached_repo)
    for extra in ("-wal", "-shm"):
        Path(f"{cache}{extra}").unlink(missing_ok=True)
    if damage == "garbage":
        cache.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        cache.write_bytes(cache.read_bytes()[:1500])
    elif damage == "empty":
        cache.write_bytes(b"")
    else:
        cache.unlink()
        cache.mkdir()
    for _ in range(2):
        out = ok(indexed(cached_repo, "map"))
        assert "cached_fn_0" in out and "cached_fn_29" in out


def test_a_cache_entry_with_the_wrong_shape_is_reparsed(cached_repo: Path) -> None:
    import sqlite3

    with sqlite3.connect(cache_path(cached_repo)) as db:
        db.execute("UPDATE files SET data = '[\"python\", [[1, 2]], 3, 4, 5, 6]'")
        db.execute("UPDATE files SET size = 'big' WHERE path = 'pkg/m1.py'")
    out = ok(indexed(cached_repo, "map", "--tokens", "4000"))
    assert "cached_fn_0" in out and "cached_fn_1()" in out


def test_an_unwritable_cache_folder_costs_only_the_cache(
    cached_repo: Path, v4code_home: Path
) -> None:
    (v4code_home / "repomap").rename(v4code_home / "old")
    (v4code_home / "repomap").write_text("not a folder\n")
    assert "cached_fn_0" in ok(indexed(cached_repo, "map"))


def test_same_relative_paths_in_two_repositories_do_not_mix(tmp_path: Path) -> None:
    """Two repositories with a file of the same path, size and mtime but other content."""
    roots = []
    for name in ("alpha", "bravo"):
        root = tmp_path / name / "project"
        root.mkdir(parents=True)
        (root / "core.py").write_text(f"def {name}_only(): pass\n")
        os.utime(root / "core.py", ns=(1_700_000_000_000_000_000,) * 2)
        roots.append(root)
    assert "alpha_only" in ok(indexed(roots[0], "map"))
    out = ok(indexed(roots[1], "map"))
    assert "bravo_only" in out and "alpha_only" not in out


def test_two_processes_building_at_once(workspace: Path) -> None:
    make_repo(workspace, {f"m{i}.py": f"def both_{i}(): pass\n" for i in range(60)})
    procs = [start_v4code(workspace, "map", "--tokens", "4000") for _ in range(3)]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _o, e in outs]
    assert len({o for o, _e in outs}) == 1 and "both_59" in outs[0][0]
    assert ok(indexed(workspace, "map", "--tokens", "4000")) == outs[0][0]


def test_another_repository_unpacked_in_the_same_place_is_read_afresh(tmp_path: Path) -> None:
    """An archive restores its files' mtimes: the second project, unpacked where the first
    was, has a file of the same path, size and mtime but other content."""
    root = tmp_path / "project"
    for name in ("alpha", "bravo"):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        (root / "core.py").write_text(f"def {name}_only(): pass\n")
        os.utime(root / "core.py", ns=(1_700_000_000_000_000_000,) * 2)
        out = ok(indexed(root, "map"))
        other = "bravo_only" if name == "alpha" else "alpha_only"
        assert f"{name}_only" in out and other not in out


def test_a_cache_of_an_older_version_is_replaced_and_then_reused(cached_repo: Path) -> None:
    import sqlite3

    with sqlite3.connect(cache_path(cached_repo)) as db:
        db.execute("DROP TABLE files")
        db.execute(
            "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER,"
            " version INTEGER, data TEXT)"
        )
        db.execute("INSERT INTO files VALUES ('pkg/m0.py', 1, 2, 4, '[]')")
        db.execute("PRAGMA user_version = 0")
    assert "cached_fn_0" in ok(indexed(cached_repo, "map"))
    index = build_index(cached_repo)
    assert index.parsed == 0 and "cached_fn_0" in index.definers()


@pytest.mark.parametrize("name", ["x" * 250, "line\nbreak", "caf\udce9"])
def test_a_repository_with_an_odd_folder_name_gets_its_cache(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    root.mkdir()
    (root / "a.py").write_text("def odd_folder(): pass\n")
    assert "odd_folder" in ok(indexed(root, "map"))
    cache = cache_path(root)
    assert cache.is_file() and cache.name.isascii() and "\n" not in cache.name
    assert build_index(root).parsed == 0


def test_a_file_that_crashes_the_parser_degrades_its_chunk_to_text(tmp_path: Path) -> None:
    """A worker that dies while parsing (tree-sitter crashing on some file, or the worker
    killed for memory) costs the files it had left their symbols, not the command: they are
    indexed as text in the parent, which never hands them to tree-sitter, and are not cached,
    so a later build parses them again. The crash is staged by a `sitecustomize` that makes
    parsing `crash_me.py` kill its process, as a segfault in the parser would."""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(320):  # enough files to be parsed in worker processes
        (root / f"mod_{i:03}.py").write_text(f"def function_number_{i}():\n    return {i}\n")
    (root / "crash_me.py").write_text("def never_listed_by_the_parser():\n    pass\n")
    git(root, "init", "-q")  # `locate` reads a repository (its files may all be untracked)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os\n"
        "from v4code.repomap import symbols\n"
        "real = symbols._parse_into\n"
        "def crashing(grammar, data, out):\n"
        "    if b'never_listed_by_the_parser' in data:\n"
        "        os._exit(139)\n"
        "    return real(grammar, data, out)\n"
        "symbols._parse_into = crashing\n"
    )
    done = v4code(
        root,
        "locate",
        "--json",
        "never listed by the parser",
        env={"PYTHONPATH": os.pathsep.join([str(hook), *sys.path])},
    )
    out = ok(done)
    assert '"crash_me.py"' in out  # found by its words, as text
    index = build_index(root)  # the same cache: the text-only entries were not kept
    assert index.parsed >= 1 and index.files["crash_me.py"].language == "python"


def test_text_only_files_are_not_cached_when_the_build_is_then_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a worker died, the rest is indexed as text only; a stop that comes during that
    must not cache those text-only entries as if they had been parsed."""
    from concurrent.futures.process import BrokenProcessPool

    from v4code.cancel import CancelToken
    from v4code.errors import Cancelled
    from v4code.repomap import index as repomap_index

    root = tmp_path / "few"
    root.mkdir()
    for i in range(4):
        (root / f"mod_{i}.py").write_text(f"def function_number_{i}():\n    return {i}\n")

    def broken(*_args: object) -> None:
        raise BrokenProcessPool("a worker died")

    cancel = CancelToken()
    real = repomap_index.index_file

    def then_stop(root_: str, path: str, *, parse: bool = True) -> object:
        cancel.cancel()  # the user stops the build while the first file is indexed
        return real(root_, path, parse=parse)

    with monkeypatch.context() as patch:
        patch.setattr(repomap_index, "PARALLEL_FROM", 1)
        patch.setattr(repomap_index, "MAX_WORKERS", 2)
        patch.setattr(repomap_index.os, "cpu_count", lambda: 2)
        patch.setattr(repomap_index, "_parse_parallel", broken)
        patch.setattr(repomap_index, "index_file", then_stop)
        with pytest.raises(Cancelled):
            build_index(root, cancel=cancel)
    index = build_index(root)
    assert index.parsed == 4
    assert all(sym.language == "python" and sym.definitions for sym in index.files.values())
