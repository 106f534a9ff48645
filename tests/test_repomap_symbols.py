"""Symbols from tree-sitter in five languages, text fallback, and the parse cache."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from conftest import git, make_repo

from v4code.repomap import api
from v4code.repomap.cache import cache_path
from v4code.repomap.index import build_index

SOURCES = {
    "shapes/geometry.py": '''"""Shapes."""
import math


class Circle:
    def __init__(self, radius: float) -> None:
        self.radius = radius

    def area(self) -> float:
        return math.pi * self.radius ** 2


def total_area(shapes: list[Circle]) -> float:
    return sum(s.area() for s in shapes)
''',
    "web/cart.js": """export class Cart {
  constructor() { this.items = []; }
  addItem(item) { this.items.push(item); }
}

export function cartTotal(cart) {
  return cart.items.length;
}

const formatPrice = (cents) => `$${cents / 100}`;
""",
    "web/api.ts": """export interface User {
  id: number;
  name: string;
}

export class UserService {
  find(id: number): User | undefined {
    return undefined;
  }
}

export type UserId = number;
""",
    "web/view.tsx": """export function Greeting(props: { name: string }) {
  return <div>Hello {props.name}</div>;
}
""",
    "server/handler.go": """package server

type Handler struct {
	name string
}

func (h *Handler) Serve(path string) string {
	return h.name + path
}

func NewHandler(name string) *Handler {
	return &Handler{name: name}
}
""",
    "core/src/lib.rs": """pub struct Parser {
    pos: usize,
}

impl Parser {
    pub fn advance(&mut self) -> usize {
        self.pos += 1;
        self.pos
    }
}

pub fn parse_all(p: &mut Parser) -> usize {
    p.advance()
}
""",
    "app/src/Main.java": """package app;

public class Main {
    private int count;

    public Main(int count) {
        this.count = count;
    }

