"""Time, cost and requests of `v4code review --pr` on a real range, against the test servers.

The pull request is the last N commits (default 20) of a public repository, as one diff: a
clone of it is made in a temp folder (`--repo`: a path or URL git can clone; by default
psf/requests from GitHub; pass a local clone to run offline), and the GitHub test server (tests/fake_github) serves that diff as
pull request 7, file by file as GitHub's `pulls/N/files` does (a file without a text patch is
served through the contents API from both commits). The DeepSeek test server answers every
review request with the same findings on lines the range changed, so the review posts inline
comments. Four runs, each the real CLI in a child process:

1. the first review;
2. a re-run on the unchanged pull request (v4code's review cache kept, as on one machine);
3. the same on a fresh runner (`--no-cache`: a CI job starts with an empty cache);
4. a re-run after one more commit on the branch (the head moves; the base stays).

For each: wall time, the model's tokens and cost as v4code computes them (the test server
counts a token per 4 bytes of the request and simulates DeepSeek's prefix cache; its answers
are short, so the output cost of a real review's reasoning is not in it), and the requests each
server received (GitHub's split into reads and writes). The servers answer at once: the time is
v4code's and the forge round trips', not a model's. Run by hand: `python bench/pr_review.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts tests/ on sys.path)
from fake_api import FakeDeepSeek, tool_call
from fake_github import FakeGitHub, PullFile

PUBLIC = "https://github.com/psf/requests"
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return done.stdout.decode("utf-8", "replace")


def blob(root: Path, sha: str, path: str) -> bytes | None:
    done = subprocess.run(["git", "show", f"{sha}:{path}"], cwd=root, capture_output=True)
    return done.stdout if done.returncode == 0 else None


def pull_files(root: Path, base: str, head: str) -> list[PullFile]:
    """The range's files as GitHub lists them: `patch` is the file's hunks (none for a binary)."""
    files = []
    diff = git(root, "diff", "--no-color", "--no-renames", "--no-ext-diff", base, head)
    for part in re.split(r"^diff --git ", diff, flags=re.M)[1:]:
        lines = part.split("\n")
        name = lines[0].split(" b/", 1)[1]
        status = "added" if "\nnew file mode" in part else "modified"
        status = "removed" if "\ndeleted file mode" in part else status
        first = next((i for i, line in enumerate(lines) if line.startswith("@@")), None)
        patch = None if first is None else "\n".join(lines[first:]).rstrip("\n")
        files.append(PullFile(name, patch, status, blob(root, base, name), blob(root, head, name)))
    return files


def findings_on(files: list[PullFile], most: int = 6) -> list[dict[str, Any]]:
    """One finding on an added line of each of the first `most` files with text hunks, and
    one far from any change (it goes in the review's body)."""
    out: list[dict[str, Any]] = []
    severities = ["blocker", "major", "minor", "nit"]
    for f in files:
        if f.patch is None or f.status == "removed" or len(out) >= most:
            continue
        new = 0
        for line in f.patch.splitlines():
            if m := HUNK.match(line):
                new = int(m.group(1))
            elif line.startswith("+"):
                out.append({"path": f.filename, "line": new, "severity": severities[len(out) % 4],
                            "category": "bug", "message": f"Check this line of {f.filename}.",
                            "suggestion": ""})  # fmt: skip
                break
            elif line.startswith(" "):
                new += 1
    if out:
        far = {**out[0], "line": 100_000, "severity": "minor", "message": "Far from the change."}
        out.append(far)
    return out


def review(env: dict[str, str], *extra: str) -> tuple[float, dict[str, Any], str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "v4code", "review", "--pr", "7", "--format", "json", *extra],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"review --pr failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout), done.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--repo",
        default=PUBLIC,
        help="a repository git can clone: a path or URL (default psf/requests)",
    )
    parser.add_argument("-n", "--commits", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="v4code-bench-pr-") as tmp:
        run(Path(tmp), args.repo, args.commits)


