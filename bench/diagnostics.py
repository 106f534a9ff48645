"""Diagnostics after edits, on real commits: does a real language server catch the errors an
edit plants, within a line or two, without crying wolf on clean edits, and how fast?

For each commit of the sample (psf/requests), the clone is checked out at the commit's
parent and a session is opened the way `v4code run` opens one (`app.open_session`: the
language servers, the read-only sandbox where bubblewrap runs, the after-apply observer),
with a scripted model instead of DeepSeek. Through the agent's turn loop and tool pipeline:

1. the commit itself is applied (`apply_edits`, all its files in one batch): any new error
   reported is a **false alarm** (the clean after-text; target 0);
2. for each file and each error class (bench/diagnostics_inject.py) the error is planted
   with `edit_file` and taken out again with `edit_file`: **detected** when a new error
   lands within 2 lines of it; a new error on the way back out is also a false alarm.

The time from the applied edit to its diagnostics is the observer's `check_edit` call
(timed by wrapping it on the session's `LanguageServers`): **cold** is a session's first
edit (server start included, no file read before), **warm** every later one. The memory is
the resident size of the server's process tree (sandbox included), after each commit.

The project's dependencies (urllib3, chardet, idna, pytest, ...) are where a user has them:
with `--env DIR`, a virtualenv outside the clone (so the bench's resets leave it alone),
created with them if missing and passed to the session as the activated `VIRTUAL_ENV`,
which v4code tells the server about (`v4code.lsp.pyenv`). Without it, every import of a
dependency a commit adds is an unresolved import.

A new error on a clean edit that is a real fault of the commit under the bench's Python is
counted apart, as a **real fault flagged**, only when the bench confirms it itself: the file's
after-text is rejected by `compile()` (its before-text is not) and an error is reported within
2 lines of the syntax error, or the error says a module has no such attribute and that
module, imported by the environment's interpreter, has none. Anything else stays a false alarm.

Run by hand: `python bench/diagnostics.py --repo CLONE [--env DIR] [--limit N] [-v] [--json
OUT]`; CLONE is a clone of psf/requests that the bench checks out and resets (use a scratch
one). Needs `pip install -e ".[lsp]"` (basedpyright) and the venv's bin on PATH.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (tests/ on sys.path: the scripted backend)
from diagnostics_inject import CLASSES, Injection, Source, inject  # noqa: E402

DATA_NAME = "shared/evals/real_edits_sample.jsonl"
TARGETS = {"undefined_name": 0.95, "syntax": 0.95, "bad_import": 0.95}
NEAR = 2  # lines between a planted error and the new error that counts as finding it
DEPENDENCIES = (
    "urllib3<1.27",
    "chardet<5",
    "charset_normalizer",
    "idna",
    "certifi",
    "pytest<=6.2.5",
    "PySocks",
    "six",
    "pyOpenSSL",
    "cryptography",
)
"""What requests' commits import from outside the repository: its runtime and test
dependencies and its `socks` and `security` extras (`pip install -e .[socks,security]`;
requests/__init__.py imports cryptography when it can). In versions inside the bounds requests
itself declares over the sample's years, as a user working on those commits has them: setup.py's `urllib3>=1.21.1,<1.27` and `chardet>=3.0.2,<5` (until
v2.30, 2023; urllib3 2 dropped names such as `SNIMissingWarning` its tests import), and
requirements-dev.txt's `pytest>=2.8.0,<=6.2.5` (until 2024, then `<9`; pytest 7 deprecated
`pytest.warns(None)`, which its tests use)."""
MISSING_ATTRIBUTE = re.compile(
    r'^"(?P<name>\w+)" is not a known attribute of module "(?P<module>[\w.]+)"'
)
DEFAULT_BOUND = 3.0  # the `diagnostics_timeout` users have
BENCH_BOUND = 60.0  # what the bench waits, so slow answers are measured, not cut
LINE = re.compile(r"^(?P<path>.*?):(?P<line>\d+): (?P<message>.*)$")


@dataclass
class Check:
    """One edit's diagnostics as the observer got them."""

    seconds: float
    cold: bool
    errors: list[str]
    notes: list[str]
    label: str = ""  # what the edit was: "clean", an error class, "revert"


