"""The run directory: what a run is and how far each unit got, written so a crash loses nothing.

RUN_DIR/run.json             the run: id, options, created
RUN_DIR/manifest.jsonl       the units, as planned
RUN_DIR/units/ID/state.json  one unit's state (atomic writes)
RUN_DIR/units/ID/agent.json  the agent's result (`v4code run --output json`)
RUN_DIR/units/ID/agent.log   the agent's stderr
RUN_DIR/units/ID/verify.log  the verify command's output
RUN_DIR/units/ID/result.patch  a green unit's commit as a patch
RUN_DIR/worktrees/ID         the unit's worktree (local executor)
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from v4code.edits.atomic import atomic_write
from v4code.errors import ConfigError
from v4code.jobs.manifest import Unit, manifest_text, read_manifest

STATUSES = ("pending", "running", "green", "red", "unchanged", "error")
FINISHED = frozenset({"green", "red", "unchanged", "error"})
"""`unchanged`: the agent said done but changed nothing (never counted green)."""


@dataclass
class UnitState:
    """Everything known about one unit; `reason` says why it is red or in error."""

    id: str
    status: str = "pending"
    reason: str = ""
    attempts: int = 0
    branch: str = ""
    worktree: str = ""
    commit: str = ""
    session_id: str = ""
    agent_status: str = ""
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hit_tokens: int = 0
    steps: int = 0
    duration_s: float = 0.0
    overhead_s: float = 0.0
    diffstat: str = ""
    verify_exit: int | None = None
    verify_tail: str = ""
    started: float = 0.0
    finished: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> UnitState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class RunDir:
    """One run's folder. Every write is atomic; readers never see half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    @property
    def units_dir(self) -> Path:
        return self.path / "units"

    def unit_dir(self, uid: str) -> Path:
        return self.units_dir / uid

    def worktree(self, uid: str) -> Path:
        return self.path / "worktrees" / uid

    def create(self, run_id: str, units: list[Unit], options: dict[str, Any]) -> None:
        if (self.path / "run.json").exists():
            raise ConfigError(f"{self.path} already holds a run; use --resume to continue it")
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path / "manifest.jsonl", manifest_text(units).encode())
        self.write_json(
            self.path / "run.json", {"id": run_id, "created": time.time(), "options": options}
        )
        for unit in units:
            self.unit_dir(unit.id).mkdir(parents=True, exist_ok=True)
            self.save(UnitState(unit.id))

    def info(self) -> dict[str, Any]:
        try:
            text = (self.path / "run.json").read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"{self.path} is not a batch run directory (no run.json)") from None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data
        if not (self.path / "manifest.jsonl").is_file() or not self.units_dir.is_dir():
            # Another tool's run.json, in a folder a run never made: not "damaged".
            raise ConfigError(
                f"{self.path} is not a batch run directory (its run.json is not a v4code "
                "batch run's: no manifest.jsonl and units/ beside it)"
            )
        raise ConfigError(f"{self.path}/run.json is damaged")

    @functools.cached_property
    def run_id(self) -> str:
        """Read once: run.json is written when the run is created and never changes."""
        return str(self.info()["id"])

    def units(self) -> list[Unit]:
        return list(self._manifest)

    @functools.cached_property
    def _manifest(self) -> tuple[Unit, ...]:
        """Read once: the manifest is written when the run is created and never changes
        (`status --watch` asks for the units twice a second)."""
        return tuple(read_manifest(self.path / "manifest.jsonl"))

    def load(self, uid: str) -> UnitState:
        try:
            raw = json.loads((self.unit_dir(uid) / "state.json").read_text(encoding="utf-8"))
            return UnitState.from_dict(raw)
        except (OSError, ValueError, TypeError):
            return UnitState(uid)

    def states(self) -> list[UnitState]:
        return [self.load(unit.id) for unit in self.units()]

    def save(self, state: UnitState) -> None:
        self.unit_dir(state.id).mkdir(parents=True, exist_ok=True)
        self.write_json(self.unit_dir(state.id) / "state.json", asdict(state))

    @contextlib.contextmanager
    def driving(self) -> Iterator[None]:
        """Held by the one driver of this run (a second `run --resume` is refused)."""
        import fcntl

        fd = os.open(self.path / ".driver.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ConfigError(f"{self.path} is being run by another v4code batch") from None
            yield
        finally:
            os.close(fd)

    def is_driven(self) -> bool:
        """True while a driver holds the run (for `status`, which watches until it stops)."""
        import fcntl

        try:
            fd = os.open(self.path / ".driver.lock", os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def write_json(self, path: Path, data: object) -> None:
        atomic_write(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())

    def write_text(self, uid: str, name: str, text: str) -> None:
        atomic_write(self.unit_dir(uid) / name, text.encode("utf-8", "replace"))
