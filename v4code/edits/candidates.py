"""Where an edit that matched nowhere was probably meant to go: candidate windows for the
model, ranked by lines equal to old_string's, then by how alike the others are; when no line
is equal, by shared words (rare ones weigh more) and then by characters."""

from __future__ import annotations

import difflib
import re


def nearest_candidates(lines: list[str], n: int, old_lines: list[str], limit: int = 3) -> list[int]:
    """Start indexes of the windows most like old_string (line votes, then fuzzy fallback)."""
    keyed: dict[str, list[int]] = {}
    for j in range(n):
        key = lines[j].strip()
        if key and len(keyed.setdefault(key, [])) < 200:
            keyed[key].append(j)
    votes: dict[int, int] = {}
    for i, line in enumerate(old_lines):
        for j in keyed.get(line.strip(), ()) if line.strip() else ():
            votes[j - i] = votes.get(j - i, 0) + 1
    ranked = sorted(votes, key=lambda s: (-votes[s], s))[:REFINE]
    if ranked:
        closeness = {s: votes[s] + _closeness(lines, n, s, old_lines) for s in ranked}
        ranked.sort(key=lambda s: (-closeness[s], s))
    else:
        ranked = _fuzzy_starts(lines, n, old_lines)
    chosen: list[int] = []
    k = len(old_lines)
    for s in ranked:
        s = max(0, min(s, max(0, n - 1)))
        if all(abs(s - c) >= k for c in chosen):
            chosen.append(s)
        if len(chosen) >= limit:
            break
    return chosen


REFINE = 30


def _closeness(lines: list[str], n: int, start: int, old_lines: list[str]) -> float:
    """How alike the lines of a window that are not equal to old_string's are (0 to k)."""
    total = 0.0
    for i, want in enumerate(old_lines):
        j = start + i
        if 0 <= j < n and want.strip() != lines[j].strip():
            matcher = difflib.SequenceMatcher(None, want.strip(), lines[j].strip(), autojunk=False)
            total += matcher.ratio() if matcher.real_quick_ratio() > 0.5 else 0.0
    return total / 2  # below one exactly equal line: votes come first


WORDS = re.compile(r"\w+")
FUZZY_SHORTLIST = 40
FUZZY_DISTINCT = 5000


def _fuzzy_starts(lines: list[str], n: int, old_lines: list[str]) -> list[int]:
    """No line of old_string occurs in the file: look for lines like its longest one (a
    shortlist by shared words, rare ones weighing more, then a similarity ratio)."""
    probe_i = max(range(len(old_lines)), key=lambda i: len(old_lines[i].strip()))
    probe = old_lines[probe_i].strip()
    words = set(WORDS.findall(probe))
    if not words:
        return []
    starts = _word_starts(lines, n, probe, words)
    if not starts:  # no word in common (a renamed name): compare characters instead
        distinct: dict[str, int] = {}
        for j in range(n):
            distinct.setdefault(lines[j].strip(), j)
        close = difflib.get_close_matches(probe, list(distinct)[:FUZZY_DISTINCT], n=3, cutoff=0.6)
        starts = [distinct[c] for c in close]
    return [j - probe_i for j in starts]


def _word_starts(lines: list[str], n: int, probe: str, words: set[str]) -> list[int]:
    """Lines sharing words with `probe` (rare words weigh more), best first."""
    holders: dict[str, list[int]] = {w: [] for w in words}
    for j in range(n):
        for word in words.intersection(WORDS.findall(lines[j])):
            holders[word].append(j)
    weight: dict[int, float] = {}
    for found in holders.values():
        for j in found:  # a rare shared word says more than a common one
            weight[j] = weight.get(j, 0.0) + 1.0 / len(found)
    shortlist = sorted(weight, key=lambda j: (-weight[j], j))[:FUZZY_SHORTLIST]
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(probe)
    scored = []
    for j in shortlist:
        matcher.set_seq1(lines[j].strip())
        ratio = matcher.ratio()
        if ratio >= 0.4:
            scored.append((ratio + min(weight[j], 1.0), j))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [j for _, j in scored[:10]]