@dataclass
class Outcome:
    commit: str
    path: str
    kind: str  # an error class, "clean" (the commit) or "revert"
    line: int = 0
    what: str = ""
    detected: bool = False
    elsewhere: bool = False  # new errors, none near the planted one
    errors: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # the file's errors near it, on a miss
    note: str = ""
    fault: str = ""  # a clean edit's: the bench's evidence that the commit itself is at fault


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    not_applicable: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    sandboxed: set[bool] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)
    python: str = sys.executable  # the interpreter that confirms a module lacks an attribute


# --- the repository ----------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def check_out(repo: Path, commit: str) -> None:
    git(repo, "checkout", "-q", "-f", "--detach", commit)
    git(repo, "clean", "-q", "-f", "-d", "-x")


def changed_lines(before: str, after: str) -> set[int]:
    """Lines of `after` the commit changed, and three around each."""
    a, b = before.splitlines(), after.splitlines()
    out: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            out.update(range(max(1, j1 + 1 - 3), j2 + 1 + 3))
    return out


def edit_between(a: str, b: str) -> tuple[str, str]:
    """The smallest whole-line old/new pair that turns `a` into `b`, widened by a line at a
    time until `old` occurs once in `a` (what a model sends to edit_file)."""
    x, y = a.splitlines(keepends=True), b.splitlines(keepends=True)
    head = 0
    while head < min(len(x), len(y)) and x[head] == y[head]:
        head += 1
    tail = 0
    while tail < min(len(x), len(y)) - head and x[-1 - tail] == y[-1 - tail]:
        tail += 1
    lo, hi = head, tail
    while True:
        old = "".join(x[lo : len(x) - hi])
        new = "".join(y[lo : len(y) - hi])
        if old and a.count(old) == 1:
            return old, new
        if lo == 0 and hi == 0:
            return a, b
        lo, hi = max(0, lo - 1), max(0, hi - 1)


# --- the project's environment, and the commit's own faults ----------------------------------


def ensure_env(env: Path) -> Path:
    """The virtualenv at `env` with the project's DEPENDENCIES (made now if missing), as the
    user's activated one; its interpreter."""
    python = env / "bin" / "python"
    if not (env / "pyvenv.cfg").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *DEPENDENCIES], check=True)
    os.environ["VIRTUAL_ENV"] = str(env)
    return python


def real_fault(before: str, after: str, errors: list[str], python: str) -> str:
    """Why the new errors of a clean edit are a fault of the commit, confirmed here, or "":
    its after-text does not compile (and the before-text does) with an error reported near
    the syntax error, or an error names a module attribute that `python` finds missing."""
    lines = [int(m["line"]) for m in map(LINE.match, errors) if m]
    try:
        compile(after, "after", "exec")
    except SyntaxError as exc:
        near = any(abs(n - (exc.lineno or 0)) <= NEAR for n in lines)
        if near and _compiles(before):
            return f"compile() rejects line {exc.lineno}: {exc.msg}"
    for error in errors:
        found = MISSING_ATTRIBUTE.match(_message(error))
        if found and _lacks(python, found["module"], found["name"]):
            return f"{found['module']}.{found['name']} does not exist in {_version(python)}"
    return ""


def _compiles(text: str) -> bool:
    try:
        compile(text, "before", "exec")
    except SyntaxError:
        return False
    return True


def _lacks(python: str, module: str, name: str) -> bool:
    """Whether `module` imports in `python` (isolated: nothing of the clone on its path)
    and has no attribute `name`."""
    probe = (
        "import importlib, sys; print(hasattr(importlib.import_module(sys.argv[1]), sys.argv[2]))"
    )
    done = subprocess.run(
        [python, "-I", "-c", probe, module, name], capture_output=True, text=True, cwd="/"
    )
    return done.returncode == 0 and done.stdout.strip() == "False"


def _version(python: str) -> str:
    done = subprocess.run([python, "-I", "--version"], capture_output=True, text=True)
    return done.stdout.strip() or python


# --- the process tree --------------------------------------------------------------------------


def descendants_rss_mb() -> float:
    """Resident memory of every process below this one (the server tree: bwrap, node)."""
    mine = _children_of(os.getpid())
    total = 0
    for pid in mine:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) if found else 0
    return total / 1024


def server_programs() -> set[str]:
    names = set()
    for pid in _children_of(os.getpid()):
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            pass
    return names