    public int doubled() {
        return count * 2;
    }
}
""",
}


def defs_of(root: Path, path: str) -> dict[str, tuple[str, int, int, str]]:
    sym = build_index(root).files[path]
    return {d.name: (d.kind, d.line, d.end_line, d.parent) for d in sym.definitions}


@pytest.fixture
def repo(workspace: Path) -> Path:
    return make_repo(workspace, SOURCES)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "shapes/geometry.py",
            {
                "Circle": ("class", 5, 10, ""),
                "__init__": ("method", 6, 7, "Circle"),
                "area": ("method", 9, 10, "Circle"),
                "total_area": ("function", 13, 14, ""),
            },
        ),
        (
            "web/cart.js",
            {
                "Cart": ("class", 1, 4, ""),
                "addItem": ("method", 3, 3, "Cart"),
                "cartTotal": ("function", 6, 8, ""),
                "formatPrice": ("function", 10, 10, ""),
            },
        ),
        (
            "web/api.ts",
            {
                "User": ("class", 1, 4, ""),
                "UserService": ("class", 6, 10, ""),
                "find": ("method", 7, 9, "UserService"),
                "UserId": ("class", 12, 12, ""),
            },
        ),
        ("web/view.tsx", {"Greeting": ("function", 1, 3, "")}),
        (
            "server/handler.go",
            {
                "Handler": ("class", 3, 5, ""),
                "Serve": ("method", 7, 9, "Handler"),
                "NewHandler": ("function", 11, 13, ""),
            },
        ),
        (
            "core/src/lib.rs",
            {
                "Parser": ("class", 1, 3, ""),
                "advance": ("method", 6, 9, "Parser"),
                "parse_all": ("function", 12, 14, ""),
            },
        ),
        (
            "app/src/Main.java",
            {
                "Main": ("method", 6, 8, ""),
                "doubled": ("method", 10, 12, ""),
            },
        ),
    ],
)
def test_definitions_with_kinds_and_lines(
    repo: Path, path: str, expected: dict[str, object]
) -> None:
    found = defs_of(repo, path)
    for name, want in expected.items():
        assert found.get(name) == want, (name, found)


def test_java_class_and_signatures(repo: Path) -> None:
    sym = build_index(repo).files["app/src/Main.java"]
    kinds = [(d.name, d.kind, d.line) for d in sym.definitions]
    assert ("Main", "class", 3) in kinds
    assert any(d.signature == "public int doubled()" for d in sym.definitions)
    py = build_index(repo).files["shapes/geometry.py"]
    assert [d.signature for d in py.definitions if d.name == "area"] == ["def area(self) -> float"]


def test_references_with_lines(repo: Path) -> None:
    report = api.find_symbol(repo, "Circle")
    assert [str(h) for h in report.definitions] == ["shapes/geometry.py:5-10: class Circle"]
    assert [str(h) for h in report.references] == ["shapes/geometry.py:13"]
    go = api.find_symbol(repo, "NewHandler")
    assert [h.line for h in go.definitions] == [11]
    rust = api.find_symbol(repo, "advance", kind="method")
    assert [(h.path, h.line) for h in rust.definitions] == [("core/src/lib.rs", 6)]
    assert [(h.path, h.line) for h in rust.references] == [("core/src/lib.rs", 13)]
    assert api.find_symbol(repo, "advance", kind="class").definitions == []
    assert "No definition" in api.find_symbol(repo, "NoSuchName").format()


def test_dotted_name_narrows_to_the_class(repo: Path) -> None:
    report = api.find_symbol(repo, "Circle.area")
    assert [(h.path, h.line) for h in report.definitions] == [("shapes/geometry.py", 9)]
    assert api.find_symbol(repo, "Handler.area").definitions == []


def test_syntax_error_keeps_what_parses(workspace: Path) -> None:
    make_repo(
        workspace,
        {
            "broken.py": "def good(a):\n    return a\n\ndef bad(:\n    pass\n\nclass Fine:\n    pass\n"
        },
    )
    found = defs_of(workspace, "broken.py")
    assert found["good"][:2] == ("function", 1)
    assert found["Fine"][:2] == ("class", 7)
    assert "good" in api.outline(workspace, "broken.py")


def test_unknown_language_and_binary_files(workspace: Path) -> None:
    make_repo(workspace, {"notes/plan.txt": "refactor the invoice_total helper\n"})
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (workspace / "blob.dat2").write_bytes(b"\x00\x01\x02" * 100)
    index = build_index(workspace)
    assert index.files["notes/plan.txt"].language == "text"
    assert index.files["notes/plan.txt"].terms["invoice"] == 1
    assert "logo.png" not in index.files
    assert "blob.dat2" not in index.files


def test_empty_repo_and_empty_folder(workspace: Path, tmp_path: Path) -> None:
    (workspace / "README.md").unlink()
    assert api.locate(workspace, "anything at all") == []
    assert api.repo_map(workspace, None, 500) == ""
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert api.locate(empty, "fix the parser") == []
    assert api.find_symbol(empty, "x").definitions == []


def test_non_git_folder_is_walked_without_dependency_dirs(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "plain", {"pkg/mod.py": "def helper():\n    pass\n"}, commit=False)
    make_repo(root, {"node_modules/dep/index.js": "function helper() {}\n"}, commit=False)
    index = build_index(root)
    assert list(index.files) == ["pkg/mod.py"]
    assert [str(h) for h in api.find_symbol(root, "helper").definitions] == [
        "pkg/mod.py:1-2: def helper()"
    ]


def test_gitignored_files_are_skipped(workspace: Path) -> None:
    make_repo(workspace, {".gitignore": "build/\n", "src/app.py": "def run():\n    pass\n"})
    make_repo(workspace, {"build/gen.py": "def run():\n    pass\n"}, commit=False)
    assert "build/gen.py" not in build_index(workspace).files


def test_cache_is_reused_then_invalidated(repo: Path) -> None:
    first = build_index(repo)
    assert first.parsed == len(first.files) + 0 and first.reused == 0
    assert cache_path(repo).is_file()
    second = build_index(repo)
    assert (second.parsed, second.reused) == (0, len(first.files))
    assert second.files == first.files
    target = repo / "shapes" / "geometry.py"
    target.write_text(
        target.read_text() + "\n\ndef perimeter(c: Circle) -> float:\n    return 0.0\n"
    )
    third = build_index(repo)
    assert third.parsed == 1
    assert "perimeter" in {d.name for d in third.files["shapes/geometry.py"].definitions}
    (repo / "web" / "view.tsx").unlink()
    fourth = build_index(repo)
    assert fourth.parsed == 0 and "web/view.tsx" not in fourth.files
    with sqlite3.connect(cache_path(repo)) as db:
        rows = {r[0] for r in db.execute("SELECT path FROM files")}
    assert "web/view.tsx" not in rows and "shapes/geometry.py" in rows


def test_a_corrupt_cache_costs_only_a_reparse(repo: Path) -> None:
    build_index(repo)
    path = cache_path(repo)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            extra.unlink()
    path.write_bytes(b"not a database at all" * 100)
    again = build_index(repo)
    assert again.parsed == len(again.files) > 0


def test_a_changed_entry_version_is_ignored(repo: Path) -> None:
    build_index(repo)
    with sqlite3.connect(cache_path(repo)) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        db.execute(f"PRAGMA user_version = {version - 1}")
    assert build_index(repo).reused == 0


def test_progress_is_reported(repo: Path) -> None:
    seen: list[tuple[int, int]] = []
    build_index(repo, progress=lambda done, total: seen.append((done, total)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == len(build_index(repo).files)


def test_many_files_are_parsed_in_workers(workspace: Path) -> None:
    files = {f"pkg/m{i}.py": f"def function_{i}(x):\n    return helper(x)\n" for i in range(320)}
    make_repo(workspace, files)
    index = build_index(workspace)
    assert index.parsed == 321
    assert index.definitions("function_317")[0][0] == "pkg/m317.py"


def test_outline_lists_line_ranges_and_refuses_outside_paths(repo: Path) -> None:
    text = api.outline(repo, "shapes/geometry.py")
    assert text.splitlines() == [
        "shapes/geometry.py (15 lines, python)",
        "  5-10: class Circle",
        "    6-7: def __init__(self, radius: float) -> None",
        "    9-10: def area(self) -> float",
        "  13-14: def total_area(shapes: list[Circle]) -> float",
    ]
    from v4code.errors import WorkspaceError

    with pytest.raises(WorkspaceError):
        api.outline(repo, "../outside.py")
    with pytest.raises(WorkspaceError):
        api.outline(repo, "shapes")


def test_cache_lives_under_the_v4code_home(repo: Path, v4code_home: Path) -> None:
    build_index(repo)
    assert Path(os.path.commonpath([cache_path(repo), v4code_home])) == v4code_home


def test_symlinks_and_missing_roots_are_refused_or_skipped(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.py"
    secret.write_text("def private_outside_helper():\n    pass\n")
    make_repo(workspace, {"src/app.py": "def run():\n    pass\n"})
    (workspace / "src" / "link.py").symlink_to(secret)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "link")
    index = build_index(workspace)
    assert "src/link.py" not in index.files and "src/app.py" in index.files
    assert api.find_symbol(workspace, "private_outside_helper").definitions == []
    from v4code.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="not a directory"):
        api.locate(tmp_path / "missing", "anything")


def test_text_files_report_references(workspace: Path) -> None:
    make_repo(
        workspace, {"notes.txt": "call parse_all first\n", "lib.py": "def parse_all():\n    pass\n"}
    )
    report = api.find_symbol(workspace, "parse_all")
    assert [str(h) for h in report.references] == ["notes.txt:1"]
