"""The manifest: one JSON object a line, `{id, repo, base, paths, task}`, edited by people.

It is read as untrusted input: every line is checked and a bad one is reported by its line
number, ids must be unique and usable in a branch name, paths must stay inside the repository.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from v4code.errors import ConfigError
from v4code.textio import one_line

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HEX = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass(frozen=True)
class Unit:
    """One unit of work: a task on some paths of one repository at one commit."""

    id: str
    repo: str
    base: str
    task: str
    paths: tuple[str, ...] = ()
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.extra,  # a reviewer's own notes travel with the unit
            "id": self.id,
            "repo": self.repo,
            "base": self.base,
            "paths": list(self.paths),
            "task": self.task,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{NAME}` of `values` replaced, in one pass: what is filled in is
    never read again, so a file named `test_{paths}.py` stays that name (filling one name
    after another would expand the `{paths}` inside it, and break a command's quoting)."""
    if not values:
        return template
    pattern = "|".join(re.escape("{" + name + "}") for name in sorted(values, key=len)[::-1])
    return re.sub(pattern, lambda m: values[m.group()[1:-1]], template)


def expand_task(template: str, paths: Iterable[str]) -> str:
    """TASK with `{path}` (the first path) and `{paths}` (all, space separated) filled in;
    the task is the unit's user message, so a name keeps to its line (textio.one_line)."""
    listed = [one_line(p) for p in paths]
    return fill(template, {"paths": " ".join(listed), "path": listed[0] if listed else ""})


def _check_path(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw or "\0" in raw:
        raise ConfigError(f"{where}: every path must be a non-empty string")
    pure = PurePosixPath(raw)
    if pure.is_absolute() or ".." in pure.parts:
        raise ConfigError(f"{where}: path {raw!r} must be relative and stay inside the repository")
    return str(pure)


def parse_unit(raw: object, where: str, default_repo: Path | None = None) -> Unit:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a unit must be a JSON object")
    uid = raw.get("id")
    if not isinstance(uid, str) or not _ID.match(uid) or ".." in uid or uid.endswith(".lock"):
        raise ConfigError(
            f"{where}: id {uid!r} must be 1-100 letters, digits, '.', '_' or '-' "
            "(it names a branch and a folder)"
        )
    repo = raw.get("repo", str(default_repo) if default_repo else None)
    if not isinstance(repo, str) or not repo:
        raise ConfigError(f"{where}: 'repo' must name the repository's folder")
    base = raw.get("base")
    if not isinstance(base, str) or not _HEX.match(base):
        raise ConfigError(f"{where}: 'base' must be a commit id (hex), got {base!r}")
    task = raw.get("task")
    if not isinstance(task, str) or not task.strip():
        raise ConfigError(f"{where}: 'task' must be a non-empty string")
    paths = raw.get("paths", [])
    if not isinstance(paths, list):
        raise ConfigError(f"{where}: 'paths' must be a list of strings")
    reason = raw.get("reason", "")
    known = {"id", "repo", "base", "task", "paths", "reason"}
    return Unit(
        id=uid,
        repo=str(Path(repo).expanduser().resolve()),
        base=base,
        task=task,
        paths=tuple(_check_path(p, where) for p in paths),
        reason=reason if isinstance(reason, str) else "",
        extra={k: v for k, v in raw.items() if k not in known},
    )


def read_manifest(path: Path) -> list[Unit]:
    """The units of a manifest file; ConfigError naming the line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the manifest {path}: {exc}") from None
    units: list[Unit] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc})") from None
        unit = parse_unit(raw, where)
        if unit.id in seen:
            raise ConfigError(f"{where}: unit id {unit.id!r} appears twice")
        seen.add(unit.id)
        units.append(unit)
    if not units:
        raise ConfigError(f"the manifest {path} lists no units")
    return units


def manifest_text(units: Iterable[Unit]) -> str:
    return "".join(json.dumps(u.to_dict(), ensure_ascii=False) + "\n" for u in units)