def _children_of(root: int) -> set[int]:
    found: set[int] = set()
    frontier = {root}
    while frontier:
        nxt = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid in frontier:
                    nxt.add(int(entry.name))
        frontier = nxt - found
        found |= frontier
    return found


# --- a session ---------------------------------------------------------------------------------


class Session:
    """A v4code session in the clone with a scripted model: each `call` is one turn in
    which the model makes one tool call and then stops."""

    def __init__(self, root: Path, run: Run) -> None:
        from scripted_backend import ScriptedBackend

        from v4code.app import open_session
        from v4code.config import Settings
        from v4code.protocols import Approval

        class Yes:
            def decide(self, request: Any) -> Approval:
                return Approval(True)

        self.backend = ScriptedBackend([])
        settings = Settings(api_key="bench", repo_map_tokens=0, diagnostics_timeout=BENCH_BOUND)
        self.opened = open_session(settings, root, Yes(), backend=self.backend)
        self.root, self.run = root, run
        servers = self.opened.servers
        if servers is None:
            raise SystemExit("diagnostics are off in this session (V4CODE_DIAGNOSTICS?)")
        self.last: Check | None = None
        original = servers.check_edit

        def timed(changes: Any) -> Any:  # the bench's hook: the observer calls this
            start = time.monotonic()
            checked = original(changes)
            cold = not any(True for _ in self._seen)
            self.last = Check(
                time.monotonic() - start, cold, list(checked.errors), list(checked.notes)
            )
            self._seen.append(self.last)
            return checked

        self._seen: list[Check] = []
        servers.check_edit = timed  # type: ignore[method-assign]

    def call(self, name: str, args: dict[str, Any], label: str) -> Check:
        from scripted_backend import reply

        from v4code.events import Notice, ToolFinished

        self.backend.replies += [reply(calls=[(name, args)]), reply("done")]
        self.last = None
        for event in self.opened.agent.submit(f"bench: {name}"):
            if isinstance(event, ToolFinished) and event.result.is_error:
                raise RuntimeError(f"{name} failed: {event.result.text[:300]}")
            if isinstance(event, Notice):
                self.run.notices.append(event.text)
        if self.last is None:
            raise RuntimeError(f"{name}: the observer checked nothing")
        self.last.label = label
        self.run.checks.append(self.last)
        return self.last

    def current_errors(self, path: str) -> list[str]:
        servers = self.opened.servers
        assert servers is not None
        try:
            return list(servers.diagnostics(self.root / path, self.opened.agent.cancel))
        except Exception as exc:  # noqa: BLE001 - only for the report
            return [f"(no diagnostics: {exc})"]

    def close(self) -> None:
        self.opened.close()


# --- one commit --------------------------------------------------------------------------------


def run_commit(record: dict[str, Any], repo: Path, run: Run, verbose: bool) -> None:
    commit, files = record["commit"][:10], record["files"]
    check_out(repo, record["parent"])
    for f in files:  # the sample's before-text is what the parent holds
        disk = repo / f["path"]
        if not disk.is_file() or disk.read_text(encoding="utf-8") != f["before"]:
            run.skipped.append(f"{commit} {f['path']}: before-text differs from the parent")
            return
    session = Session(repo, run)
    try:
        edits = [_edit_args(f["path"], f["before"], f["after"]) for f in files]
        check = session.call("apply_edits", {"edits": edits}, "clean")
        run.sandboxed.add("bwrap" in server_programs())
        for f in files:
            mine = [e for e in check.errors if e.startswith(f["path"] + ":")]
            note = "; ".join(check.notes)
            fault = real_fault(f["before"], f["after"], mine, run.python) if mine else ""
            run.outcomes.append(
                Outcome(commit, f["path"], "clean", errors=mine, note=note, fault=fault)
            )
        for f in files:
            plant_all(session, record, f, run, verbose)
        run.rss_mb.append(descendants_rss_mb())
    finally:
        session.close()
        _wait_gone()


def _wait_gone() -> None:
    """The session closed its servers; wait until their processes are gone."""
    deadline = time.monotonic() + 10
    while _children_of(os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.1)


