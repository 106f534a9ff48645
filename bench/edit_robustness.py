"""Edit robustness on real commits: does v4code apply the edits a model would send, or refuse?

For every file of every commit in the sample, the before -> after change is turned into the
minimal edits a model would send (line-diff hunks, widened by context lines until old_string is
unique), then perturbed the way models err. Each variant is applied to the before text with
v4code's edit machinery (`v4code.edits.operations.apply_to_bytes`, what edit_file and
apply_edits run) and classified:

- correct: the result is byte for byte the expected after text;
- refused, useful: a ToolError whose message points at the right place (line numbers within
  two lines of the edit, as a candidate or as one of the ambiguous matches);
- refused, other: any other ToolError;
- wrong: applied, and the result differs from the expected text. This must stay 0.

Run by hand: `python bench/edit_robustness.py [--data PATH] [--context exact|tolerant] [-v]`.
The data is read where it lies (never copied into the repository).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from v4code.edits.operations import Edit, apply_to_bytes, edit_text
from v4code.edits.textfile import decode
from v4code.errors import ToolError

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/evals/real_edits_sample.jsonl"
MERGE_GAP = 2  # hunks closer than this many unchanged lines become one edit


@dataclass
class Hunk:
    """One derived edit: old/new as line lists, where it sits in the text it applies to."""

    old: list[str]
    new: list[str]
    first: int  # 0-based index of old[0] in the current text
    context_before: int  # leading lines of old/new that are unchanged context
    context_after: int


@dataclass
class Case:
    before: str
    edits: list[tuple[str, str]]
    expected: str
    regions: list[tuple[int, int]]  # 1-based line range of each edit in the text it applies to


@dataclass
class Tally:
    files: int = 0
    edits: int = 0
    correct: int = 0
    useful: int = 0
    other: int = 0
    wrong: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# deriving the edits a model would send


def _hunks(a: list[str], b: list[str]) -> list[tuple[int, int, int, int]]:
    ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()]
    merged: list[list[int]] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        if merged and i1 - merged[-1][1] <= MERGE_GAP:
            merged[-1][1], merged[-1][3] = i2, j2
        else:
            merged.append([i1, i2, j1, j2])
    return [(m[0], m[1], m[2], m[3]) for m in merged]


def _count(text: str, needle: str) -> int:
    n, pos = 0, text.find(needle)
    while pos != -1 and n < 2:
        n, pos = n + 1, text.find(needle, pos + 1)
    return n


def _unique(cur: list[str], lo: int, hi: int, tolerant: bool) -> bool:
    old = cur[lo:hi]
    if not old or not "".join(old).strip():
        return False
    if _count("".join(cur), "".join(old)) != 1:
        return False
    if tolerant:
        keys = [line.strip() for line in cur]
        want = keys[lo:hi]
        k = len(want)
        hits = sum(1 for s in range(len(keys) - k + 1) if keys[s : s + k] == want)
        return hits == 1
    return True


def derive(before: str, after: str, tolerant: bool) -> list[Hunk]:
    """Minimal unique edits, top to bottom, each against the text the previous ones left."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    cur = list(a)
    delta = 0
    out: list[Hunk] = []
    for i1, i2, j1, j2 in _hunks(a, b):
        lo, hi = i1 + delta, i2 + delta
        up = down = 0
        turn = 0
        while not _unique(cur, lo - up, hi + down, tolerant):
            can_up, can_down = lo - up > 0, hi + down < len(cur)
            if not (can_up or can_down):
                break
            if (turn % 2 == 0 and can_up) or not can_down:
                up += 1
            else:
                down += 1
            turn += 1
        old = cur[lo - up : hi + down]
        new = cur[lo - up : lo] + b[j1:j2] + cur[hi : hi + down]
        out.append(Hunk(old, new, lo - up, up, down))
        cur[lo - up : hi + down] = new
        delta += (j2 - j1) - (i2 - i1)
    return out


def _case(
    before: str, hunks: list[Hunk], expected: str, edit: Callable[[list[str]], list[str]]
) -> Case:
    edits = [("".join(edit(h.old)), "".join(edit(h.new))) for h in hunks]
    regions = [(h.first + 1, h.first + max(1, len(h.old))) for h in hunks]
    return Case(before, edits, expected, regions)


# ---------------------------------------------------------------------------------------------
# perturbations: how models get edits wrong


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _map_lines(lines: list[str], fn: Callable[[str], str]) -> list[str]:
    out = []
    for line in lines:
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        out.append(fn(body) + nl)
    return out


