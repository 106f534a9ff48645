"""How well are `locate`'s evidence weights chosen, and what would data say instead?

For each SWE-bench Lite instance whose repository is available (as for
bench/localization.py), the ranker's evidence is recorded per file, unweighted, kind by
kind (`score_files` channels). Then, with no more indexing:

- the current weights (v4code.repomap.rank.WEIGHTS) are scored;
- weights are fitted by coordinate ascent on all instances (in-sample: optimistic);
- leave-one-repository-out: for each repository, weights fitted on the others rank its
  instances. This is the honest estimate of what fitted weights would do on repositories
  they never saw, and the figure to compare with the current weights' in-sample one.

The reference-graph evidence depends on the other weights (its walk starts from the best
files so far); it is recorded once with the current weights and held fixed while fitting.

Run by hand: `python bench/ranker_weights.py --repos DIR [--releases DIR] [--home DIR]`
(`--home` keeps the parse cache between runs; the first run indexes every tree cold).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import localization  # noqa: E402

from v4code.repomap.index import build_index  # noqa: E402
from v4code.repomap.rank import WEIGHTS, score_files  # noqa: E402

CANDIDATES = 400
"""Files per instance kept for fitting: the best by the current weights, and the gold."""
STEPS = (0.0, 0.5, 0.7, 0.85, 1.2, 1.4, 2.0)
"""Multipliers tried for one weight at a time."""
ROUNDS = 4


@dataclass
class Case:
    instance: str
    repo: str
    channels: list[dict[str, float]]
    factors: list[float]
    gold: list[bool]


def record(tree: Path, inst: dict[str, object]) -> Case:
    index = build_index(tree)
    scored = score_files(index, str(inst["problem_statement"]))
    gold_files = {str(g) for g in inst["gold_files"]}  # type: ignore[attr-defined]
    best = sorted(scored.items(), key=lambda kv: -kv[1].score)[:CANDIDATES]
    chosen = dict(best)
    for path in gold_files:
        if path in scored:
            chosen[path] = scored[path]
    items = sorted(chosen.items())
    return Case(
        str(inst["instance_id"]),
        str(inst["repo"]),
        [dict(ev.channels) for _p, ev in items],
        [ev.factor for _p, ev in items],
        [p in gold_files for p, _ev in items],
    )


def rank_of(case: Case, weights: dict[str, float]) -> int | None:
    """The gold file's rank; ties count against it (a weight of 0 must not win by ties)."""
    scores = [
        f * sum(weights[c] * v for c, v in ch.items())
        for ch, f in zip(case.channels, case.factors, strict=True)
    ]
    golds = [s for s, g in zip(scores, case.gold, strict=True) if g]
    if not golds or max(golds) <= 0:
        return None
    g = max(golds)
    return sum(1 for s in scores if s >= g)


def figures(cases: list[Case], weights: dict[str, float]) -> dict[str, float]:
    return figures_of([rank_of(c, weights) for c in cases])


def figures_of(ranks: list[int | None]) -> dict[str, float]:
    """Acc@1/5/10 (percent) and MRR over the first 10 of the gold files' ranks."""
    n = len(ranks) or 1
    out = {f"acc@{k}": 100 * sum(1 for r in ranks if r and r <= k) / n for k in (1, 5, 10)}
    out["mrr"] = sum(1 / r for r in ranks if r and r <= 10) / n
    return out


def objective(cases: list[Case], weights: dict[str, float]) -> float:
    f = figures(cases, weights)
    return f["mrr"] + (f["acc@1"] + f["acc@5"] + f["acc@10"]) / 300


def fit(cases: list[Case], start: dict[str, float]) -> dict[str, float]:
    weights = dict(start)
    best = objective(cases, weights)
    for _round in range(ROUNDS):
        improved = False
        for channel in sorted(weights):
            base = weights[channel] or 0.2
            for step in STEPS:
                trial = dict(weights, **{channel: base * step})
                value = objective(cases, trial)
                if value > best + 1e-9:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return weights


def show(label: str, f: dict[str, float]) -> str:
    return (
        f"{label:42} @1 {f['acc@1']:5.1f}  @5 {f['acc@5']:5.1f}  @10 {f['acc@10']:5.1f}"
        f"  MRR {f['mrr']:.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=Path, required=True, help="folder of mirrors or clones")
    parser.add_argument(
        "--releases", type=Path, help="release trees for repositories without a mirror"
    )
    parser.add_argument("--trees", type=Path, help="folder of trees already checked out, by id")
    parser.add_argument("--data", type=Path, default=localization.EVALS)
    parser.add_argument("--home", type=Path, help="V4CODE_HOME to keep the parse cache in")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="weights-home-"))
    os.environ["V4CODE_HOME"] = str(home)
    cases: list[Case] = []
    for split in ("sample", "dev"):
        for inst in localization.read_split(args.data, split):
            ready = args.trees / inst["instance_id"] if args.trees else None
            if ready is not None and ready.is_dir():
                cases.append(record(ready, inst))
                continue
            git_dir = localization.find_git_dir(args.repos, inst["repo"])
            if git_dir is None:
                folder = localization.find_releases(args.releases, inst["repo"])
                picked = folder and localization.pick_release(
                    folder, inst["patch"], str(inst.get("version", ""))
                )
                if picked:
                    cases.append(record(picked[1], inst))
                continue
            with localization.checked_out(git_dir, str(inst["base_commit"])) as tree:
                if tree is not None:
                    cases.append(record(tree, inst))
    print(f"{len(cases)} instances, {len({c.repo for c in cases})} repositories\n")
    print(show("current weights (set on these instances)", figures(cases, WEIGHTS)))
    fitted = fit(cases, WEIGHTS)
    print(show("fitted on all (in-sample, optimistic)", figures(cases, fitted)))
    held_weights = {
        repo: fit([c for c in cases if c.repo != repo], WEIGHTS)
        for repo in sorted({c.repo for c in cases})
    }
    loro = figures_of([rank_of(c, held_weights[c.repo]) for c in cases])
    print(show("fitted, leave-one-repository-out", loro))
    print("\nfitted weights (current → fitted on all):")
    for channel in sorted(WEIGHTS):
        print(f"  {channel:12} {WEIGHTS[channel]:5.2f} → {fitted[channel]:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
