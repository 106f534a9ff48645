"""What `v4code review` does once its flags are parsed: collect, review, print, gate.

The exit code is the review's verdict for a hook or CI; every way the review can fail to run
has its own message and code (see REVIEW_EXIT_HELP). Output goes to stdout, except in hook
mode, where git shows a hook's stderr and its stdout may be a pipe.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from v4code.errors import ConfigError, ExitCode, V4codeError
from v4code.textio import shown_lines

if TYPE_CHECKING:
    from v4code.config import Settings
    from v4code.project_layer import ProjectLayer, SessionLayers
    from v4code.review.diff import ReviewTarget
    from v4code.review.runner import ReviewResult

SEVERITIES = ("blocker", "major", "minor", "nit")
REVIEW_EXIT_HELP = """\b
Exit codes:
  0    no finding on the changed lines reaches --fail-on (with --hook, also when the
       review could not run: fail-open)
  1    a finding on the changed lines reaches --fail-on
  2    usage or configuration error
  3    the review could not run (backend, network, no key, --timeout) without --hook,
       or with --fail-closed; with --pr, also when GitHub refused or could not be reached
       (with --pr, a model that cannot be reached posts nothing and exits 0, as --hook does)
  130  interrupted (Ctrl-C)
"""
SKIP_HINT = "skip once with `git commit --no-verify` or V4CODE_SKIP_REVIEW=1"


@dataclass(frozen=True)
class ReviewRequest:
    """The review a user asked for, as the command line spelled it."""

    paths: tuple[str, ...] = ()
    base: str | None = None
    commit: str | None = None
    fmt: str = "text"
    fail_on: str = "blocker"
    hook: bool = False
    fail_closed: bool = False
    timeout: float = 60.0
    no_cache: bool = False
    model: str | None = None
    effort: str | None = None
    profile: str | None = None
    pr: int | None = None
    repo: str | None = None
    post: bool = False

    @property
    def fail_open(self) -> bool:
        """A hook lets the commit through when the review cannot run, unless told otherwise."""
        return self.hook and not self.fail_closed


def review(request: ReviewRequest) -> int:
    """Review what `request` names, print the findings, and return the exit code."""
    if request.hook and os.environ.get("V4CODE_SKIP_REVIEW") == "1":
        _say("v4code review: skipped (V4CODE_SKIP_REVIEW=1)", err=True)
        return 0
    if request.post:
        try:
            request = replace(request, pr=_branch_pr(request), base=None)
        except V4codeError as exc:
            _say(f"v4code review: {exc.message}", err=True)
            return ExitCode.USAGE if isinstance(exc, ConfigError) else ExitCode.BACKEND
    if request.pr is not None:
        if request.base or request.commit or request.paths or request.hook:
            _say("v4code review: --pr takes no PATHS, --base, --commit or --hook", err=True)
            return ExitCode.USAGE
        from v4code.review.pr import review_pr

        return review_pr(request, _say, lambda result: _report(result, request))
    from v4code.project_layer import read_layers

    try:
        root = _workspace()
        layers = read_layers(root)  # `.v4code/` and the user config, read once for the review
        settings, target = _prepare(root, request, layers)
    except V4codeError as exc:
        _say(f"v4code review: {exc.message}", err=True)
        return ExitCode.USAGE
    try:
        result = _run(root, settings, target, request, layers.project)
    except KeyboardInterrupt:
        _say("v4code review: interrupted", err=True)
        return ExitCode.INTERRUPTED
    if result is None:
        return 0 if request.fail_open else ExitCode.BACKEND
    return _report(result, request)


def _branch_pr(request: ReviewRequest) -> int:
    """`--base REF --post`: the number of the branch's open pull request on GitHub."""
    from v4code.review.pr import pr_of_branch

    if request.pr is not None or not request.base:
        raise ConfigError("--post goes with --base REF (or use --pr N)")
    return pr_of_branch(_workspace(), request.repo)


def _workspace() -> Path:
    from v4code.workspace import repository_root

    return repository_root("review")


def _prepare(
    root: Path, request: ReviewRequest, layers: SessionLayers
) -> tuple[Settings, ReviewTarget]:
    from v4code.config import load_settings
    from v4code.review.diff import collect

    flags = {
        "review_model": request.model,
        "review_effort": request.effort,
        "profile": request.profile,
    }
    loaded = load_settings(root, flags, layers)
    settings = loaded.settings
    for notice in loaded.notices:
        _say(f"v4code review: {notice}", err=True)
    globs = tuple(g.strip() for g in settings.review_skip.split(",") if g.strip())
    target = collect(
        root,
        base=request.base,
        commit=request.commit,
        paths=request.paths,
        skip_globs=globs,
        cwd=Path.cwd(),
        secret_files=settings.secret_files,
    )
    return settings, target


def _run(
    root: Path,
    settings: Settings,
    target: ReviewTarget,
    request: ReviewRequest,
    project: ProjectLayer,
) -> ReviewResult | None:
    """The review's result, or None (after saying why) when it could not run."""
    from v4code.review.runner import run_review

    def started(chunks: int) -> None:
        if request.fmt == "text":
            parts = f" in {chunks} parts" if chunks > 1 else ""
            _say(
                f"v4code review: reviewing {target.description} ({len(target.files)} file(s)"
                f"{parts}) with {settings.review_model}…",
                err=True,
            )

    try:
        return run_review(
            root, settings, target, timeout=request.timeout, use_cache=not request.no_cache,
            on_start=started, kind="hook" if request.hook else "review", project=project,
        )  # fmt: skip
    except V4codeError as exc:
        if request.fail_open:
            _say(
                f"v4code review: warning: the review could not run ({exc.message}); "
                "the commit goes ahead unreviewed.",
                err=True,
            )
        else:
            hint = f"; {SKIP_HINT}" if request.hook else ""
            _say(f"v4code review: the review could not run: {exc.message}{hint}", err=True)
        return None


def _report(result: ReviewResult, request: ReviewRequest) -> int:
    from v4code.review.findings import gating
    from v4code.review.output import render_json, render_sarif, render_text

    fail_on = request.fail_on
    code = 1 if gating(result.findings, fail_on) else 0
    if request.fmt == "json":
        _say(render_json(result, code, fail_on), nl=False, raw=True)
    elif request.fmt == "sarif":
        _say(render_sarif(result), nl=False, raw=True)
    else:
        to_stderr = request.hook  # git shows a hook's stderr; stdout may be a pipe
        stream = sys.stderr if to_stderr else sys.stdout
        _say(render_text(result, colour=stream.isatty()), nl=False, err=to_stderr, raw=True)
    if code and request.hook:
        _say(
            f"v4code review: commit blocked: findings at or above {fail_on!r} ({SKIP_HINT})",
            err=True,
        )
    return code


def _say(text: str, *, err: bool = False, nl: bool = True, raw: bool = False) -> None:
    """A line out; through the display sanitiser unless `raw` (the rendered review, which
    sanitised the model's and the diff's text itself and adds its own colours, and JSON)."""
    if not raw:
        text = shown_lines(text)
    stream: TextIO = sys.stderr if err else sys.stdout
    stream.write(text + "\n" if nl else text)
    stream.flush()
