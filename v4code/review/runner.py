"""Run a review: the cache first, then one read-only agent per chunk of the diff.

Chunks are reviewed in parallel (a large commit should not take n times as long) under one
deadline. The agent, the backend and pydantic are imported only when a model is called, so a
cache hit stays cheap.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from v4code.assets import load_prompt
from v4code.config import Settings
from v4code.errors import BackendError, V4codeError
from v4code.review import cache
from v4code.review.diff import FileDiff, ReviewTarget, chunks, numbered
from v4code.review.findings import Finding, place
from v4code.textio import code_fence, one_line

if TYPE_CHECKING:
    from v4code.agent import Agent
    from v4code.cancel import CancelToken
    from v4code.project_layer import ProjectLayer
    from v4code.protocols import Approval, ApprovalRequest, Backend
    from v4code.toolkit import Tool, ToolRegistry
    from v4code.types import Usage

T = TypeVar("T")

READ_ONLY_TOOLS = ("read_file", "grep", "list_files")
CHUNK_TOKENS = 24_000  # diff tokens per request; a larger diff is split per file
PARALLEL = 4  # chunks under review at once
FORMAT = "2"  # how the diff is shown to the model; part of the cache key
KEEP_LOGS = 100  # review and hook runs kept per workspace, beside its conversations
NUDGE = (
    "You have not called report_findings. Call it now, once, with every finding (an empty "
    "list when there is none). Do not write the findings as text."
)


class ReviewTimeout(V4codeError):
    """The review did not finish within --timeout."""


@dataclass
class ReviewResult:
    description: str
    files: list[str]
    findings: list[Finding] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    cost: float = 0.0
    seconds: float = 0.0
    cached: bool = False
    model: str = ""
    requests: int = 0  # model reviews run (chunks), 0 on a cache hit

    def to_cache(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summaries": self.summaries,
            "notes": self.notes,
            "usage": self.usage,
            "cost": self.cost,
            "model": self.model,
        }


@dataclass
class _Chunk:
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    usage: Usage | None = None
    cost: float = 0.0
    note: str = ""


class _DenyAll:
    """The review never edits or runs anything; its tools are read-only anyway."""

    def decide(self, request: ApprovalRequest) -> Approval:
        from v4code.protocols import Approval

        if request.risk == "read":  # a secret file (.env, a key): never part of a review
            return Approval(False, reason="the review does not read secret files")
        return Approval(False, reason="the review is read-only")


def review_settings(settings: Settings, timeout: float | None = None) -> Settings:
    """The review's model and effort, read-only, and retries short enough for a commit hook."""
    effort = settings.review_effort
    thinking = settings.thinking and (effort or "").lower() != "none"
    changes: dict[str, Any] = {
        "model": settings.review_model,
        "effort": effort if thinking else None,
        "thinking": thinking,
        "permission_mode": "read-only",
        "max_steps": min(settings.max_steps, 12),
        "transport": settings.review_transport,
        # A commit waits on this: a down endpoint must not hold it for long.
        "max_retries": min(settings.max_retries, 2),
        "retry_base_delay": min(settings.retry_base_delay, 0.5),
        "retry_max_delay": min(settings.retry_max_delay, 1.0),
    }
    if timeout is not None:
        changes["request_timeout"] = min(settings.request_timeout, timeout)
        changes["max_time"] = timeout
    return settings.replace(**changes)


def cache_key(target: ReviewTarget, settings: Settings, prompts: tuple[str, ...]) -> str:
    return cache.cache_key(
        target.text,
        FORMAT,
        str(CHUNK_TOKENS),
        settings.model,
        settings.effort or "",
        str(settings.thinking),
        settings.dialect,
        settings.base_url,
        *prompts,
    )