def _context_flags(old: list[str], new: list[str]) -> tuple[list[bool], list[bool]]:
    """Which old/new lines are unchanged context (equal in a line diff)."""
    fo, fn = [False] * len(old), [False] * len(new)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            fo[i1:i2] = [True] * (i2 - i1)
            fn[j1:j2] = [True] * (j2 - j1)
    return fo, fn


def _tabs(body: str) -> str:
    ws = _lead(body)
    if "\t" in ws:
        return body
    return "\t" * (len(ws) // 4) + " " * (len(ws) % 4) + body[len(ws) :]


def _with_trailing(lines: list[str], flags: list[bool]) -> list[str]:
    return [
        (line[:-1] + "  \n" if line.endswith("\n") else line + "  ")
        if flag and line.strip()
        else line
        for line, flag in zip(lines, flags, strict=True)
    ]


def _text_with_trailing(before: str, after: str) -> tuple[str, str]:
    """Give the file trailing spaces on the lines the commit leaves alone (and the ones it changes)."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    fa, fb = [True] * len(a), [False] * len(b)
    bare_a = [line.rstrip("\n") for line in a]
    bare_b = [line.rstrip("\n") for line in b]
    matcher = difflib.SequenceMatcher(None, bare_a, bare_b, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            fb[j1:j2] = [True] * (j2 - j1)
    return "".join(_with_trailing(a, fa)), "".join(_with_trailing(b, fb))


_WORD = re.compile(r"[A-Za-z_]\w{2,}")


def _stale(line: str) -> str | None:
    match = _WORD.search(line)
    if not match:
        return None
    return line[: match.end()] + "2" + line[match.end() :]


def _widen(hunk: Hunk, cur: list[str], up: int) -> Hunk:
    """The same edit with `up` more context lines above (when the text has them)."""
    up = min(up, hunk.first)
    extra = cur[hunk.first - up : hunk.first]
    return Hunk(
        extra + hunk.old,
        extra + hunk.new,
        hunk.first - up,
        hunk.context_before + up,
        hunk.context_after,
    )


def _texts_at(before: str, hunks: list[Hunk]) -> list[list[str]]:
    """The text (as lines) each hunk applies to."""
    cur = before.splitlines(keepends=True)
    out = []
    for h in hunks:
        out.append(list(cur))
        cur[h.first : h.first + len(h.old)] = h.new
    return out


def _dedent_case(before: str, after: str, hunks: list[Hunk]) -> Case | None:
    """old and new without the indentation old_string's lines share (n/a when a new line has
    less, which such a model could not have written)."""
    edits, shift_any = [], False
    for h in hunks:
        bodies = [line for line in h.old if line.strip()]
        d = min((len(_lead(line)) for line in bodies), default=0)
        news = [line for line in h.new if line.strip()]
        if d and any(len(_lead(line)) < d or "\t" in _lead(line)[:d] for line in bodies + news):
            return None
        shift_any = shift_any or d > 0

        def cut(s: str, d: int = d) -> str:
            return s[d:] if s.strip() else s

        edits.append(("".join(_map_lines(h.old, cut)), "".join(_map_lines(h.new, cut))))
    if not shift_any:
        return None
    return Case(before, edits, after, [(h.first + 1, h.first + len(h.old)) for h in hunks])


def _trailing_added(before: str, after: str, hunks: list[Hunk]) -> Case:
    """Trailing spaces on every line of old_string and on the context lines of new_string."""
    edits = []
    for h in hunks:
        _fo, fn = _context_flags(h.old, h.new)
        old = _with_trailing(h.old, [True] * len(h.old))
        edits.append(("".join(old), "".join(_with_trailing(h.new, fn))))
    return Case(before, edits, after, [(h.first + 1, h.first + len(h.old)) for h in hunks])


def variants(before: str, after: str, tolerant: bool) -> Iterator[tuple[str, Case | None]]:
    hunks = derive(before, after, tolerant)
    same = list

    yield "exact", _case(before, hunks, after, same)

    yield (
        "indent +4",
        _case(
            before,
            hunks,
            after,
            lambda ls: _map_lines(ls, lambda s: "    " + s if s.strip() else s),
        ),
    )

    yield "indent dedented", _dedent_case(before, after, hunks)
    yield "trailing ws added", _trailing_added(before, after, hunks)
    spaced_before, spaced_after = _text_with_trailing(before, after)
    yield "trailing ws stripped", _case(spaced_before, hunks, spaced_after, same)

    yield "tabs for spaces", _case(before, hunks, after, lambda ls: _map_lines(ls, _tabs))

    tab_before = "".join(_map_lines(before.splitlines(keepends=True), _tabs))
    tab_after = "".join(_map_lines(after.splitlines(keepends=True), _tabs))
    indented = any(line.startswith("\t") for line in tab_before.splitlines())
    # A file with no indented line is not tab-indented: nothing to measure there.
    yield "spaces for tabs", _case(tab_before, hunks, tab_after, same) if indented else None

    crlf = Case(
        before.replace("\n", "\r\n"),
        [("".join(h.old), "".join(h.new)) for h in hunks],
        after.replace("\n", "\r\n"),
        [(h.first + 1, h.first + len(h.old)) for h in hunks],
    )
    yield "CRLF file", crlf

    yield "stale context line", _stale_case(before, after, hunks)
    yield "elided middle lines", _elided_case(before, after, hunks)


def _one_changed(before: str, after: str, hunks: list[Hunk], index: int, hunk: Hunk) -> Case:
    edits = [("".join(h.old), "".join(h.new)) for h in hunks]
    edits[index] = ("".join(hunk.old), "".join(hunk.new))
    regions = [(h.first + 1, h.first + len(h.old)) for h in hunks]
    return Case(before, edits, after, regions)


def _stale_case(before: str, after: str, hunks: list[Hunk]) -> Case | None:
    texts = _texts_at(before, hunks)
    for index, h in enumerate(hunks):
        if not h.context_before and not h.context_after:
            h = _widen(h, texts[index], 1)
        fo, fn = _context_flags(h.old, h.new)
        for i, line in enumerate(h.old):
            changed = _stale(line) if fo[i] else None
            if changed is None:
                continue
            old = list(h.old)
            old[i] = changed
            new = [changed if (fn[j] and n == line) else n for j, n in enumerate(h.new)]
            return _one_changed(before, after, hunks, index, Hunk(old, new, h.first, 0, 0))
    return None


def _elided_case(before: str, after: str, hunks: list[Hunk]) -> Case | None:
    texts = _texts_at(before, hunks)
    for index, h in enumerate(hunks):
        w = _widen(h, texts[index], 4)
        if w.context_before < 4:
            continue
        fo, fn = _context_flags(w.old, w.new)
        if not all(fo[1:3]):
            continue
        marker = _lead(w.old[1]) + "# ...\n"
        old = [w.old[0], marker, *w.old[3:]]
        new = [w.new[0], marker, *w.new[3:]] if all(fn[1:3]) else list(w.new)
        return _one_changed(before, after, hunks, index, Hunk(old, new, w.first, 0, 0))
    return None


# ---------------------------------------------------------------------------------------------
# running and classifying


_LINES = re.compile(r"lines? (\d+)(?:-(\d+))?")


def _useful(message: str, region: tuple[int, int]) -> bool:
    lo, hi = region
    for m in _LINES.finditer(message):
        a = int(m.group(1))
        b = int(m.group(2) or a)
        if a <= hi + 2 and b >= lo - 2:
            return True
    return False


def run_case(case: Case, tally: Tally, label: str) -> None:
    tally.files += 1
    tally.edits += len(case.edits)
    data = case.before.encode("utf-8")
    edits = [Edit(label, old, new) for old, new in case.edits]
    try:
        result = apply_to_bytes(data, edits, label)
    except ToolError as exc:
        failed = _failed_index(case, label)
        if _useful(str(exc), case.regions[failed]):
            tally.useful += 1
        else:
            tally.other += 1
            tally.examples.append(f"refused (other) {label} edit {failed + 1}: {str(exc)[:300]}")
        return
    for step in _steps(case, label):
        tally.steps[step] += 1
    if result == case.expected.encode("utf-8"):
        tally.correct += 1
    else:
        tally.wrong += 1
        diff = "".join(
            difflib.unified_diff(
                case.expected.splitlines(keepends=True),
                result.decode("utf-8", "replace").splitlines(keepends=True),
                "expected",
                "got",
                n=1,
            )
        )
        tally.examples.append(f"WRONG {label}:\n{diff[:1500]}")


def _failed_index(case: Case, label: str) -> int:
    doc = decode(case.before.encode("utf-8"))
    text = doc.text
    for i, (old, new) in enumerate(case.edits):
        try:
            text = edit_text(doc, text, Edit(label, old, new), label).text
        except ToolError:
            return i
    return len(case.edits) - 1


def _steps(case: Case, label: str) -> list[str]:
    doc = decode(case.before.encode("utf-8"))
    text, out = doc.text, []
    for old, new in case.edits:
        result = edit_text(doc, text, Edit(label, old, new), label)
        text = result.text
        out.append(result.step)
    return out


CLASSES = (
    "exact",
    "indent +4",
    "indent dedented",
    "trailing ws added",
    "trailing ws stripped",
    "tabs for spaces",
    "spaces for tabs",
    "CRLF file",
    "stale context line",
    "elided middle lines",
)
EXPECT_CORRECT = {"exact": 1.0} | {
    c: 0.95 for c in CLASSES[1:8]
}  # stale / elided edits cannot be applied correctly: they must be refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real_edits_sample.jsonl")
    parser.add_argument(
        "--context",
        choices=("exact", "tolerant"),
        default="exact",
        help="widen old_string until it is unique exactly (default), or also when whitespace is ignored",
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N commits")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print wrong and unhelpful cases"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"data not found: {args.data} (use --data)", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text("utf-8").splitlines() if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    tallies = {c: Tally() for c in CLASSES}
    skipped: Counter[str] = Counter()
    start = time.perf_counter()
    for row in rows:
        for f in row["files"]:
            if f["before"] == f["after"] or not f["before"]:
                continue
            label = f"{row['commit'][:8]}:{f['path']}"
            for name, case in variants(f["before"], f["after"], args.context == "tolerant"):
                if case is None:
                    skipped[name] += 1
                    continue
                run_case(case, tallies[name], label)
    elapsed = time.perf_counter() - start
    if args.json:
        print(
            json.dumps({c: _figures(t) | {"n/a": skipped[c]} for c, t in tallies.items()}, indent=1)
        )
    else:
        _print_table(tallies, skipped, rows, args, elapsed)
    if args.verbose:
        for c, t in tallies.items():
            for example in t.examples:
                print(f"\n[{c}] {example}")
    return 0 if _targets_met(tallies) else 1


def _figures(t: Tally) -> dict[str, object]:
    return {
        "files": t.files,
        "edits": t.edits,
        "correct": t.correct,
        "refused_useful": t.useful,
        "refused_other": t.other,
        "wrong": t.wrong,
        "steps": dict(t.steps),
    }


def _print_table(
    tallies: dict[str, Tally],
    skipped: Counter[str],
    rows: list[dict[str, object]],
    args: argparse.Namespace,
    elapsed: float,
) -> None:
    n_files = sum(len(r["files"]) for r in rows)  # type: ignore[arg-type]
    print(
        f"Edit robustness: {len(rows)} commits, {n_files} files ({args.data.name}); context widened until unique ({args.context})"
    )
    head = f"{'class':<22}{'files':>6}{'edits':>7}{'correct':>9}{'%':>7}{'refused':>9}{'useful':>8}{'other':>7}{'WRONG':>7}  target"
    print(head)
    print("-" * len(head))
    for name, t in tallies.items():
        refused = t.useful + t.other
        pct = f"{100 * t.correct / t.files:.1f}" if t.files else "-"
        target = EXPECT_CORRECT.get(name)
        goal = f">= {target:.0%} correct, 0 wrong" if target else "0 wrong (refuse)"
        ok = t.wrong == 0 and (target is None or (t.files and t.correct / t.files >= target))
        print(
            f"{name:<22}{t.files:>6}{t.edits:>7}{t.correct:>9}{pct:>7}{refused:>9}{t.useful:>8}{t.other:>7}{t.wrong:>7}  {goal} {'ok' if ok else 'MISSED'}"
        )
    total_wrong = sum(t.wrong for t in tallies.values())
    print("-" * len(head))
    print(f"wrong edits, all classes: {total_wrong}    ({elapsed:.1f} s)")
    if any(skipped.values()):
        print(
            "not applicable (no such perturbation for the file): "
            + ", ".join(f"{k} {v}" for k, v in skipped.items() if v)
        )
    print("cascade step that applied each edit:")
    for name, t in tallies.items():
        if t.steps:
            print(f"  {name:<22}" + ", ".join(f"{k} {v}" for k, v in t.steps.most_common()))


def _targets_met(tallies: dict[str, Tally]) -> bool:
    for name, t in tallies.items():
        if t.wrong:
            return False
        target = EXPECT_CORRECT.get(name)
        if target and t.files and t.correct / t.files < target:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
