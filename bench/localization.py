"""File localization on SWE-bench Lite: does `locate` rank the file the fix edits near the top?

For each instance whose repository is available under --repos (a bare mirror or a clone,
named `owner+name`, `owner__name` or `name`, optionally with a `repo` git directory inside),
the base commit is checked out into a temporary tree, the ranker runs on the problem
statement with an empty cache (cold) and again with the cache filled (warm), and the rank
of the gold file is recorded. A plain BM25 over path and contents, computed by this script
on the same files, is the baseline. Prints Acc@1/5/10 and MRR by repository and overall.

Repositories too large to mirror can be covered approximately with --releases DIR, a folder
of release source trees (`DIR/owner+name/<version>/`, filled by bench/release_trees.py from
the project's sdists). An instance whose repository has no mirror is measured on the
release nearest its `version` (the release its base commit leads up to: that release first,
then older ones newest first, then newer ones) to which its gold patch applies exactly (`git
apply --check`: every hunk's context matches, no fuzz). That release is not the base commit: the
files the fix touches are as they were there, but the rest of the tree may be older or newer,
and an sdist lacks what the project leaves out of it (CI files, some tooling), so the
figures are an approximation; their rows say "(release)". The gold patch only chooses the
tree; the ranker and the baseline see the problem statement alone, as for a checkout.

Run by hand: `python bench/localization.py --repos DIR [--releases DIR]
[--split sample|dev|both] [--limit N]`.
The data is read where it lies (never copied into the repository).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from v4code.repomap import api  # noqa: E402

EVALS = next(
    (p / "shared" / "evals" for p in ROOT.parents if (p / "shared" / "evals").is_dir()),
    ROOT.parent / "shared" / "evals",
)
"""The project's ../shared/evals, found from a checkout or a worktree beside it."""
SPLITS = {"sample": "swebench_lite_sample.jsonl", "dev": "swebench_lite_dev.jsonl"}
KS = (1, 5, 10)


def read_split(data: Path, split: str) -> list[dict[str, Any]]:
    """The instances of one split (`sample` or `dev`), as the jsonl file lists them."""
    with open(data / SPLITS[split], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class Outcome:
    instance: str
    repo: str
    rank: int | None
    baseline_rank: int | None
    cold: float
    warm: float
    release: str | None = None

    @property
    def group(self) -> str:
        return f"{self.repo} (release)" if self.release else self.repo


def find_git_dir(repos: Path, name: str) -> Path | None:
    owner, short = name.split("/")
    for cand in (f"{owner}+{short}", f"{owner}__{short}", short):
        base = repos / cand
        for git_dir in (base / "repo", base / ".git", base):
            if (git_dir / "HEAD").is_file() and (git_dir / "objects").is_dir():
                return git_dir
    return None


def checkout(git_dir: Path, commit: str, into: Path) -> bool:
    """The tree at `commit` as a detached worktree (a git checkout, as a user would have);
    when the mirror lacks some large blobs, an export of every blob it has."""
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "worktree", "add", "--detach", "-f", str(into), commit],
        capture_output=True,
    )
    if done.returncode == 0:
        return True
    remove_worktree(git_dir, into)
    return export(git_dir, commit, into)


def export(git_dir: Path, commit: str, into: Path) -> bool:
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit], capture_output=True
    )
    if listing.returncode != 0:
        return False
    entries = []
    for item in listing.stdout.split(b"\0"):
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode != b"120000":
            entries.append((sha.decode(), path.decode("utf-8", "surrogateescape")))
    batch = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        input=b"".join(sha.encode() + b"\n" for sha, _p in entries),
        capture_output=True,
    ).stdout
    pos = 0
    for _sha, path in entries:
        end = batch.index(b"\n", pos)
        header = batch[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[pos : pos + size])
        pos += size + 1
    return True


@contextmanager
def checked_out(git_dir: Path, commit: str) -> Iterator[Path | None]:
    """The tree at `commit` in a temporary folder for the block (None when the mirror lacks
    the commit), removed with its worktree entry afterwards."""
    with tempfile.TemporaryDirectory(prefix="loc-") as tmp:
        tree = Path(tmp) / "tree"
        if not checkout(git_dir, commit, tree):
            yield None
            return
        try:
            yield tree
        finally:
            remove_worktree(git_dir, tree)


def remove_worktree(git_dir: Path, tree: Path) -> None:
    subprocess.run(
        ["git", "--git-dir", str(git_dir), "worktree", "remove", "--force", str(tree)],
        capture_output=True,
    )
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["git", "--git-dir", str(git_dir), "worktree", "prune"], capture_output=True)