def run(tmp: Path, source: str, commits: int) -> None:
    root = tmp / "clone"
    subprocess.run(["git", "clone", "-q", source, str(root)], check=True)
    base, head = git(root, "rev-parse", f"HEAD~{commits}", "HEAD").split()
    github = FakeGitHub(base_sha=base, head_sha=head).start()
    api = FakeDeepSeek().start()
    try:
        github.files[7] = pull_files(root, base, head)
        answer = tool_call("report_findings", summary="Reviewed.",
                           findings=findings_on(github.files[7]))  # fmt: skip
        api.allow_leftover = True
        api.load([answer] * 200)
        env = {**os.environ, "V4CODE_HOME": str(tmp / "home"), "DEEPSEEK_API_KEY": "sk-bench",
               "DEEPSEEK_BASE_URL": api.base_url, "GITHUB_TOKEN": github.token,
               "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": github.repo}  # fmt: skip
        stat = git(root, "diff", "--shortstat", base, head).strip()
        diff_bytes = len(git(root, "diff", base, head).encode())
        print(f"{source}: the last {commits} commits as one pull request")
        print(f"  {base[:10]}..{head[:10]}: {stat}; {diff_bytes:,} bytes of diff")
        rows = [("first review", measure(api, github, env))]
        rows.append(("re-run, unchanged (cache kept)", measure(api, github, env)))
        rows.append(("re-run, unchanged, fresh runner", measure(api, github, env, "--no-cache")))
        target, line, new_head = one_more_commit(root, github.files[7])
        github.head_sha = new_head
        github.files[7] = pull_files(root, base, new_head)
        added = {"path": target, "line": line, "severity": "minor", "category": "bug",
                 "message": "The new function has no test.", "suggestion": ""}  # fmt: skip
        # a new answer (the prefix cache stays): the findings that still stand, one new
        api.load([tool_call("report_findings", summary="Reviewed.",
                            findings=[*findings_on(github.files[7]), added])] * 200)  # fmt: skip
        rows.append(("re-run after one more commit", measure(api, github, env)))
        report(rows)
    finally:
        github.stop()
        api.stop()


def one_more_commit(root: Path, files: list[PullFile]) -> tuple[str, int, str]:
    """A commit on top of the range that adds a function to the first changed Python file:
    that file, the new function's line, the new head."""
    target = next(f.filename for f in files if f.filename.endswith(".py") and f.head is not None)
    path = root / target
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n\ndef bench_added(value):\n    return value * 2\n", encoding="utf-8")
    identity = ["-c", "user.email=b@example.com", "-c", "user.name=bench"]
    git(root, *identity, "commit", "-qam", "one more commit")
    return target, text.count("\n") + 3, git(root, "rev-parse", "HEAD").strip()


def measure(
    api: FakeDeepSeek, github: FakeGitHub, env: dict[str, str], *extra: str
) -> dict[str, Any]:
    before_api, before_gh = len(api.chat_requests), len(github.requests)
    seconds, result, stderr = review(env, *extra)
    gh = github.requests[before_gh:]
    posted = re.search(r"posted on .*?: (.*?) \(", stderr)
    return {
        "seconds": seconds,
        "review_seconds": result["seconds"],
        "cost": result["cost_usd"],
        "usage": result["usage"],
        "cached": result["cached"],
        "findings": len(result["findings"]),
        "deepseek": len(api.chat_requests) - before_api,
        "gh_reads": sum(r.method == "GET" for r in gh),
        "gh_writes": sum(r.method != "GET" for r in gh),
        "gh_writes_by_kind": sorted({f"{r.method}" for r in gh if r.method != "GET"}),
        "posted": posted.group(1) if posted else "",
    }


def report(rows: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"  {'run':34} {'wall s':>7} {'model s':>7} {'cost $':>9} {'prompt tok':>10} {'hit tok':>8} "
          f"{'out tok':>7} {'DeepSeek':>8} {'GH GET':>6} {'GH write':>8}")  # fmt: skip
    for name, r in rows:
        u = r["usage"]
        print(
            f"  {name:34} {r['seconds']:7.2f} {r['review_seconds']:7.2f} {r['cost']:9.5f} {u.get('prompt_tokens', 0):>10,} "
            f"{u.get('cache_hit_tokens', 0):>8,} {u.get('completion_tokens', 0):>7,} "
            f"{r['deepseek']:>8} {r['gh_reads']:>6} {r['gh_writes']:>8}"
        )
    for name, r in rows:
        cached = " (from v4code's review cache)" if r["cached"] else ""
        print(f"  {name}: {r['findings']} findings{cached}; posted: {r['posted'] or '-'}")


if __name__ == "__main__":
    main()
