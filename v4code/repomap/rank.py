"""Which files a task is about: lexical relevance fused with what the task names and the
structure of the code.

Evidence, strongest first: a path or traceback frame naming the file, a dotted module name
resolving to it, identifiers the task uses that the file defines, the path's own words, and
BM25 over the file's code-aware terms. A personalised PageRank over the definition/reference
graph, seeded by that evidence, lifts the files the named code depends on. Tests, docs and
examples rank low unless the task names them. Every result says why it ranks where it does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from v4code.repomap.index import RepoIndex
from v4code.repomap.issue_text import strip_boilerplate
from v4code.repomap.mentions import Mentions, PathIndex, extract
from v4code.repomap.tokens import split_identifier, terms_of

__all__ = ["WEIGHTS", "Evidence", "RankedFile", "rank_files", "score_files"]

TITLE_BONUS = 5
"""A task's first line (an issue's title) says what it is about: its terms count extra."""
K1 = 1.2
B = 0.75
WEIGHTS: dict[str, float] = {
    "path": 3.0,  # a path the task names
    "frame": 1.5,  # a traceback frame
    "module": 1.5,  # a dotted module name (a package's modules share it)
    "method": 1.0,  # defines Parent.name the task names
    "defines": 1.2,  # defines identifiers the task uses
    "message": 0.5,  # contains an error message the task quotes
    "lexical": 1.0,  # BM25 over the whole text of the task
    "path_terms": 0.6,  # the task's words in the file's path
    "title": 2.5,  # BM25 over the first line alone
    "def_terms": 0.3,  # the task's words in the names the file defines
    "title_defs": 0.5,  # the title's words in the names the file defines
    "graph": 0.8,  # defines what the best files so far use
}
"""How much each kind of evidence counts; each kind is scaled to at most about 1 first. An
issue's title names its subject without the noise of the logs and examples that follow,
hence the weight of the title's own BM25."""
GRAPH_SEEDS = 10
"""How many of the best files so far seed the walk over the reference graph."""
GRAPH_ALPHA = 0.5
"""The walk's chance to follow an edge rather than return to a seed."""
MAX_MESSAGE_FILES = 5
MIN_MESSAGE_PREFIX = 16
"""The shortest start of a quoted message still searched for when the whole is not found."""
PACKAGE_SHARE = 0.3
"""Of a dotted name's weight, what a package's __init__ and each of its modules get."""
TEST_FACTOR = 0.3
AUX_FACTOR = 0.5
CODE_LIKE = (0.0, 0.15, 0.6, 1.0)
"""By how code-like a name's use is (1 a plain word, 2 a code-shaped name or one in
backticks, 3 both): "symbols" in prose says little, `simplify_logic()` a lot."""
MAX_DEFINES = 10.0
"""The most that definitions of named identifiers add to one file (before its weight)."""
MAX_DEFINERS = 12
"""A name defined in more files than this says little about which one is meant."""


@dataclass(frozen=True)
class RankedFile:
    path: str
    """Relative to the repository root, POSIX."""
    score: float
    """Relative: 1.0 for the best file of this ranking."""
    why: str
    """The evidence, most important first: mentions, definitions, matching terms."""


@dataclass
class Evidence:
    score: float = 0.0
    reasons: list[tuple[float, str]] = field(default_factory=list)
    channels: dict[str, float] = field(default_factory=dict)
    """The unweighted amount of each kind of evidence (what the weights were fitted on)."""
    factor: float = 1.0
    """The discount of a test, documentation or example file the task does not name."""

    def add(self, channel: str, amount: float, reason: str) -> None:
        if amount > 0:
            self.channels[channel] = self.channels.get(channel, 0.0) + amount
            weighted = amount * WEIGHTS[channel]
            self.score += weighted
            self.reasons.append((weighted, reason))