_WORD = re.compile(r"[A-Za-z0-9_]+")


def baseline(root: Path, text: str) -> list[str]:
    """Plain BM25 (k1 1.2, b 0.75) over each file's path and contents, whole words, no
    splitting, no boosts: the reference point."""
    docs: dict[str, Counter[str]] = {}
    for full in sorted(root.rglob("*.py")):
        path = full.relative_to(root).as_posix()
        if path.startswith(".git/"):
            continue
        try:
            body = (root / path).read_text("utf-8", "replace")
        except OSError:
            continue
        docs[path] = Counter(w.lower() for w in _WORD.findall(path + " " + body))
    query = Counter(w.lower() for w in _WORD.findall(text))
    n = len(docs) or 1
    avg = sum(sum(d.values()) for d in docs.values()) / n or 1.0
    df = Counter(t for d in docs.values() for t in query if t in d)
    scores = {}
    for path, d in docs.items():
        length = sum(d.values())
        s = 0.0
        for t in query:
            tf = d.get(t)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
        scores[path] = s
    return [p for p, _s in sorted(scores.items(), key=lambda kv: -kv[1])[:10]]


def rank_of(gold: list[str], ranked: list[str]) -> int | None:
    for i, path in enumerate(ranked, 1):
        if path in gold:
            return i
    return None


def measure(tree: Path, inst: dict[str, object], home: Path) -> Outcome:
    """Cold run with an empty cache, warm run, baseline: the same for every kind of tree."""
    os.environ["V4CODE_HOME"] = str(home)
    shutil.rmtree(home, ignore_errors=True)
    text = str(inst["problem_statement"])
    start = time.perf_counter()
    ranked = api.locate(tree, text, top=10)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    warm_ranked = api.locate(tree, text, top=10)
    warm = time.perf_counter() - start
    assert [r.path for r in ranked] == [r.path for r in warm_ranked]
    gold = [str(g) for g in inst["gold_files"]]  # type: ignore[attr-defined]
    return Outcome(
        str(inst["instance_id"]),
        str(inst["repo"]),
        rank_of(gold, [r.path for r in ranked]),
        rank_of(gold, baseline(tree, text)),
        cold,
        warm,
    )


def run_instance(git_dir: Path, inst: dict[str, object], home: Path) -> Outcome | None:
    with checked_out(git_dir, str(inst["base_commit"])) as tree:
        if tree is None:
            print(f"  {inst['instance_id']}: base commit missing, skipped", file=sys.stderr)
            return None
        return measure(tree, inst, home)


def find_releases(releases: Path | None, name: str) -> Path | None:
    if releases is None:
        return None
    folder = releases / name.replace("/", "+")
    return folder if folder.is_dir() else None


def release_versions(folder: Path) -> list[tuple[Version, Path]]:
    """The complete release trees in `folder`, oldest first (a `.part` folder is one that
    bench/release_trees.py has not finished extracting)."""
    found = []
    for tree in folder.iterdir():
        try:
            found.append((Version(tree.name), tree))
        except InvalidVersion:
            continue
    return sorted(found)


def patch_applies(tree: Path, patch: str) -> bool:
    """`git apply --check` in `tree`, which is no repository: the ceiling keeps git from
    finding one above it, so paths are taken relative to the tree."""
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    done = subprocess.run(
        ["git", "apply", "--check", "-"],
        input=patch.encode("utf-8"),
        cwd=tree,
        env=env,
        capture_output=True,
    )
    return done.returncode == 0


def pick_release(folder: Path, patch: str, version: str = "") -> tuple[str, Path] | None:
    """The release nearest the base commit that the gold patch applies to: an instance's
    `version` is the release its base commit leads up to, so that release's first tree is
    tried first (its first pre-release, nearest the main branch), then its later releases, then older releases newest first, then
    newer ones (the patch only chooses the tree, never the ranking)."""
    for release, tree in by_nearness(release_versions(folder), version):
        if patch_applies(tree, patch):
            return str(release), tree
    return None


def by_nearness(releases: list[tuple[Version, Path]], version: str) -> list[tuple[Version, Path]]:
    try:
        target = Version(version)
    except InvalidVersion:
        return releases
    minor = target.release[:2]
    same = [r for r in releases if r[0].release[:2] == minor]
    older = [r for r in releases if r[0].release[:2] < minor]
    newer = [r for r in releases if r[0].release[:2] > minor]
    return same + older[::-1] + newer


