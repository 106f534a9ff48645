"""The README is a test: every example in it runs as written, and the set-up block works as
pasted on a stock Python.

Each shell or YAML block (see readme_examples for what counts as an example and for the skip
markers, `<!-- readme-test: skip REASON -->` before a block, or ``skip `PREFIX` REASON`` for
some of its commands) runs line by line in a fresh scratch repository, against the fake
DeepSeek server answering from a script per command. The only differences from what a user
pastes are in the "substitutions" section below: the environment (`environment`), the
placeholders the README names (`PLACEHOLDERS`, one line each) and, for the set-up block only,
`SUITE_IN_SUITE` and `PIP_CACHE`. What each command must do is in EXPECT (what a block needs
first, a staged change say, in PREPARE); a command with neither an entry there nor a skip
marker fails `test_every_example_runs_or_says_why_not`, which prints how many run and how many
are skipped, and why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from fake_api import FakeDeepSeek, step, text, tool_call, tool_calls
from readme_examples import Block, Example, Shell, blocks, clean_environ

ROOT = Path(__file__).resolve().parents[1]
# The documents the package ships (pyproject's `readme`; prompts/ speak to the model, not users).
DOCS = ("README.md",)
TEST_KEY = "sk-readme-test-0123456789"

Check = Callable[["Scratch", subprocess.CompletedProcess[str]], None]


@dataclass
class Scratch:
    """One block's world: the scratch repository, the scratch HOME and the fake server."""

    root: Path
    home: Path
    server: FakeDeepSeek

    def newest(self, pattern: str, *below: Path) -> Path:
        found = [p for where in below for p in where.rglob(pattern)]
        assert found, f"nothing matches {pattern} below {below}"
        return max(found, key=lambda p: p.stat().st_mtime_ns)

    def session_id(self) -> str:
        return self.newest("*.jsonl", self.home / ".config" / "v4code" / "sessions").stem

    def run_dir(self) -> str:
        return str(self.newest("run.json", self.home, self.root).parent)


# ---------------------------------------------------------------- substitutions: all of them


def environment(scratch: Scratch) -> dict[str, str]:
    """The user's environment: nothing of the test runner's v4code settings (no V4CODE_HOME:
    the default home, ~/.config/v4code, is what runs), HOME a scratch folder, the fake server
    and a test key, and this checkout's venv first on PATH (an activated venv, as the set-up
    block leaves it)."""
    env = clean_environ()
    env["HOME"] = str(scratch.home)
    env["DEEPSEEK_BASE_URL"] = scratch.server.base_url
    env["DEEPSEEK_API_KEY"] = TEST_KEY
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


PLACEHOLDERS: dict[str, Callable[[Scratch], str]] = {
    "sk-...": lambda s: TEST_KEY,  # the key in the set-up block
    "SESSION_ID": lambda s: s.session_id(),  # an ID from `v4code sessions`
    "RUN_DIR": lambda s: s.run_dir(),  # the folder `batch run` names
    "http://127.0.0.1:8000/v1": lambda s: f"{s.server.base_url}/v1",  # a local engine
}


# The set-up block's test command, run inside the suite, only collects the suite (running it
# inside itself would never end); .ci/run runs it whole.
SUITE_IN_SUITE = " --collect-only"
# The set-up block's pip may use the user's pip cache (HOME is a scratch folder).
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or os.path.expanduser("~/.cache/pip")


def substitute(text_: str, scratch: Scratch) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        if placeholder in text_:
            text_ = text_.replace(placeholder, value(scratch))
    return text_


# ---------------------------------------------------------------- the scratch repository