def plant_all(
    session: Session, record: dict[str, Any], f: dict[str, Any], run: Run, verbose: bool
) -> None:
    commit, path, after = record["commit"][:10], f["path"], f["after"]
    try:
        tree = ast.parse(after)
    except SyntaxError:
        run.skipped.append(f"{commit} {path}: the after-text does not parse as Python 3")
        return
    known = {_message(e) for e in session.current_errors(path)}  # the clean file's own errors
    for kind in CLASSES:
        source = Source(
            path,
            after,
            tree,
            session.root,
            changed_lines(f["before"], after),
            random.Random(f"{commit}:{path}:{kind}"),
        )
        planted = inject(source, kind)
        if planted is None:
            run.not_applicable[kind] = run.not_applicable.get(kind, 0) + 1
            continue
        outcome = plant_one(session, commit, path, after, planted)
        run.outcomes.append(outcome)
        back = session.call("edit_file", _edit_args(path, planted.text, after), "revert")
        mine = [e for e in back.errors if e.startswith(path + ":")]
        old = (
            "unmasked: the clean file has it too"
            if mine and all(_message(e) in known for e in mine)
            else ""
        )
        note = "; ".join([*back.notes, *([old] if old else [])])
        run.outcomes.append(Outcome(commit, path, "revert", errors=mine, note=note))
        if verbose and not outcome.detected:
            print(f"  missed {kind} {commit} {path}:{planted.line} {planted.what}", file=sys.stderr)


def _message(error: str) -> str:
    found = LINE.match(error)
    return found["message"] if found else error


def _edit_args(path: str, a: str, b: str) -> dict[str, Any]:
    old, new = edit_between(a, b)
    return {"path": path, "old_string": old, "new_string": new}


def plant_one(session: Session, commit: str, path: str, clean: str, planted: Injection) -> Outcome:
    check = session.call("edit_file", _edit_args(path, clean, planted.text), planted.kind)
    on_disk = (session.root / path).read_text(encoding="utf-8")
    if on_disk != planted.text:
        raise RuntimeError(f"{path}: edit_file did not leave the planted text")
    mine = [e for e in check.errors if e.startswith(path + ":")]
    lines = [int(m["line"]) for m in map(LINE.match, mine) if m]
    detected = any(abs(n - planted.line) <= NEAR for n in lines)
    outcome = Outcome(
        commit,
        path,
        planted.kind,
        planted.line,
        planted.what,
        detected,
        bool(mine) and not detected,
        mine,
        note="; ".join(check.notes),
    )
    if not detected:
        near = []
        for err in session.current_errors(path):
            m = LINE.match(err)
            if m is None or abs(int(m["line"]) - planted.line) <= NEAR:
                near.append(err)
        outcome.current = near
    return outcome


# --- the report --------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def quantiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]
    return statistics.median(ordered), p95


def report(run: Run, seconds: float, loads: tuple[Any, Any], commits: int) -> None:
    print(f"diagnostics after edits: {commits} commits of psf/requests, {seconds / 60:.1f} min")
    print(
        "path: agent turn (scripted model) -> apply_edits / edit_file -> ToolPipeline after-apply"
    )
    print(f"      observer -> LanguageServers.check_edit; server sandboxed: {_yes(run.sandboxed)}")
    print(f"load average at start {loads[0]}, at end {loads[1]} on {os.cpu_count()} cores\n")
    print(
        f"{'class':<16}{'planted':>8}{'detected':>10}{'missed':>8}{'rate':>8}{'target':>8}{'n/a':>6}"
    )
    for kind in CLASSES:
        rows = [o for o in run.outcomes if o.kind == kind]
        hit = sum(o.detected for o in rows)
        target = f"{TARGETS[kind]:.0%}" if kind in TARGETS else "none"
        na = run.not_applicable.get(kind, 0)
        print(
            f"{kind:<16}{len(rows):>8}{hit:>10}{len(rows) - hit:>8}{pct(hit, len(rows)):>8}{target:>8}{na:>6}"
        )
    for kind, label in (
        ("clean", "clean commit edits (files)"),
        ("revert", "reverts of a planted error"),
    ):
        rows = [o for o in run.outcomes if o.kind == kind]
        faults = [o for o in rows if o.errors and o.fault]
        bad = [o for o in rows if o.errors and not o.fault]
        unmasked = sum("unmasked" in o.note for o in bad)
        count = sum(len(o.errors) for o in bad)
        extra = f"; {unmasked} only errors the clean file has too" if kind == "revert" else ""
        print(f"false alarms, {label}: {len(bad)} of {len(rows)} ({count} errors{extra})")
        if faults:
            print(f"real faults flagged, {label}: {len(faults)} (the commit's own, confirmed)")
    cold = [c.seconds for c in run.checks if c.cold]
    warm = [c.seconds for c in run.checks if not c.cold]
    for label, values in (("cold", cold), ("warm", warm)):
        med, p95 = quantiles(values)
        slow = sum(v > DEFAULT_BOUND for v in values)
        print(
            f"latency {label}: n={len(values)} median {med:.2f} s, p95 {p95:.2f} s, max {max(values, default=0):.2f} s, over {DEFAULT_BOUND:g} s: {slow}"
        )
    if run.rss_mb:
        print(
            f"server RSS (process tree, end of each commit): median {statistics.median(run.rss_mb):.0f} MB, max {max(run.rss_mb):.0f} MB"
        )
    timeouts = sum(bool(c.notes) for c in run.checks)
    print(f"checks with a note (timeout, crash): {timeouts}; skipped: {len(run.skipped)}")


