"""Making a manifest: one unit per matching file (or folder), per listed target, or per
proposal of a discovery pass. Paths are taken from the recorded base commit, never from the
working tree, so a dirty checkout cannot leak into the plan."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from v4code.errors import ConfigError
from v4code.globs import glob_matches
from v4code.jobs.manifest import Unit, expand_task
from v4code.repo import worktrees


def unit_id(path: str, taken: set[str], prefix: str = "") -> str:
    """A short, unique, branch-safe id for the unit of `path`."""
    stem = worktrees.ref_safe((prefix + "-" if prefix else "") + path.replace("/", "-"))[:80]
    candidate, n = stem, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    taken.add(candidate)
    return candidate


def base_of(repo: Path, rev: str) -> tuple[Path, str]:
    root = worktrees.repo_root(repo, "batch plan")
    return root, worktrees.resolve_commit(root, rev)


def _repo_prefix(root: Path, many: bool) -> str:
    return root.name if many else ""


def plan_each(
    repos: Sequence[Path], pattern: str, task: str, *, per: str = "file", rev: str = "HEAD"
) -> list[Unit]:
    """One unit per committed file matching `pattern` (or per folder holding such files)."""
    units: list[Unit] = []
    taken: set[str] = set()
    for repo in repos:
        root, base = base_of(repo, rev)
        matched = [p for p in worktrees.files_at(root, base) if glob_matches(p, pattern)]
        groups: dict[str, list[str]] = {}
        for path in matched:
            key = path if per == "file" else str(PurePosixPath(path).parent)
            groups.setdefault(key, []).append(path)
        prefix = _repo_prefix(root, len(repos) > 1)
        for key, paths in sorted(groups.items()):
            units.append(
                Unit(
                    unit_id(key if key != "." else "root", taken, prefix),
                    str(root),
                    base,
                    expand_task(task, paths if per == "file" else [key]),
                    tuple(paths),
                )
            )
    if not units:
        raise ConfigError(f"no committed file matches {pattern!r}")
    return units


def read_targets(path: Path) -> list[str]:
    """The targets file: one path (or space-separated group of paths) a line; `#` comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the targets file {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def plan_targets(
    repos: Sequence[Path], targets: Iterable[str], task: str, *, rev: str = "HEAD"
) -> list[Unit]:
    """One unit per target line; each path must exist at the base commit."""
    units: list[Unit] = []
    taken: set[str] = set()
    lines = list(targets)
    for repo in repos:
        root, base = base_of(repo, rev)
        known = set(worktrees.files_at(root, base))
        folders = {str(p) for f in known for p in PurePosixPath(f).parents}
        prefix = _repo_prefix(root, len(repos) > 1)
        for line in lines:
            paths = tuple(str(PurePosixPath(p)) for p in line.split())
            missing = [p for p in paths if p not in known and p not in folders]
            if missing:
                raise ConfigError(
                    f"{root.name}: not in the repository at {base[:12]}: {missing[0]}"
                )
            units.append(Unit(unit_id(paths[0], taken, prefix), str(root), base,
                              expand_task(task, paths), paths))  # fmt: skip
    if not units:
        raise ConfigError("the targets file lists no paths")
    return units


Proposer = Callable[[Path, str, str], list[tuple[list[str], str]]]
"""A discovery step: (repo root, base commit, task) -> [(paths, one-line reason)]."""


def plan_discover(
    repos: Sequence[Path], task: str, propose: Proposer, *, rev: str = "HEAD"
) -> list[Unit]:
    """One unit per proposal of `propose`; proposals naming unknown paths are dropped."""
    units: list[Unit] = []
    taken: set[str] = set()
    for repo in repos:
        root, base = base_of(repo, rev)
        known = set(worktrees.files_at(root, base))
        prefix = _repo_prefix(root, len(repos) > 1)
        for paths, reason in propose(root, base, task):
            kept = tuple(p for p in dict.fromkeys(paths) if p in known)
            if kept:
                units.append(Unit(unit_id(kept[0], taken, prefix), str(root), base,
                                  expand_task(task, kept), kept, reason=reason))  # fmt: skip
    if not units:
        raise ConfigError("the discovery pass proposed no units")
    return units