CLI = (
    "import argparse\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n"
    '    parser.add_argument("name")\n    args = parser.parse_args()\n'
    '    print(f"hello {args.name}")\n'
)
FILES = {
    "pyproject.toml": '[project]\nname = "demo"\nversion = "0.1"\n\n'
    '[project.optional-dependencies]\ntest = ["pytest"]\n',
    "README.md": "# demo\n\nGreets people and totals invoices. See `Foo`.\n",
    "calc.py": "def add(a, b):\n    return a - b\n",
    "cli.py": CLI,
    "src/app.py": 'def greet(name):\n    return f"Hello, {name}"\n',
    "src/models.py": "class Foo:\n    name = 'foo'\n",
    "src/api/users.py": "def fetch_user(uid):\n    import requests\n\n"
    '    return requests.get(f"https://example.com/users/{uid}").json()\n',
    "src/invoice.py": "class Invoice:\n    def __init__(self, lines):\n        self.lines = lines\n\n"
    '    def total(self):\n        return sum(line["amount"] for line in self.lines)\n',
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/test_app.py": 'from src.app import greet\n\n\ndef test_greet():\n    assert greet("x")\n',
    "tests/test_users.py": "import src.api.users\n\n\ndef test_imports():\n    assert src.api.users\n",
    "tests/test_models.py": "import src.models\n\n\ndef test_imports():\n    assert src.models\n",
    "tests/test_invoice.py": "from src.invoice import Invoice\n\n\ndef test_total():\n"
    '    assert Invoice([{"amount": 2}]).total() == 2\n',
}


def scratch_repo(root: Path) -> Path:
    """A small Python package with a failing test (calc), as cloned: two commits on main
    (origin/main too), and a branch `feature` one commit further; `../other-repo` beside it."""
    for rel, content in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "A demo package")
    (root / "src/app.py").write_text(FILES["src/app.py"] + '\n\ndef bye():\n    return "Bye"\n')
    git(root, "commit", "-qam", "Say goodbye")
    git(root, "update-ref", "refs/remotes/origin/main", "main")
    git(root, "switch", "-qc", "feature")
    invoice = FILES["src/invoice.py"].replace('line["amount"]', 'line.get("amount", 0)')
    (root / "src/invoice.py").write_text(invoice)
    git(root, "commit", "-qam", "Invoice.total: a line with no amount counts as 0")
    other = root.parent / "other-repo"
    other.mkdir()
    (other / "notes.py").write_text("def note(text):\n    return text.strip()\n")
    git(other, "init", "-q")
    git(other, "add", "-A")
    git(other, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "n")
    return root


def stage_a_change(scratch: Scratch) -> None:
    """A change in the index and one more in the working tree, for the examples that review
    the staged diff and uncommitted changes; one staged in ../other-repo too."""
    path = scratch.root / "src/app.py"
    path.write_text(path.read_text() + "\n\ndef shout(name):\n    return greet(name).upper()\n")
    git(scratch.root, "add", "src/app.py")
    other = scratch.root.parent / "other-repo"
    (other / "notes.py").write_text("def note(text):\n    return text\n")
    git(other, "add", "notes.py")
    path.write_text(path.read_text() + "\n\ndef whisper(name):\n    return greet(name).lower()\n")


PING = 'def ping():\n    import requests\n\n    return requests.get("https://example.com/").ok\n'


def every_module_calls_requests(scratch: Scratch) -> None:
    """Each module under src/ calls requests.get, so each unit of the batch example has
    something to change."""
    for path in sorted((scratch.root / "src").rglob("*.py")):
        if "requests.get" not in path.read_text():
            path.write_text(path.read_text() + "\n\n" + PING)
    git(scratch.root, "commit", "-qam", "Ping the server")


