"""grep: the same answers from ripgrep, git grep and the Python fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import program_on_path
from tool_harness import run_tool

from v4code import assets
from v4code.cancel import CancelToken
from v4code.errors import Cancelled, ToolError, WorkspaceError
from v4code.repo import search as search_mod
from v4code.repo.search import InvalidPattern, SearchError, search
from v4code.toolkit import ToolRegistry

needs_rg = pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep is not installed")
BACKENDS = [pytest.param("rg", marks=needs_rg), "git", "python"]


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    return ToolRegistry.load([assets.tools_dir()])


def write(root: Path, name: str, text: str | bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


@pytest.fixture
def project(workspace: Path) -> Path:
    write(workspace, "src/app.py", "import os\n\ndef main():\n    return Handler()\n")
    write(
        workspace, "src/handlers.py", "class Handler:\n    pass\n\ndef make_handler():\n    ...\n"
    )
    write(workspace, "docs/usage.md", "Call main() to start.\nThe handler is created.\n")
    write(workspace, ".github/ci.yml", "run: main\n")
    write(workspace, "build/gen.py", "def main(): generated\n")
    write(workspace, "logo.bin", b"main\x00\x01\x02 binary main\n")
    write(workspace, ".gitignore", "build/\n")
    subprocess.run(["git", "add", "-A"], cwd=workspace, check=True)
    subprocess.run(["git", "commit", "-qm", "code"], cwd=workspace, check=True)
    write(workspace, "src/untracked.py", "main = 1\n")  # untracked but not ignored
    return workspace


@pytest.fixture
def only_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make PATH contain only the named programs (to force a fallback for real)."""

    def restrict(*programs: str) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name in programs:
            found = shutil.which(name)
            assert found, name
            (bin_dir / name).symlink_to(found)
        monkeypatch.setenv("PATH", str(bin_dir))

    return restrict


def test_loading_never_creates_a_top_level_tools_module(registry: ToolRegistry) -> None:
    assert "grep" in registry.names()
    assert "tools" not in sys.modules


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree(project: Path, backend: str) -> None:
    result = search(project, r"\bmain\b", backend=backend)
    assert result.backend == backend
    assert [str(m) for m in result.matches] == [
        ".github/ci.yml:1:run: main",
        "docs/usage.md:1:Call main() to start.",
        "src/app.py:3:def main():",
        "src/untracked.py:1:main = 1",
    ]
    assert result.total == 4 and result.complete


