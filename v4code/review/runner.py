"""Run a review: the cache first, then one read-only agent turn per chunk of the diff."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v4code.assets import load_prompt
from v4code.config import Settings
from v4code.errors import BackendError
from v4code.review import cache
from v4code.review.diff import ReviewTarget, chunks
from v4code.review.findings import Finding, place
from v4code.types import Usage

READ_ONLY_TOOLS = ("read_file", "grep", "list_files")
CHUNK_TOKENS = 24_000


@dataclass
class ReviewResult:
    description: str
    files: list[str]
    findings: list[Finding] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    seconds: float = 0.0
    cached: bool = False
    model: str = ""

    def to_cache(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summaries": self.summaries,
            "notes": self.notes,
            "usage": self.usage.to_dict(),
            "cost": self.cost,
            "model": self.model,
        }


class _DenyAll:
    """The review never edits or runs anything; its tools are read-only anyway."""

    def decide(self, request: Any) -> Any:
        from v4code.protocols import Approval

        return Approval(False, reason="the review is read-only")


def review_settings(settings: Settings) -> Settings:
    effort = settings.review_effort
    thinking = settings.thinking and (effort or "").lower() != "none"
    return settings.replace(
        model=settings.review_model,
        effort=effort if thinking else None,
        thinking=thinking,
        permission_mode="read-only",
        max_steps=min(settings.max_steps, 12),
        transport=settings.review_transport,
        # A commit waits on this: a down endpoint must not hold it for minutes.
        max_retries=min(settings.max_retries, 2),
        retry_max_delay=min(settings.retry_max_delay, 2.0),
    )


def run_review(
    root: Path, settings: Settings, target: ReviewTarget, *, backend: Any = None
) -> ReviewResult:
    started = time.monotonic()
    rsettings = review_settings(settings)
    prompt = load_prompt("review", root)
    result = ReviewResult(
        target.description, [f.path for f in target.files], skipped=target.skipped
    )
    result.model = rsettings.model
    if not target.files:
        result.seconds = time.monotonic() - started
        return result
    key = cache.cache_key(
        target.text, model=rsettings.model, effort=rsettings.effort, prompt=prompt
    )
    hit = cache.load(key)
    if hit is not None:
        result.findings = [Finding.from_dict(f) for f in hit["findings"]]
        result.summaries = hit.get("summaries", [])
        result.notes = hit.get("notes", [])
        result.model = hit.get("model", result.model)
        result.cached = True
        result.seconds = time.monotonic() - started
        return result
    raw: list[Finding] = []
    for group in chunks(target.files, CHUNK_TOKENS):
        raw.extend(
            _review_chunk(root, rsettings, prompt, target.description, group, result, backend)
        )
    result.findings = place(raw, {f.path: f.changed_lines for f in target.files})
    result.seconds = time.monotonic() - started
    cache.store(key, result.to_cache())
    return result


def _review_chunk(
    root: Path,
    settings: Settings,
    prompt: str,
    description: str,
    group: list[Any],
    result: ReviewResult,
    backend: Any,
) -> list[Finding]:
    from v4code.app import load_registry, open_session
    from v4code.events import TurnFinished, UsageReported
    from v4code.review.report_tool import FindingsCollector

    collector = FindingsCollector()
    registry = load_registry(root, only=READ_ONLY_TOOLS)
    registry.add(collector.tool())
    session = open_session(
        settings,
        root,
        _DenyAll(),
        backend=backend,
        registry=registry,
        system_prompt=prompt,
        meta={"frontend": "review"},
    )
    diff = "".join(f.text for f in group)
    message = (
        f"Review the {description} below ({len(group)} file(s)) and report through "
        f"report_findings.\n\n```diff\n{diff}```\n"
    )
    for event in session.agent.submit(message):
        if isinstance(event, UsageReported):
            result.usage = result.usage + event.usage
            result.cost += event.cost
        elif isinstance(event, TurnFinished) and event.status == "error":
            raise BackendError(event.reason)
    if collector.summary:
        result.summaries.append(collector.summary)
    if not collector.reported:
        result.notes.append(
            f"the model did not report findings for {', '.join(f.path for f in group)}"
        )
    return collector.findings