def is_test_path(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    stem = name.split(".", 1)[0]
    return (
        any(p in ("tests", "test", "testing", "__tests__", "spec", "specs") for p in parts[:-1])
        or stem.startswith("test_")
        or stem.endswith(("_test", "_tests", "_spec"))
        or name.endswith((".test.js", ".test.ts", ".spec.js", ".spec.ts", ".test.tsx"))
        or stem == "conftest"
    )


_AUX_DIRS = frozenset({"doc", "docs", "example", "examples", "benchmarks", "bench", "scripts"})


def is_auxiliary(path: str, language: str) -> bool:
    """Documentation, examples, benchmarks and non-code files: seldom where a change goes."""
    parts = path.lower().split("/")
    return language == "text" or any(p in _AUX_DIRS for p in parts[:-1])


def rank_files(index: RepoIndex, text: str, top: int = 10) -> list[RankedFile]:
    """The `top` files most likely to matter for `text`, best first."""
    scored = score_files(index, text)
    ranked = sorted(
        (item for item in scored.items() if item[1].score > 0),
        key=lambda kv: (-kv[1].score, kv[0]),
    )[:top]
    if not ranked:
        return []
    best = ranked[0][1].score
    return [RankedFile(p, round(ev.score / best, 4), _explain(ev)) for p, ev in ranked]


def score_files(index: RepoIndex, text: str) -> dict[str, Evidence]:
    """Every file's evidence for `text`: its final score, the reasons, and the unweighted
    amount of each kind (`channels`, with `factor` the test/auxiliary discount applied to
    the weighted sum), so that the weights can be fitted and checked from outside."""
    files = index.files
    text = strip_boilerplate(text)
    if not files or not text.strip():
        return {}
    mentions = extract(text)
    evidence: dict[str, Evidence] = {p: Evidence() for p in files}
    named = _apply_mentions(index, mentions, evidence)
    _apply_definitions(index, mentions, evidence)
    _apply_messages(index, mentions, evidence)
    query = Counter(_query_terms(text))
    title = text.strip().split("\n", 1)[0]
    for term in set(_query_terms(title)):
        query[term] += TITLE_BONUS
    corpus = _Corpus.of(index, query.keys())
    _apply_bm25(corpus, query, evidence, "lexical", weigh_query=True, label="terms", shown=5)
    _apply_path_terms(index, query, evidence)
    # the title alone: an issue's title names its subject without the noise of the logs
    title_query = Counter(_query_terms(title))
    _apply_bm25(
        corpus, title_query, evidence, "title", weigh_query=False, label="title words", shown=4
    )
    _apply_definition_terms(index, query, evidence)
    _apply_definition_terms(
        index,
        title_query,
        evidence,
        "title_defs",
        "defines names with title words",
    )
    _apply_graph(index, evidence)
    # A test file named in the body is most often where the reporter saw the failure, or
    # where the regression test goes; one named in the title is what the task is about.
    about_tests = any(is_test_path(p) and p.rsplit("/", 1)[-1] in title for p in named)
    for path, ev in evidence.items():
        if is_test_path(path) and not about_tests:
            ev.factor = TEST_FACTOR
        elif path not in named and is_auxiliary(path, files[path].language):
            ev.factor = AUX_FACTOR
        ev.score *= ev.factor
    return evidence


PROSE = frozenset(
    [
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "any",
        "been",
        "before",
        "being",
        "both",
        "did",
        "doesn",
        "don",
        "each",
        "even",
        "every",
        "few",
        "here",
        "how",
        "just",
        "like",
        "more",
        "most",
        "much",
        "now",
        "only",
        "other",
        "out",
        "over",
        "own",
        "same",
        "seems",
        "so",
        "some",
        "such",
        "than",
        "then",
        "there",
        "these",
        "they",
        "those",
        "too",
        "very",
        "way",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "work",
        "works",
        "working",
    ]
)
"""Words of an issue's prose that any file may contain: they say nothing about which one."""


def _query_terms(text: str) -> list[str]:
    """The terms of a task that can tell files apart."""
    return [t for t in terms_of(text) if t not in PROSE]


def _explain(ev: Evidence) -> str:
    reasons = sorted(ev.reasons, key=lambda r: -r[0])
    return "; ".join(r for _w, r in reasons[:5])


def _apply_mentions(
    index: RepoIndex, mentions: Mentions, evidence: dict[str, Evidence]
) -> set[str]:
    paths = PathIndex(index.files)
    named: set[str] = set()
    for mention in mentions.paths:
        found = paths.resolve(mention)
        if not found or len(found) > 3:
            continue
        exact = mention.count("/") + 1
        for path in found:
            full = path == mention or path.endswith("/" + mention)
            weight = (1.0 if full or exact == 1 else 0.6) / len(found)
            evidence[path].add("path", weight, f"path {mention!r} named")
            named.add(path)
    frames = mentions.frames
    frame_weight: dict[str, tuple[float, str]] = {}
    for i, (fpath, line, func) in enumerate(frames):
        found = paths.resolve(fpath, min_parts=2 if "/" in fpath else 1)
        if not found or len(found) > 2:
            continue
        depth = (i + 1) / len(frames)
        where = f" in {func}" if func else ""
        for path in found:
            weight = (0.4 + 0.6 * depth) / len(found)
            if weight > frame_weight.get(path, (0.0, ""))[0]:
                frame_weight[path] = (weight, f"traceback frame line {line}{where}")
    for path, (weight, reason) in frame_weight.items():
        evidence[path].add("frame", weight, reason)
    for dotted in mentions.dotted:
        found, rest = paths.module(dotted)
        if not found or len(found) > 2:
            continue
        depth = dotted.count(".") + 1 - len(rest)
        weight = min(1.0, 0.35 * depth) / len(found)
        for path in found:
            module = ".".join(dotted.split(".")[:depth])
            if not path.endswith("/__init__.py"):
                evidence[path].add("module", weight, f"module {module}")
                continue
            # A package: the change is as likely in any of its modules as in __init__.
            evidence[path].add("module", weight * PACKAGE_SHARE, f"package {module}")
            folder = path[: -len("__init__.py")]
            for other in index.files:
                same_level = other.count("/") == path.count("/")
                if other != path and same_level and other.startswith(folder):
                    evidence[other].add("module", weight * PACKAGE_SHARE, f"in package {module}")
    return named


def _apply_messages(index: RepoIndex, mentions: Mentions, evidence: dict[str, Evidence]) -> None:
    """Files containing the fixed text of an error message the task quotes: where it is
    raised, most likely (found with the project's search: ripgrep, git grep or Python)."""
    if not mentions.messages:
        return
    from v4code.repo.search import SearchError, choose_backend, literal, search
    from v4code.safety.secret_files import SecretFiles

    rule = index.secret or SecretFiles(index.root)
    secret = rule.reason  # a message is never looked for in a secret file
    backend = choose_backend(index.root)  # once, not once per search
    for message in mentions.messages:
        where: set[str] = set()
        fixed = message
        for fixed in _message_prefixes(message):
            try:
                result = search(
                    index.root,
                    literal(fixed),
                    limit=MAX_MESSAGE_FILES + 1,
                    backend=backend,
                    secret=secret,
                    count_secrets=False,  # no count is shown: no listing of the whole tree
                )
            except SearchError:
                break
            where = {m.path for m in result.matches if m.path in evidence}
            if where:
                break
        if not where or len(where) > MAX_MESSAGE_FILES:
            continue
        shown = fixed if len(fixed) <= 40 else fixed[:37] + "..."
        for path in where:
            evidence[path].add("message", 1.0 / len(where), f"contains the message {shown!r}")


def _message_prefixes(message: str) -> list[str]:
    """The message, then without its last word or two: a log line ends with the value the
    code formats in (`... for table`), which the source spells as a placeholder."""
    out = [message]
    words = message.split()
    for drop in (1, 2):
        shorter = " ".join(words[:-drop])
        if len(words) - drop >= 3 and len(shorter) >= MIN_MESSAGE_PREFIX:
            out.append(shorter)
    return out


def _apply_definitions(index: RepoIndex, mentions: Mentions, evidence: dict[str, Evidence]) -> None:
    pairs = {
        (parts[i], parts[i + 1])
        for dotted in mentions.dotted
        for parts in [dotted.split(".")]
        for i in range(len(parts) - 1)
    }
    for parent, name in sorted(pairs):
        owners = {p for p, d in index.definitions(name) if d.parent == parent}
        if 0 < len(owners) <= MAX_DEFINERS:
            for path in owners:
                evidence[path].add("method", 1.0 / len(owners), f"defines {parent}.{name}")
    definers = index.definers()
    total = len(index.files)
    gained: dict[str, float] = {}
    for name, code_weight in mentions.identifiers.items():
        where = definers.get(name)
        if where and len(name) < 3:
            where = sorted({p for p, d in index.definitions(name) if d.kind == "class"})
        if not where or len(where) > MAX_DEFINERS:
            continue
        rarity = math.log(1 + total / len(where)) / math.log(1 + total)
        weight = rarity * CODE_LIKE[int(code_weight)]
        for path in where:
            room = MAX_DEFINES - gained.get(path, 0.0)
            if room > 0:
                gained[path] = gained.get(path, 0.0) + min(weight, room)
                evidence[path].add("defines", min(weight, room), f"defines {name}")


@dataclass
class _Corpus:
    """What BM25 needs of the files, for one task's terms, gathered in one pass over them:
    each file's length and its counts of the task's terms (title terms are among them)."""

    n: int
    avg: float
    lengths: dict[str, int]
    found: dict[str, dict[str, int]]
    """File to the task's terms it contains, with their counts (files with none left out)."""
    df: Counter[str]

    @classmethod
    def of(cls, index: RepoIndex, wanted: Iterable[str]) -> _Corpus:
        wanted = list(wanted)
        lengths: dict[str, int] = {}
        found: dict[str, dict[str, int]] = {}
        df: Counter[str] = Counter()
        for path, sym in index.files.items():
            terms = sym.terms
            lengths[path] = sum(terms.values())
            hit = {t: terms[t] for t in wanted if t in terms}
            if hit:
                found[path] = hit
                df.update(hit.keys())
        n = len(index.files)
        return cls(n, (sum(lengths.values()) / n if n else 0.0) or 1.0, lengths, found, df)

    def bm25(self, query: Counter[str], *, weigh_query: bool) -> dict[str, list[tuple[float, str]]]:
        """File to its (gain, term) pairs for `query`: Okapi BM25, k1 1.2, b 0.75."""
        n = self.n
        idf = {
            t: math.log(1 + (n - self.df[t] + 0.5) / (self.df[t] + 0.5))
            for t in query
            if self.df[t]
        }
        qweight = {t: (1 + math.log(c)) if weigh_query else 1.0 for t, c in query.items()}
        out: dict[str, list[tuple[float, str]]] = {}
        for path, hit in self.found.items():
            norm = K1 * (1 - B + B * self.lengths[path] / self.avg)
            matched = [
                (w * qweight[t] * tf * (K1 + 1) / (tf + norm), t)
                for t, w in idf.items()
                if (tf := hit.get(t))
            ]
            if matched:
                out[path] = matched
        return out


def _apply_bm25(
    corpus: _Corpus,
    query: Counter[str],
    evidence: dict[str, Evidence],
    channel: str,
    *,
    weigh_query: bool,
    label: str,
    shown: int,
) -> None:
    """BM25 of `query`, scaled to 1 for the best file, as one kind of evidence."""
    if not corpus.n or not query:
        return
    hits = corpus.bm25(query, weigh_query=weigh_query)
    raw = {path: sum(g for g, _t in matched) for path, matched in hits.items()}
    top = max(raw.values(), default=0.0)
    for path, score in raw.items():
        terms = ", ".join(t for _g, t in sorted(hits[path], reverse=True)[:shown])
        evidence[path].add(channel, score / top, f"{label} {terms}")


def _apply_path_terms(index: RepoIndex, query: Counter[str], evidence: dict[str, Evidence]) -> None:
    """The task's words in a file's path, its name's above its folders'."""
    n = len(index.files)
    path_terms: dict[str, set[str]] = {}
    path_df: Counter[str] = Counter()
    for path in index.files:
        pt: set[str] = set()
        parts = path.split("/")
        parts[-1] = parts[-1].split(".", 1)[0]
        for part in parts:
            pt.update(split_identifier(part))
            pt.add(part.lower())
        path_terms[path] = pt
        path_df.update(pt & query.keys())
    max_path_idf = math.log(1 + n)
    for path, pt in path_terms.items():
        common = pt & query.keys()
        if not common:
            continue
        stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
        stem_terms = set(split_identifier(stem)) | {stem.lower()}
        score = 0.0
        for term in common:
            w = math.log(1 + n / (path_df[term] or 1)) / max_path_idf
            score += w * (1.5 if term in stem_terms else 0.5)
        evidence[path].add("path_terms", min(score, 2.0), f"path words {', '.join(sorted(common))}")


def _apply_definition_terms(
    index: RepoIndex,
    query: Counter[str],
    evidence: dict[str, Evidence],
    channel: str = "def_terms",
    label: str = "defines names with",
) -> None:
    """The task's words in the names a file defines: a file whose functions are named after
    the task's subject is more likely the place than one that only uses the same words."""
    def_terms: dict[str, set[str]] = {}
    df: Counter[str] = Counter()
    wanted = query.keys()
    for path, sym in index.files.items():
        terms = wanted & set(sym.name_terms)
        if terms:
            def_terms[path] = terms
            df.update(terms)
    n = len(index.files)
    raw = {path: sum(math.log(1 + n / df[t]) for t in terms) for path, terms in def_terms.items()}
    top = max(raw.values(), default=0.0)
    for path, score in raw.items():
        shown = ", ".join(sorted(def_terms[path], key=lambda t: df[t])[:4])
        evidence[path].add(channel, score / top, f"{label} {shown}")


def _apply_graph(index: RepoIndex, evidence: dict[str, Evidence]) -> None:
    """Personalised PageRank from the files the evidence already favours, along "uses a name
    defined in" edges, so the code the named files depend on rises too."""
    seeds = sorted(((ev.score, p) for p, ev in evidence.items() if ev.score > 0), reverse=True)
    seeds = seeds[:GRAPH_SEEDS]
    if not seeds:
        return
    definers = index.definers()
    edges: dict[str, dict[str, float]] = {}
    for _score, path in seeds:
        out: dict[str, float] = {}
        for name in index.files[path].references:
            where = definers.get(name)
            if where and len(where) <= 3 and len(name) > 2:
                for target in where:
                    if target != path:
                        out[target] = out.get(target, 0.0) + 1.0 / len(where)
        if out:
            total = sum(out.values())
            edges[path] = {t: w / total for t, w in out.items()}
    mass = sum(s for s, _p in seeds)
    restart = {p: s / mass for s, p in seeds}
    rank = dict(restart)
    for _ in range(6):
        nxt = {p: (1 - GRAPH_ALPHA) * w for p, w in restart.items()}
        for src, r in rank.items():
            for dst, w in edges.get(src, {}).items():
                nxt[dst] = nxt.get(dst, 0.0) + GRAPH_ALPHA * r * w
        rank = nxt
    gains = {p: r - restart.get(p, 0.0) for p, r in rank.items()}
    top = max(gains.values(), default=0.0)
    if top <= 0:
        return
    for path, gain in gains.items():
        if gain > 0:
            evidence[path].add("graph", gain / top, "defines names the top files use")