def local_profile(scratch: Scratch) -> None:
    """The README's `[profiles.local]` table in the user's config.toml, as `engine serve`
    writes it (serve itself needs an engine)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("[profiles.local]")
    table = readme[start : readme.index("```", start)]
    config = scratch.home / ".config" / "v4code" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(substitute(table, scratch))


# ---------------------------------------------------------------- what each example does


@dataclass(frozen=True)
class Expect:
    """A command's run: the model's answers (`steps`, or per batch unit `routes`), the exit
    code, lines it prints (stdout or stderr) and what a user then finds (`check`)."""

    steps: Sequence[Mapping[str, Any]] = ()
    routes: Callable[[Scratch], Mapping[str, Sequence[Mapping[str, Any]]]] | None = None
    code: int = 0
    says: tuple[str, ...] = ()
    check: Check | None = None
    server: Mapping[str, Any] = field(default_factory=dict)  # a local engine's behaviour
    refused: int = 0  # requests the server must refuse (the probe tries a wrong model name)


def has(rel: str, *texts: str) -> Check:
    def check(scratch: Scratch, _: subprocess.CompletedProcess[str]) -> None:
        content = (scratch.root / rel).read_text()
        for wanted in texts:
            assert wanted in content, f"{rel} lacks {wanted!r}:\n{content}"

    return check


def gone(rel: str) -> Check:
    def check(scratch: Scratch, _: subprocess.CompletedProcess[str]) -> None:
        assert not (scratch.root / rel).exists(), f"{rel} is still there"

    return check


def stdout_json(test: Callable[[Any], bool]) -> Check:
    def check(scratch: Scratch, done: subprocess.CompletedProcess[str]) -> None:
        assert test(json.loads(done.stdout)), done.stdout

    return check


def file_json(rel: str, test: Callable[[Any], bool]) -> Check:
    def check(scratch: Scratch, _: subprocess.CompletedProcess[str]) -> None:
        assert test(json.loads((scratch.root / rel).read_text())), (scratch.root / rel).read_text()

    return check


def user_config(*texts: str, absent: bool = False) -> Check:
    def check(scratch: Scratch, _: subprocess.CompletedProcess[str]) -> None:
        content = (scratch.home / ".config" / "v4code" / "config.toml").read_text()
        for wanted in texts:
            assert (wanted not in content) if absent else (wanted in content), content

    return check


def on_branch(branch: str, rel: str, wanted: str) -> Check:
    def check(scratch: Scratch, _: subprocess.CompletedProcess[str]) -> None:
        assert wanted in git(scratch.root, "show", f"{branch}:{rel}")

    return check


def edit(path: str, old: str, new: str) -> dict[str, Any]:
    return tool_call("edit_file", path=path, old_string=old, new_string=new)


NO_FINDINGS = [tool_call("report_findings", findings=[])]
MINOR = {
    "path": "src/invoice.py",
    "line": 6,
    "severity": "minor",
    "category": "bug",
    "message": "A missing amount hides bad data.",
    "suggestion": "Reject a line with no amount.",
}
VERBOSE = edit(
    "cli.py",
    '    parser.add_argument("name")\n',
    '    parser.add_argument("name")\n    parser.add_argument("--verbose", action="store_true")\n',
)
PROBE = [  # engine probe: thinking on, thinking off, a tool call, its answer, a wrong model name
    text("It works.", reasoning="I think.", thinking_only=True),
    text("It works.", reasoning="I think.", thinking_only=True),
    tool_call("probe_echo", reasoning="call it", text="ok"),
    text("Done."),
    text("Any model."),
]
PLAN_STEPS = [  # plan mode: read, keep the list, propose
    tool_call("read_file", path="calc.py"),
    tool_call("update_plan", items=[{"step": "Make add return a + b", "status": "pending"}]),
    tool_call(
        "propose_plan",
        steps=["Make add return a + b"],
        files=["calc.py"],
        checks=["python -m pytest -q"],
        summary="add subtracts.",
    ),
]
LOCAL_ENGINE = {"dialect": "vllm", "require_auth": False}


def batch_units(scratch: Scratch) -> dict[str, list[dict[str, Any]]]:
    """Each planned unit's agent: replaces requests.get (and its import) in its file."""
    routes: dict[str, list[dict[str, Any]]] = {}
    for line in (scratch.root / "jobs.jsonl").read_text().splitlines():
        path = json.loads(line)["paths"][0]
        routes[path] = [
            tool_calls(
                [
                    (
                        "edit_file",
                        {
                            "path": path,
                            "old_string": "requests.get",
                            "new_string": "http_client.get",
                        },
                    ),
                    (
                        "edit_file",
                        {
                            "path": path,
                            "old_string": "import requests",
                            "new_string": "import http_client",
                        },
                    ),
                ]
            ),
            text(f"Replaced requests.get in {path}."),
        ]
    return routes


