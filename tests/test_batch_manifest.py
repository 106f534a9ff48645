"""The batch manifest as untrusted input, the planner's globs and targets, discovery parsing,
verify placeholders, and the run directory's state files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_harness import v4code

from v4code.errors import ConfigError
from v4code.globs import compile_glob
from v4code.jobs.discover import parse_proposals
from v4code.jobs.manifest import expand_task, read_manifest
from v4code.jobs.plan import plan_each, plan_targets
from v4code.jobs.report import cause, summary, to_markdown
from v4code.jobs.state import RunDir, UnitState
from v4code.jobs.unit import RunOptions, agent_argv
from v4code.jobs.verify import verify_command

BASE = "a" * 40


def unit_line(**changes: object) -> str:
    raw = {"id": "u1", "repo": "/tmp", "base": BASE, "paths": ["a.py"], "task": "t"}
    raw.update(changes)
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "jobs.jsonl:2: not valid JSON"),
        (unit_line(id="../x"), "id '../x' must be"),
        (unit_line(id="a b"), "id 'a b' must be"),
        (unit_line(base="HEAD"), "'base' must be a commit id"),
        (unit_line(paths=["../secret"]), "must be relative and stay inside"),
        (unit_line(paths=["/etc/passwd"]), "must be relative and stay inside"),
        (unit_line(task=""), "'task' must be a non-empty string"),
        (unit_line(paths="a.py"), "'paths' must be a list"),
        ("[1, 2]", "a unit must be a JSON object"),
        (unit_line(), "unit id 'u1' appears twice"),
    ],
)
def test_bad_manifest_lines_are_reported_by_line(tmp_path: Path, line: str, message: str) -> None:
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(unit_line() + "\n" + line + "\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_manifest(manifest)


def test_manifest_comments_blank_lines_and_unknown_keys(tmp_path: Path) -> None:
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("# reviewed\n\n" + unit_line(note="keep") + "\n")
    (unit,) = read_manifest(manifest)
    assert unit.id == "u1" and unit.paths == ("a.py",) and unit.extra == {"note": "keep"}
    manifest.write_text("# nothing left\n")
    with pytest.raises(ConfigError, match="lists no units"):
        read_manifest(manifest)


def test_globs() -> None:
    cases = {
        "src/**/*.py": (["src/a.py", "src/x/y/b.py"], ["a.py", "src/a.pyc", "lib/src/a.py"]),
        "*.py": (["a.py"], ["src/a.py"]),
        "pkg/[!_]*.py": (["pkg/mod.py"], ["pkg/__init__.py"]),
        "a?.txt": (["ab.txt"], ["a/.txt", "abc.txt"]),
    }
    for pattern, (yes, no) in cases.items():
        regex = compile_glob(pattern)
        assert all(regex.match(p) for p in yes), pattern
        assert not any(regex.match(p) for p in no), pattern


def test_placeholders() -> None:
    assert expand_task("Fix {path} ({paths})", ["a.py", "b.py"]) == "Fix a.py (a.py b.py)"


def _repo(root: Path) -> str:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(
            ["git", "-c", "user.name=D", "-c", "user.email=d@e", *args], cwd=root, check=True
        )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_plan_uses_the_base_commit_not_the_working_tree(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("")
    (tmp_path / "src" / "b.py").write_text("")
    base = _repo(tmp_path)
    (tmp_path / "src" / "untracked.py").write_text("")  # not committed: not planned
    units = plan_each([tmp_path], "src/*.py", "Fix {path}")
    assert [(u.id, u.paths, u.base) for u in units] == [
        ("src-a.py", ("src/a.py",), base),
        ("src-b.py", ("src/b.py",), base),
    ]
    (folder,) = plan_each([tmp_path], "src/*.py", "Fix {path}", per="dir")
    assert folder.paths == ("src/a.py", "src/b.py") and folder.task == "Fix src"
    with pytest.raises(ConfigError, match="not in the repository"):
        plan_targets([tmp_path], ["src/untracked.py"], "Fix {path}")
    with pytest.raises(ConfigError, match="no committed file matches"):
        plan_each([tmp_path], "*.rs", "t")
    # The one glob dialect: a pattern without a slash names files in any folder, as grep's.
    assert [u.paths for u in plan_each([tmp_path], "b.py", "t")] == [("src/b.py",)]


def test_discovery_answers_are_parsed_defensively() -> None:
    answer = (
        'sure\n{"paths": ["a.py", "b.py"], "reason": "uses x"}\n'
        '`{"path": "./c.py"}`\n{"paths": [1]}\n{"paths": "d.py", "reason": 5}\n[]\n{oops'
    )
    assert parse_proposals(answer) == [
        (["a.py", "b.py"], "uses x"),
        (["c.py"], ""),
        (["d.py"], ""),
    ]


def test_verify_placeholders_and_agent_flags(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "test_other.py").write_text("")
    command = verify_command(
        "pytest {tests} --x {paths}", tmp_path, ("pkg/mod.py", "pkg/other.py", "it's.txt")
    )
    assert command == (
        "pytest tests/test_mod.py pkg/test_other.py --x pkg/mod.py pkg/other.py 'it'\"'\"'s.txt'"
    )
    # Filled in one pass: a name holding a placeholder is not filled again, and stays one word.
    hostile = "tests/test_{paths}$(sh${IFS}x.sh).py"
    (tmp_path / hostile).write_text("")
    command = verify_command("run {tests} -- {paths}", tmp_path, (hostile, "-k.py", "a{tests}b"))
    assert command == (
        "run 'tests/test_{paths}$(sh${IFS}x.sh).py' -- 'tests/test_{paths}$(sh${IFS}x.sh).py'"
        " ./-k.py 'a{tests}b'"
    )
    assert expand_task("Fix {paths} ({path}).", ["a{path}.py", "b.py"]) == (
        "Fix a{path}.py b.py (a{path}.py)."
    )
    argv = agent_argv(tmp_path, "-rm everything", RunOptions(max_cost_per_unit=0.5, max_steps=3))
    assert argv[-2:] == ["--", "-rm everything"]  # a task is never read as a flag
    assert argv[argv.index("--max-cost") + 1] == "0.5" and "--max-steps" in argv


def test_state_files_and_report(tmp_path: Path) -> None:
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(unit_line() + "\n" + unit_line(id="u2") + "\n")
    run_dir = RunDir(tmp_path / "run")
    run_dir.create("r1", read_manifest(manifest), RunOptions().to_dict())
    with pytest.raises(ConfigError, match="already holds a run"):
        run_dir.create("r1", read_manifest(manifest), {})
    run_dir.save(UnitState("u1", status="green", cost_usd=0.02, duration_s=3.0,
                           prompt_tokens=1000, cache_hit_tokens=900))  # fmt: skip
    run_dir.save(UnitState("u2", status="red", reason="verify failed (exit 2)", cost_usd=0.01))
    (run_dir.unit_dir("u2") / "state.json").write_text("{torn")  # a damaged file: pending
    assert [s.status for s in run_dir.states()] == ["green", "pending"]
    run_dir.save(UnitState("u2", status="red", reason="verify failed (exit 2)", cost_usd=0.01))
    data = summary(run_dir)
    assert data["counts"]["green"] == 1 and data["counts"]["red"] == 1
    assert data["tokens"]["cache_hit_share"] == 0.9 and data["cost_usd"] == 0.03
    assert data["failures"] == {"verify failed (exit N)": ["u2"]}
    assert "| u2 | red |" in to_markdown(data)
    assert cause("agent limit: cost limit reached ($0.51 of $0.50)") == "agent limit"
    assert not list(run_dir.path.rglob("*.v4code-tmp"))


def test_one_unit_is_counted_as_one_unit(tmp_path: Path) -> None:
    """`batch plan` of one file says `1 unit written`, and the report `1 unit: ...`."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("")
    _repo(repo)
    done = v4code(repo, "batch", "plan", "Fix {path}", "--each", "src/*.py", "-o", "jobs.jsonl")
    assert done.returncode == 0, done.stderr
    assert "1 unit written" in done.stdout + done.stderr
    run_dir = RunDir(tmp_path / "run")
    run_dir.create("r1", read_manifest(repo / "jobs.jsonl"), RunOptions().to_dict())
    run_dir.save(UnitState("src-a.py", status="green", cost_usd=0.01))
    assert "\n1 unit: 1 green, 0 red" in to_markdown(summary(run_dir))