@pytest.mark.parametrize("backend", BACKENDS)
def test_ignore_case_glob_and_path(project: Path, backend: str) -> None:
    hits = search(project, "handler", ignore_case=True, glob="*.py", backend=backend)
    assert [str(m) for m in hits.matches] == [
        "src/app.py:4:    return Handler()",
        "src/handlers.py:1:class Handler:",
        "src/handlers.py:4:def make_handler():",
    ]
    slash_glob = search(project, "main", glob="src/**/*.py", backend=backend)
    assert {m.path for m in slash_glob.matches} == {"src/app.py", "src/untracked.py"}
    under = search(project, "handler", under=project / "docs", backend=backend)
    assert [str(m) for m in under.matches] == ["docs/usage.md:2:The handler is created."]
    one_file = search(project, "def", under=project / "src/handlers.py", backend=backend)
    assert [m.line for m in one_file.matches] == [4]


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_regex_reports_the_engine_error(project: Path, backend: str) -> None:
    with pytest.raises(InvalidPattern, match=r"Invalid regular expression 'main\('"):
        search(project, "main(", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pattern_starting_with_a_dash(project: Path, backend: str) -> None:
    write(project, "flags.txt", "use --verbose here\n")
    assert [str(m) for m in search(project, "--verbose", backend=backend).matches] == [
        "flags.txt:1:use --verbose here"
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_stops_the_search(project: Path, backend: str) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        search(project, "main", backend=backend, cancel=token)


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_lines_are_clipped(project: Path, backend: str) -> None:
    write(project, "min.js", "var a=1;" * 1000 + "needle\n")
    (match,) = search(project, "needle", backend=backend).matches
    assert match.text.endswith("… [line cut at 500 of 8,006 characters]")


def test_tool_output_and_data(project: Path) -> None:
    out = run_tool("grep", project, pattern="class Handler")
    assert out.text == "src/handlers.py:1:class Handler:"
    assert out.data["matches"] == 1
    assert not out.is_error


def test_no_match_is_not_an_error(project: Path) -> None:
    out = run_tool("grep", project, pattern="nothing_like_this", glob="*.py")
    assert (
        out.text == "No matches for 'nothing_like_this' in the workspace in files matching '*.py'."
    )
    assert out.data["matches"] == 0
    assert not out.is_error


def test_invalid_regex_is_a_tool_error(project: Path) -> None:
    with pytest.raises(ToolError, match="Invalid regular expression"):
        run_tool("grep", project, pattern="[unclosed")
    with pytest.raises(ToolError, match="The pattern is empty"):
        run_tool("grep", project, pattern="")


# A Latin-1 file: ripgrep's PCRE2 engine (look-around, backreferences, escapes such as `\ `
# that its default engine rejects) stops matching in it at the first byte that is not UTF-8.
LATIN1 = 'caf\xe9 = "price 10"\nfoo bar\n'.encode("latin-1")
MIXED = b"foo bar one\n" + "d\xe9j\xe0\n".encode("latin-1") + b"foo bar three\n"


@pytest.fixture
def latin1(project: Path) -> Path:
    write(project, "legacy/latin.txt", LATIN1)
    write(project, "legacy/mixed.txt", MIXED)
    write(project, "notes.txt", "foo bar\nprice 20\nabab\n")
    return project


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            r"(?<=foo )bar",
            [
                "legacy/latin.txt:2:foo bar",
                "legacy/mixed.txt:1:foo bar one",
                "legacy/mixed.txt:3:foo bar three",
                "notes.txt:1:foo bar",
            ],
        ),
        (r"foo\ bar\ t", ["legacy/mixed.txt:3:foo bar three"]),
        (r"price\ \d+", ['legacy/latin.txt:1:caf\ufffd = "price 10"', "notes.txt:2:price 20"]),
        (r'= "(?=price)', ['legacy/latin.txt:1:caf\ufffd = "price 10"']),
        (r"(ab)\1", ["notes.txt:3:abab"]),
        (r"\d+", ['legacy/latin.txt:1:caf\ufffd = "price 10"', "notes.txt:2:price 20"]),
    ],
)
def test_files_that_are_not_utf8_are_searched(
    latin1: Path, backend: str, pattern: str, expected: list[str]
) -> None:
    result = search(latin1, pattern, under=latin1 / "notes.txt", backend=backend)
    assert {m.path for m in result.matches} <= {"notes.txt"}
    result = search(latin1, pattern, glob="*.txt", backend=backend)
    assert [str(m) for m in result.matches] == expected
    assert result.complete


def test_grep_tool_finds_matches_only_a_latin1_file_has(latin1: Path) -> None:
    """The pattern needs PCRE2 and only the Latin-1 file matches: once reported as an
    invalid regular expression (ripgrep exits with an error and no match)."""
    out = run_tool("grep", latin1, pattern=r'= "(?=price)')
    assert out.text == 'legacy/latin.txt:1:caf\ufffd = "price 10"'
    assert not out.is_error
    out = run_tool("grep", latin1, pattern=r"(?<=foo )bar", path="legacy")
    assert out.text.splitlines() == [
        "legacy/latin.txt:2:foo bar",
        "legacy/mixed.txt:1:foo bar one",
        "legacy/mixed.txt:3:foo bar three",
    ]
    out = run_tool("grep", latin1, pattern=r"(?<=nothing )here")
    assert out.text == "No matches for '(?<=nothing )here' in the workspace."


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a\0b", "contains a NUL character"),
        ("def f():\n    pass", "contains a line break, but grep matches one line at a time"),
        ("(?<=a+)b", "Invalid regular expression"),
        ("x" * 5000 + "(", r"'…? \(5,001 characters\): "),
    ],
    ids=["nul", "line-break", "variable-look-behind", "huge"],
)
def test_bad_patterns_get_a_message(latin1: Path, backend: str, pattern: str, message: str) -> None:
    with pytest.raises(InvalidPattern, match=message) as caught:
        search(latin1, pattern, backend=backend)
    assert len(str(caught.value)) < 3000