def run_review(
    root: Path,
    settings: Settings,
    target: ReviewTarget,
    *,
    timeout: float = 60.0,
    use_cache: bool = True,
    backend: Backend | None = None,
    on_start: Callable[[int], None] | None = None,
    kind: str = "review",
    project: ProjectLayer | None = None,
) -> ReviewResult:
    """Review `target`; raises V4codeError (ReviewTimeout, BackendError, ...) if it cannot.
    `project`: the repository's `.v4code/` as read when the review started (else read now)."""
    if project is None:
        from v4code.project_layer import read_project_layer

        project = read_project_layer(root)
    started = time.monotonic()
    rsettings = review_settings(settings, timeout)
    result = ReviewResult(
        target.description, [f.path for f in target.files], skipped=list(target.skipped)
    )
    result.model = rsettings.model
    if not target.files:
        result.seconds = time.monotonic() - started
        return result
    prompts = (load_prompt("review", project), _request_template(project))
    key = cache_key(target, rsettings, prompts)
    hit = cache.load(key) if use_cache else None
    if hit is not None:
        result.findings = [Finding.from_dict(f) for f in hit["findings"]]
        result.summaries = hit.get("summaries", [])
        result.notes = hit.get("notes", [])
        result.model = hit.get("model", result.model)
        result.cached = True
        result.seconds = time.monotonic() - started
        return result
    groups = chunks(target.files, CHUNK_TOKENS)
    if on_start is not None:
        on_start(len(groups))
    outcomes = _review_all(rsettings, prompts, target, groups, backend, timeout, kind, project)
    _merge(result, outcomes, target)
    result.seconds = time.monotonic() - started
    if not result.notes:  # an incomplete review is not remembered: the next run tries again
        cache.store(key, result.to_cache())
    return result


def _merge(result: ReviewResult, outcomes: list[_Chunk], target: ReviewTarget) -> None:
    from v4code.types import Usage

    usage = Usage()
    raw: list[Finding] = []
    for outcome in outcomes:
        raw.extend(outcome.findings)
        if outcome.usage is not None:
            usage = usage + outcome.usage
        result.cost += outcome.cost
        if outcome.summary:
            result.summaries.append(outcome.summary)
        if outcome.note:
            result.notes.append(outcome.note)
    result.findings = place(raw, target.changed)
    result.usage = usage.to_dict()
    result.requests = len(outcomes)


def _request_template(project: ProjectLayer) -> str:
    from v4code.assets import prompt_path

    return prompt_path("review_request", project).read_text(encoding="utf-8")


def _review_all(
    settings: Settings,
    prompts: tuple[str, str],
    target: ReviewTarget,
    groups: list[list[FileDiff]],
    backend: Backend | None,
    timeout: float,
    kind: str,
    project: ProjectLayer,
) -> list[_Chunk]:
    from v4code.app import load_registry, make_backend

    root = project.root
    backend = backend or make_backend(settings)  # a missing key fails here, before any thread
    tools = list(load_registry(root, only=READ_ONLY_TOOLS, project=project))
    _prune_logs(root)

    def job(index: int) -> Callable[[CancelToken], _Chunk]:
        return lambda cancel: _review_chunk(
            root, settings, prompts, target, groups, index, backend, tools, cancel, kind
        )

    return run_parallel([job(i) for i in range(len(groups))], timeout)


def run_parallel(jobs: list[Callable[[CancelToken], T]], timeout: float) -> list[T]:
    """Run jobs (each given its CancelToken) on up to PARALLEL daemon threads, in order.

    The first failure, the deadline or Ctrl-C cancels the rest and is raised here. Threads are
    daemons, so a request still hanging on the network never holds the process (or the commit).
    """
    from v4code.cancel import CancelToken

    tokens = [CancelToken() for _ in jobs]
    pending = list(range(len(jobs)))
    lock = threading.Lock()
    done: queue.Queue[tuple[int, T | BaseException]] = queue.Queue()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop(0)
            try:
                done.put((i, jobs[i](tokens[i])))
            except BaseException as exc:  # handed to the main thread
                done.put((i, exc))

    for n in range(min(PARALLEL, len(jobs))):
        threading.Thread(target=worker, name=f"v4code-review-{n}", daemon=True).start()
    results: dict[int, T] = {}
    deadline = time.monotonic() + timeout
    try:
        for _ in jobs:
            try:
                i, value = done.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise ReviewTimeout(f"timed out after {timeout:g} s") from None
            if isinstance(value, BaseException):
                raise value
            results[i] = value
    except BaseException:
        with lock:
            pending.clear()
        for token in tokens:
            token.cancel()
        raise
    return [results[i] for i in range(len(jobs))]