EXPECT: dict[str, Expect] = {
    # The Python API
    "python: import v4code": Expect(
        [edit("calc.py", "return a - b", "return a + b"), text("Fixed add in calc.py.")],
        says=("asked: edit_file", "+    return a + b", "done: edit_file", "done 0 ['calc.py']"),
        check=has("calc.py", "return a + b"),
    ),
    # The set-up block (test_setup_block_works_as_pasted)
    'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]"': Expect(),
    'export DEEPSEEK_API_KEY=sk-... && v4code run "fix the failing test"': Expect(
        [text("No test fails here.")], says=("No test fails here.",)
    ),
    "python -m pytest": Expect(says=("tests collected",)),
    # Diagnostics after edits
    "v4code lsp status": Expect(
        says=("python     basedpyright-langserver --stdio (default)", "go         gopls (default)")
    ),
    # `v4code run`
    'v4code run "add a --verbose flag to cli.py and make the tests pass"': Expect(
        [
            tool_call("read_file", path="cli.py"),
            VERBOSE,
            edit("calc.py", "return a - b", "return a + b"),
            tool_call("run_command", command="python -m pytest -q -p no:cacheprovider"),
            text("Added --verbose to cli.py; the tests pass."),
        ],
        says=("Added --verbose to cli.py; the tests pass.",),
        check=has("cli.py", '"--verbose"'),
    ),
    'v4code run --output json "rename Foo to Bar everywhere" > result.json': Expect(
        [edit("src/models.py", "class Foo", "class Bar"), text("Renamed Foo to Bar.")],
        check=file_json(
            "result.json", lambda r: r["status"] == "done" and "src/models.py" in r["files_changed"]
        ),
    ),
    'echo "explain src/app.py" | v4code run --permission-mode read-only -': Expect(
        [tool_call("read_file", path="src/app.py"), text("src/app.py greets and says goodbye.")],
        says=("src/app.py greets and says goodbye.",),
    ),
    'v4code run --resume SESSION_ID "now update the changelog"': Expect(
        [
            step(
                tool_calls=[
                    {
                        "name": "write_file",
                        "arguments": {"path": "CHANGELOG.md", "content": "- Foo is Bar.\n"},
                    }
                ]
            ),
            text("CHANGELOG.md says Foo is now Bar."),
        ],
        says=("CHANGELOG.md says Foo is now Bar.",),
        check=has("CHANGELOG.md", "Foo is Bar."),
    ),
    'v4code -c -p "and the docs too"': Expect(
        [edit("README.md", "See `Foo`.", "See `Bar`."), text("README.md names Bar.")],
        says=("README.md names Bar.",),
        check=has("README.md", "See `Bar`."),
    ),
    # Model roles and `auto`
    'v4code run --model auto --max-cost 0.50 "make add() in calc.py add; it is stuck"': Expect(
        [
            tool_call("escalate", reason="the user says it is stuck"),
            edit("calc.py", "return a - b", "return a + b"),
            text("add() adds now."),
        ],
        says=("⇄ escalated: deepseek-flash → deepseek-v4-pro", "add() adds now."),
        check=has("calc.py", "return a + b"),
    ),
    # Plan mode and the todo list
    'v4code run --plan "make add() in calc.py add instead of subtract"': Expect(
        PLAN_STEPS, says=("1. Make add return a + b",), check=has("calc.py", "return a - b")
    ),
    'v4code run --plan -o json "make add() in calc.py add" > plan.json': Expect(
        PLAN_STEPS,
        check=file_json("plan.json", lambda r: r["plan"]["files"] == ["calc.py"]),
    ),
    'v4code run --plan --execute --permission-mode auto-edit "make add() in calc.py add"': Expect(
        [
            *PLAN_STEPS,
            edit("calc.py", "return a - b", "return a + b"),
            tool_call("update_plan", items=[{"step": "Make add return a + b", "status": "done"}]),
            text("add() adds now."),
        ],
        says=("add() adds now.",),
        check=has("calc.py", "return a + b"),
    ),
    # Sub-agents: the parent hands the brief to the README's `fixer`, which edits calc.py
    'v4code run -o json --permission-mode auto-edit "have the fixer make add() in calc.py add" '
    "> result.json": Expect(
        [
            tool_call("task", brief="FIXER-BRIEF: make add() in calc.py add.", agent="fixer"),
            text("The fixer made add() add."),
        ],
        routes=lambda _: {
            "FIXER-BRIEF": [
                edit("calc.py", "return a - b", "return a + b"),
                text("calc.py: add() returns a + b."),
            ]
        },
        check=file_json(
            "result.json",
            lambda r: r["subagents"][0]["name"] == "fixer" and r["files_changed"] == ["calc.py"],
        ),
    ),
    # Reading a repository
    'v4code locate "TypeError in Invoice.total when a line has no amount"': Expect(
        says=("src/invoice.py",)
    ),
    "git log -1 --format=%B | v4code locate --json --top 5 -": Expect(
        check=stdout_json(lambda r: r["files"][0]["path"] == "src/invoice.py")
    ),
    'v4code map --focus "invoice totals" --tokens 1500': Expect(says=("src/invoice.py", "total")),
    "v4code map -C ../other-repo": Expect(says=("notes.py",)),
    # `v4code review` and the hook (a staged change, a branch one commit past main)
    "v4code review": Expect(NO_FINDINGS),
    "v4code review --base main": Expect(
        [tool_call("report_findings", findings=[MINOR])], says=("A missing amount hides bad data",)
    ),
    "v4code review --commit HEAD~1": Expect(NO_FINDINGS),
    "v4code review src/app.py": Expect(NO_FINDINGS),
    # The staged diff again: the first review's result, from the cache, with no request.
    "v4code review --format sarif > review.sarif": Expect(
        check=file_json("review.sarif", lambda r: r["runs"][0]["results"] == [])
    ),
    "v4code review -C ../other-repo": Expect(NO_FINDINGS),
    "v4code hook install": Expect(check=has(".git/hooks/pre-commit", "v4code")),
    "v4code hook uninstall": Expect(check=gone(".git/hooks/pre-commit")),
    # MCP servers
    "v4code mcp add github --env 'GITHUB_TOKEN=${GITHUB_TOKEN}' -- npx -y "
    "@modelcontextprotocol/server-github": Expect(
        check=user_config("[mcp.servers.github]", "${GITHUB_TOKEN}")
    ),
    "v4code mcp allow github 'get_*'": Expect(
        says=("now allows github__get_*",), check=user_config('"github__get_*"')
    ),
    "v4code mcp remove github": Expect(check=user_config("github", absent=True)),
    # Refactor jobs
    'v4code batch plan "Replace requests.get with http_client.get in {path}; keep behaviour" '
    "--each 'src/**/*.py' -o jobs.jsonl": Expect(check=has("jobs.jsonl", "src/api/users.py")),
    "cat jobs.jsonl": Expect(says=('"paths": ["src/api/users.py"]',)),
    "v4code batch run jobs.jsonl -j 4 --verify 'python -m pytest -q {tests}' "
    "--max-cost-per-unit 0.20": Expect(
        routes=batch_units, check=has("src/api/users.py", "requests.get")
    ),
    "v4code batch status RUN_DIR": Expect(says=("green",)),
    "v4code batch report RUN_DIR --format md > report.md": Expect(check=has("report.md", "green")),
    "v4code batch retry RUN_DIR --only red": Expect(),
    "v4code batch apply RUN_DIR --into migrate-http-client": Expect(
        check=on_branch("migrate-http-client", "src/api/users.py", "http_client.get")
    ),
    "v4code batch clean RUN_DIR": Expect(),
    # Local engines
    "v4code engine plan --model flash --gpu h200 --gpus 4": Expect(says=("vllm serve",)),
    "v4code engine plan --model pro --gpu h100 --gpus 8": Expect(code=1, says=("2 nodes",)),
    "v4code engine plan --list": Expect(says=("h200",)),
    "v4code engine plan --model flash --gpu h100": Expect(code=1, says=("1 node of 4x h100",)),
    "v4code engine plan --model flash --gpu h200 --gpus 4 --json > plan.json": Expect(
        check=file_json("plan.json", lambda r: isinstance(r, dict))
    ),
    "v4code engine status": Expect(),
    "v4code engine stop local": Expect(code=2, says=("no engine 'local' was started",)),
    "v4code engine probe http://127.0.0.1:8000/v1": Expect(
        PROBE[:4], server={"require_auth": False}, says=("PASS",), refused=1
    ),
    "v4code engine probe --profile local --fix": Expect(
        PROBE, server=LOCAL_ENGINE, says=("PASS",), check=user_config('dialect = "vllm"')
    ),
    'v4code run --profile local "add a --verbose flag to cli.py"': Expect(
        [tool_call("read_file", path="cli.py"), VERBOSE, text("cli.py takes --verbose.")],
        server=LOCAL_ENGINE,
        says=("cli.py takes --verbose.",),
        check=has("cli.py", '"--verbose"'),
    ),
    # Development
    "ruff check . && ruff format --check .": Expect(says=("All checks passed!",)),
}