@pytest.mark.parametrize("pattern", ["a\0b", "one\ntwo", "(?<=a+)b", "[z-a]", "\\"])
def test_grep_tool_reports_a_bad_pattern_as_a_tool_error(latin1: Path, pattern: str) -> None:
    with pytest.raises(ToolError) as caught:
        run_tool("grep", latin1, pattern=pattern)
    assert "Traceback" not in str(caught.value)
    assert str(caught.value).startswith(("Invalid regular expression", "The pattern"))


def test_matches_are_capped(project: Path) -> None:
    write(project, "many.txt", "".join(f"hit {i}\n" for i in range(250)))
    out = run_tool("grep", project, pattern="^hit", path="many.txt")
    lines = out.text.splitlines()
    assert len(lines) == 201
    assert lines[0] == "many.txt:1:hit 0"
    assert lines[199] == "many.txt:200:hit 199"
    assert lines[200].startswith("... 50 more matches (showing the first 200)")
    assert out.data["matches"] == 250


def test_falls_back_to_git_grep_without_rg(project: Path, only_on_path) -> None:
    only_on_path("git")
    out = run_tool("grep", project, pattern=r"def \w+\(", glob="*.py")
    assert out.data["backend"] == "git"
    assert out.text.splitlines() == [
        "src/app.py:3:def main():",
        "src/handlers.py:4:def make_handler():",
    ]


def test_falls_back_to_python_without_rg_or_git(project: Path, only_on_path) -> None:
    only_on_path()
    out = run_tool("grep", project, pattern=r"def \w+\(", glob="*.py")
    assert out.data["backend"] == "python"
    # Without git the .gitignore cannot be read: build/ is searched too.
    assert out.text.splitlines() == [
        "build/gen.py:1:def main(): generated",
        "src/app.py:3:def main():",
        "src/handlers.py:4:def make_handler():",
    ]


def test_python_fallback_outside_git(tmp_path: Path, only_on_path) -> None:
    write(tmp_path, "a.py", "needle\n")
    write(tmp_path, "node_modules/x/index.js", "needle\n")
    write(tmp_path, "blob.bin", b"needle\x00\n")
    (tmp_path / "outside").mkdir()
    write(tmp_path / "outside", "secret.txt", "needle\n")
    root = tmp_path / "ws"
    root.mkdir()
    write(root, "a.py", "needle\n")
    write(root, "node_modules/x/index.js", "needle\n")
    write(root, "blob.bin", b"needle\x00\n")
    (root / "escape").symlink_to(tmp_path / "outside")
    (root / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    only_on_path("git")
    out = run_tool("grep", root, pattern="needle")
    assert out.data["backend"] == "python"
    assert out.text == "a.py:1:needle"


@pytest.mark.parametrize("path", ["..", "/etc", "../project/../.."])
def test_outside_the_workspace_is_refused(project: Path, path: str) -> None:
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        run_tool("grep", project, pattern="root", path=path)


def test_git_without_pcre_uses_extended_regexes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_mod, "_GIT_PCRE", {search_mod.git.find_git() or "git": False})
    hits = search(project, "class [A-Z][a-z]+", backend="git")
    assert [str(m) for m in hits.matches] == ["src/handlers.py:1:class Handler:"]


def test_count_cap_reports_a_lower_bound(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_mod, "COUNT_CAP", 300)
    write(project, "many.txt", "".join(f"hit {i}\n" for i in range(1000)))
    out = run_tool("grep", project, pattern="^hit")
    assert out.data == {"matches": 300, "complete": False, "backend": out.data["backend"]}
    assert out.text.splitlines()[-1].startswith("... at least 100 more matches")


def test_environment_untouched(project: Path) -> None:
    before = dict(os.environ)
    search(project, "main")
    assert dict(os.environ) == before


@pytest.fixture
def stuck_rg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `rg` that never answers (and has a child holding its output open)."""
    script = '#!/bin/sh\n[ "$1" = --help ] && exit 0\nsleep 30\n'
    return program_on_path(monkeypatch, tmp_path / "stuck-bin", "rg", script)


def test_cancel_during_a_slow_search(project: Path, stuck_rg: Path) -> None:
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        search(project, "main", backend="rg", cancel=token)
    assert time.monotonic() - started < 5


def test_slow_search_times_out(project: Path, stuck_rg: Path) -> None:
    started = time.monotonic()
    with pytest.raises(SearchError, match="did not finish in time; narrow it"):
        search(project, "main", backend="rg", timeout=0.5)
    assert time.monotonic() - started < 5