def _yes(values: set[bool]) -> str:
    return {frozenset({True}): "yes", frozenset({False}): "no"}.get(frozenset(values), "mixed")


def details(run: Run) -> None:
    print("\nmisses:")
    for o in run.outcomes:
        if o.kind in CLASSES and not o.detected:
            print(f"  {o.kind} {o.commit} {o.path}:{o.line} {o.what}")
            for err in o.errors[:3]:
                print(f"      new: {err}")
            for err in o.current[:3]:
                print(f"      now: {err}")
            if o.note:
                print(f"      note: {o.note}")
    print("false alarms:")
    for o in run.outcomes:
        if o.kind in ("clean", "revert") and o.errors and not o.fault:
            print(f"  {o.kind} {o.commit} {o.path}: " + " | ".join(o.errors[:4]))
    print("real faults flagged:")
    for o in run.outcomes:
        if o.errors and o.fault:
            print(f"  {o.kind} {o.commit} {o.path} ({o.fault}): " + " | ".join(o.errors[:4]))
    for line in run.skipped + sorted(set(run.notices)):
        print(f"  {line}")


def find_data() -> Path | None:
    here = Path(__file__).resolve()
    return next((p / DATA_NAME for p in here.parents if (p / DATA_NAME).is_file()), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="a scratch clone of psf/requests")
    parser.add_argument("--data", type=Path, default=find_data())
    parser.add_argument("--limit", type=int, default=0, help="only the first N commits")
    parser.add_argument("--commits", default="", help="only these commits (comma-separated)")
    parser.add_argument("--json", type=Path, help="write every outcome and check here")
    parser.add_argument(
        "--env", type=Path, help="the project's virtualenv, outside the clone (made if missing)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("--data: the sample of real edits was not found")
    records = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    wanted = [c for c in args.commits.split(",") if c]
    if wanted:
        records = [r for r in records if any(r["commit"].startswith(c) for c in wanted)]
    records = records[: args.limit] if args.limit else records
    repo = args.repo.resolve()
    out = args.json.resolve() if args.json else None
    os.chdir(repo)  # as `v4code run` is started: in the workspace
    os.environ["V4CODE_HOME"] = tempfile.mkdtemp(prefix="v4code-bench-home-")
    os.environ.pop("V4CODE_DIAGNOSTICS", None)
    run, start, load = Run(), time.monotonic(), os.getloadavg()
    if args.env is not None:
        run.python = str(ensure_env(args.env.resolve()))
    for i, record in enumerate(records, 1):
        if args.verbose:
            print(
                f"[{i}/{len(records)}] {record['commit'][:10]} {record['subject'][:60]}",
                file=sys.stderr,
            )
        run_commit(record, repo, run, args.verbose)
    report(run, time.monotonic() - start, (_load(load), _load(os.getloadavg())), len(records))
    if args.verbose:
        details(run)
    if out is not None:
        data = {
            "outcomes": [dataclasses.asdict(o) for o in run.outcomes],
            "checks": [dataclasses.asdict(c) for c in run.checks],
            "rss_mb": run.rss_mb,
        }
        out.write_text(json.dumps(data, indent=1))
    return 0


def _load(values: Any) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