def run_release(folder: Path, inst: dict[str, object], home: Path) -> Outcome | None:
    """Measure on a hard-linked copy of the nearest release the gold patch applies to (the
    ranker only reads, so the links never change the stored tree)."""
    picked = pick_release(folder, str(inst["patch"]), str(inst.get("version", "")))
    if picked is None:
        print(f"  {inst['instance_id']}: no release accepts the gold patch", file=sys.stderr)
        return None
    version, source = picked
    with tempfile.TemporaryDirectory(prefix="loc-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(source, tree, symlinks=True, copy_function=os.link)
        row = measure(tree, inst, home)
    row.release = version
    return row


def summary(rows: list[Outcome], attr: str) -> str:
    ranks = [getattr(r, attr) for r in rows]
    n = len(ranks) or 1
    accs = [100 * sum(1 for x in ranks if x is not None and x <= k) / n for k in KS]
    mrr = sum(1 / x for x in ranks if x) / n
    return " ".join(f"@{k} {a:5.1f}" for k, a in zip(KS, accs, strict=True)) + f"  MRR {mrr:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=Path, required=True, help="folder of mirrors or clones")
    parser.add_argument(
        "--releases",
        type=Path,
        help="folder of release trees for repositories without a mirror (approximate)",
    )
    parser.add_argument("--split", choices=("sample", "dev", "both"), default="both")
    parser.add_argument("--limit", type=int, default=0, help="only the first N instances")
    parser.add_argument("--data", type=Path, default=EVALS, help="folder of the jsonl files")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per instance")
    args = parser.parse_args()
    splits = ["sample", "dev"] if args.split == "both" else [args.split]
    instances = []
    split_of: dict[str, str] = {}
    for split in splits:
        for inst in read_split(args.data, split):
            instances.append(inst)
            split_of[inst["instance_id"]] = split
    if args.limit:
        instances = instances[: args.limit]
    rows: list[Outcome] = []
    missing: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory(prefix="loc-home-") as home:
        for inst in instances:
            git_dir = find_git_dir(args.repos, inst["repo"])
            releases = find_releases(args.releases, inst["repo"])
            if git_dir is not None:
                row = run_instance(git_dir, inst, Path(home) / "h")
                reason = "base commit missing"
            elif releases is not None:
                row = run_release(releases, inst, Path(home) / "h")
                reason = "no release accepts the gold patch"
            else:
                row, reason = None, "no mirror"
            if row is None:
                missing[(inst["repo"], reason)] += 1
                continue
            rows.append(row)
            if args.verbose:
                release = f"  release {row.release}" if row.release else ""
                print(
                    f"{row.instance:40} rank {row.rank!s:>4}  bm25 {row.baseline_rank!s:>4}"
                    f"  cold {row.cold:5.2f}s warm {row.warm:5.2f}s{release}",
                    flush=True,
                )
    by_repo: defaultdict[str, list[Outcome]] = defaultdict(list)
    for row in rows:
        by_repo[row.group].append(row)
    print(f"\n{'repository':36} {'n':>3}  {'locate':40} {'BM25 baseline':40} cold/warm s")
    for repo, group in sorted(by_repo.items()):
        cold = sum(r.cold for r in group) / len(group)
        warm = sum(r.warm for r in group) / len(group)
        print(
            f"{repo:36} {len(group):3}  {summary(group, 'rank'):40} "
            f"{summary(group, 'baseline_rank'):40} {cold:5.2f}/{warm:4.2f}"
        )
    if rows:
        cold = sum(r.cold for r in rows) / len(rows)
        warm = sum(r.warm for r in rows) / len(rows)
        worst = max(r.cold for r in rows)
        print(
            f"{'overall':36} {len(rows):3}  {summary(rows, 'rank'):40} "
            f"{summary(rows, 'baseline_rank'):40} {cold:5.2f}/{warm:4.2f} (cold max {worst:.2f})"
        )
    if len(splits) > 1:
        for split in splits:
            part = [r for r in rows if split_of[r.instance] == split]
            if part:
                print(
                    f"{'  ' + split + ' split':36} {len(part):3}  {summary(part, 'rank'):40} "
                    f"{summary(part, 'baseline_rank'):40}"
                )
    if missing:
        print(
            "not covered: "
            + ", ".join(f"{repo} ({n}, {why})" for (repo, why), n in sorted(missing.items()))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