# What a block needs before its first command, keyed by that command.
def readme_agent(scratch: Scratch) -> None:
    """The README's named agent, saved where it says: `agents/` of v4code's folder."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```markdown\n(---\nname: fixer\n.*?)```", text, re.S)
    assert block is not None, "the README's fixer agent is gone"
    folder = scratch.home / ".config" / "v4code" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fixer.md").write_text(block.group(1))


PREPARE: dict[str, Callable[[Scratch], None]] = {
    'v4code run -o json --permission-mode auto-edit "have the fixer make add() in calc.py add" '
    "> result.json": readme_agent,
    "v4code review": stage_a_change,
    'v4code batch plan "Replace requests.get with http_client.get in {path}; keep behaviour" '
    "--each 'src/**/*.py' -o jobs.jsonl": every_module_calls_requests,
    "v4code engine probe http://127.0.0.1:8000/v1": local_profile,
    'v4code run --profile local "add a --verbose flag to cli.py"': local_profile,
}
# Blocks that run in this checkout rather than in the scratch repository (they only read it).
IN_CHECKOUT = {"python -m pytest"}

# Known bugs, each a clearly named pytest.mark.xfail(reason=..., strict=False) keyed by its
# block's first command, as long as the fix is not merged; none today.
KNOWN_BUGS: dict[str, pytest.MarkDecorator] = {}


# ---------------------------------------------------------------- the tests


def all_blocks() -> list[Block]:
    return [block for doc in DOCS for block in blocks(ROOT / doc, doc)]


SETUP = all_blocks()[0]  # the block a newcomer pastes first
SETUP_AGAIN = "the set-up block's commands, run as written by its own test"  # a skip reason
RUN_TIMEOUT = 180


def run_example(
    example: Example, shell: Shell, scratch: Scratch, expect: Expect | None = None
) -> None:
    """One command as written (placeholders filled), answered from its script; asserts what
    its entry in EXPECT (or `expect`) says a user sees."""
    expect = expect or EXPECT[example.key]
    server = scratch.server
    server.reset()
    server.configure(**expect.server)
    server.load(expect.steps)
    for key, steps in (expect.routes(scratch) if expect.routes else {}).items():
        server.route(key, steps)
    shell.env.update({k: substitute(v, scratch) for k, v in example.env.items()})
    done = shell.run(substitute(example.command, scratch), timeout=RUN_TIMEOUT)
    where = f"{example.doc}:{example.line} `{example.key}`"
    output = done.stdout + done.stderr
    assert done.returncode == expect.code, f"{where}: exit {done.returncode}\n{output[-3000:]}"
    for line in expect.says:
        assert line in output, f"{where}: {line!r} not in its output:\n{output[-3000:]}"
    if expect.check is not None:
        expect.check(scratch, done)
    refused = [r for r in server.requests if r.rejection]
    assert len(refused) == expect.refused, f"{where}: refused {[r.rejection for r in refused]}"
    problems = [p for p in server.problems() if p not in server.violations[: expect.refused]]
    assert not problems, f"{where}: {problems}"
    server.reset()


def runnable() -> list[Any]:
    params = []
    for block in all_blocks():
        if block.name == SETUP.name or all(e.skip for e in block.examples):
            continue
        marks = [KNOWN_BUGS[block.first]] if block.first in KNOWN_BUGS else []
        params.append(pytest.param(block, id=block.section, marks=marks))
    return params


@pytest.mark.parametrize("block", runnable())
def test_readme_block_runs_as_written(block: Block, tmp_path: Path, fake_api: FakeDeepSeek) -> None:
    """The block's commands, one after another in one shell, in a fresh scratch repository
    with a scratch HOME (v4code's default home below it)."""
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    scratch = Scratch(scratch_repo(project), home, fake_api)
    if block.first in PREPARE:
        PREPARE[block.first](scratch)
    cwd = ROOT if block.first in IN_CHECKOUT else scratch.root
    shell = Shell(cwd, environment(scratch), tmp_path / "shell")
    for example in block.examples:
        if example.skip is None:
            run_example(example, shell, scratch)


def test_every_example_runs_or_says_why_not(capsys: pytest.CaptureFixture[str]) -> None:
    """Every example has an entry in EXPECT or a skip marker in the README, and every entry
    belongs to an example; prints how many run and how many are skipped, and why."""
    examples = [e for block in all_blocks() for e in block.examples]
    missing = [
        f"{e.doc}:{e.line} `{e.key}`" for e in examples if not e.skip and e.key not in EXPECT
    ]
    assert not missing, (
        "README examples with neither an entry in tests/test_readme.py EXPECT nor a "
        "`<!-- readme-test: skip REASON -->` marker:\n  " + "\n  ".join(missing)
    )
    stale = sorted(set(EXPECT) - {e.key for e in examples if not e.skip})
    assert not stale, f"EXPECT entries no README example uses: {stale}"
    install, _, test = (e.key for e in SETUP.examples)  # the same install and test
    same = f"{install} && {test}"
    for block in all_blocks():
        if block.examples[0].skip == SETUP_AGAIN:
            again = " && ".join(e.key for e in block.examples)
            assert again == same, f"{block.name} says it is the set-up block's commands: {again}"
    skipped = [e for e in examples if e.skip]
    report = [f"README examples: {len(examples) - len(skipped)} run, {len(skipped)} skipped"]
    report += [f"  skipped {e.doc}:{e.line} `{e.key}`: {e.skip}" for e in skipped]
    with capsys.disabled():
        print("\n" + "\n".join(report))


def system_python() -> Path:
    """The interpreter a newcomer has: Debian's and Ubuntu's /usr/bin/python3 (externally
    managed, PEP 668), else the first python3 on PATH outside any venv."""
    stock = Path("/usr/bin/python3")
    if stock.exists():
        return stock
    base = Path(sys.base_prefix) / "bin" / "python3"
    return base if base.exists() else Path(sys.executable)


def copy_of_checkout(into: Path) -> Path:
    """This checkout's files (tracked and new, not ignored: no .venv) in a new repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-co", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if listed.returncode != 0:
        pytest.skip(f"the set-up block needs a git checkout of v4code: {listed.stderr.strip()}")
    for rel in filter(None, listed.stdout.split("\0")):
        source = ROOT / rel
        if source.is_file():
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / rel)
    git(into, "init", "-q", "-b", "main")
    git(into, "add", "-A")
    git(into, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "copy")
    return into


OFFLINE = ("No matching distribution", "Could not find a version", "Failed to establish")


def setup_shell(tmp_path: Path, scratch: Scratch) -> Shell:
    """A newcomer's shell: no venv active, `python3` and `pip` the system's, pip's cache
    kept."""
    env = environment(scratch)
    here = str(Path(sys.executable).parent)
    folders = [f for f in env["PATH"].split(os.pathsep) if f and f != here]
    stock = tmp_path / "stock-bin"
    stock.mkdir()
    python = system_python()
    (stock / "python3").symlink_to(python)
    for pip in ("pip", "pip3"):  # the system's own pip, where it has one (Debian: python3-pip)
        if (python.parent / pip).exists():
            (stock / pip).symlink_to(python.parent / pip)
    env["PATH"] = os.pathsep.join([str(stock), *folders])
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CACHE_DIR"] = PIP_CACHE
    return Shell(scratch.root, env, tmp_path / "shell")


@pytest.mark.timeout(900)  # a pip install of every dependency: one to three minutes
def test_setup_block_works_as_pasted(tmp_path: Path, fake_api: FakeDeepSeek) -> None:
    """The README's first block, pasted line by line into a fresh copy of this checkout on the
    system's Python: install (a venv, then pip), run (the v4code it installed), test."""
    python = system_python()
    has_venv = subprocess.run([python, "-c", "import venv, ensurepip"], capture_output=True)
    if has_venv.returncode != 0:
        pytest.skip(f"{python} has no venv/ensurepip (Debian: apt-get install python3-venv)")
    home = tmp_path / "home"
    home.mkdir()
    scratch = Scratch(copy_of_checkout(tmp_path / "v4code"), home, fake_api)
    shell = setup_shell(tmp_path, scratch)
    install, run, test = SETUP.examples
    done = shell.run(substitute(install.command, scratch), timeout=900)
    if done.returncode != 0 and any(sign in done.stdout + done.stderr for sign in OFFLINE):
        pytest.skip(f"no package index or cache reachable: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, f"{python}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    where = shell.run("command -v v4code", timeout=30).stdout.strip()
    assert where == str(scratch.root / ".venv" / "bin" / "v4code"), where
    run_example(run, shell, scratch)
    collect = Example(test.doc, test.line, test.key + SUITE_IN_SUITE)
    run_example(collect, shell, scratch, EXPECT[test.key])


def test_ci_installs_as_the_readme_says_then_runs_its_test_command() -> None:
    """.ci/run installs from a clean checkout with the set-up block's install line, as
    written, and ends with exactly its test command."""
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip("no .ci/run here (a source distribution)")
    lines = ci.read_text().splitlines()
    commands = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    install, _, test = (example.key for example in SETUP.examples)
    assert install in commands, f".ci/run does not run {install!r}"
    assert commands[-1] == test, f".ci/run ends with {commands[-1]!r}, not {test!r}"


def test_no_install_line_asks_the_package_index_for_an_unpublished_name() -> None:
    """v4code is not on PyPI: every install names a checkout, a repository URL or a
    dependency, never `pip install v4code` (which would fetch whatever holds that name); CI
    uses the action at a ref the workflow pins."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    from_index = re.findall(
        r"""(?:pipx?|uv tool|uv pip) install\s+(?:-\S+\s+)*["']?v4code\b[^\n]*""", readme
    )
    assert from_index == []
    assert "uses: OWNER/v4code@COMMIT" in readme


def test_the_pre_commit_snippet_shows_a_passing_reviews_findings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "repo: local" in b]
    assert re.search(r"^\s+verbose: true\b", snippet, re.M)