def _review_chunk(
    root: Path,
    settings: Settings,
    prompts: tuple[str, str],
    target: ReviewTarget,
    groups: list[list[FileDiff]],
    index: int,
    backend: Backend,
    tools: list[Tool],
    cancel: CancelToken,
    kind: str = "review",
) -> _Chunk:
    from v4code.events import TurnFinished, UsageReported
    from v4code.review.report_tool import FindingsCollector
    from v4code.toolkit import ToolRegistry

    collector = FindingsCollector()
    registry = ToolRegistry([*tools, collector.tool()])
    agent = _agent(root, settings, prompts[0], registry, backend, cancel, kind)
    outcome = _Chunk()
    ends = time.monotonic() + (settings.max_time or 0.0)
    for message in (_request(prompts[1], target, groups, index), NUDGE):
        if cancel.cancelled:  # the deadline passed, or another chunk failed
            raise ReviewTimeout("cancelled")
        status, reason = "done", ""
        for event in agent.submit(message):
            if isinstance(event, UsageReported):
                outcome.usage = (
                    event.usage if outcome.usage is None else outcome.usage + event.usage
                )
                outcome.cost += event.cost
            elif isinstance(event, TurnFinished):
                status, reason = event.status, event.reason
        if status == "error":
            raise BackendError(reason)
        if status == "interrupted":
            raise ReviewTimeout("cancelled")
        if status == "limit" and settings.max_time is not None and time.monotonic() >= ends:
            # The review's time is spent: a nudge would start a turn with a clock of its own.
            raise ReviewTimeout(f"timed out after {settings.max_time:g} s")
        if collector.reported:
            break
    outcome.findings = collector.findings
    outcome.summary = collector.summary
    if not collector.reported:
        names = ", ".join(dict.fromkeys(f.path for f in groups[index]))
        outcome.note = f"the model did not report findings for {names}"
    return outcome


def _request(template: str, target: ReviewTarget, groups: list[list[FileDiff]], index: int) -> str:
    import string

    group = groups[index]
    names = list(dict.fromkeys(f.path for f in group))
    parts = {f.path: f.part for f in group if f.part}
    # The names stand outside the fenced diff: each is kept on its line (textio.one_line).
    shown = ", ".join(
        one_line(n) + (f" (part {parts[n][0]} of {parts[n][1]})" if n in parts else "")
        for n in names
    )
    others = [one_line(f.path) for f in target.files if f.path not in names]
    diff = "".join(numbered(f.text) for f in group)
    if diff and not diff.endswith("\n"):
        diff += "\n"
    fence = code_fence(diff)
    return string.Template(template).safe_substitute(
        description=one_line(target.description),  # `review PATH...` names the paths
        files=shown,
        others=f"\nOther files in this change, reviewed separately: {', '.join(others)}."
        if others
        else "",
        diff=diff,
        fence=fence,
        fence_name=f"{len(fence)} backticks",
    )


def _agent(
    root: Path,
    settings: Settings,
    prompt: str,
    registry: ToolRegistry,
    backend: Backend,
    cancel: CancelToken,
    kind: str = "review",
) -> Agent:
    """An Agent for one chunk, saved with the workspace's sessions under its own kind
    ("review", or "hook" for a commit's review), so `v4code sessions --all` lists it while
    `v4code --continue` and the resume picker never offer it in place of a conversation.
    Built by `app.py`, read-only as `review_settings` made the settings."""
    from v4code.app import task_agent

    meta = {"frontend": "review", "kind": kind, "model": settings.model}
    return task_agent(
        settings,
        root,
        _DenyAll(),
        registry,
        system_prompt=prompt,
        meta=meta,
        backend=backend,
        cancel=cancel,
    )


def _prune_logs(root: Path) -> None:
    """Keep the newest KEEP_LOGS review and hook runs of the workspace."""
    from v4code.sessions import REVIEW_KINDS, list_sessions, session_kind

    try:
        runs = [p for p in list_sessions(root, every=True) if session_kind(p) in REVIEW_KINDS]
        for old in runs[KEEP_LOGS:]:
            old.unlink()
    except OSError:
        pass
