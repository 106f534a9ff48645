"""`v4code review --pr N`: review a GitHub pull request and post one review on it.

The pull request's code is untrusted: the review runs in an empty folder of its own (no
repository's `.v4code/`, so no project config, prompts or tools), with the read-only tools,
and only what GitHub sent is shown to the model. The model is `pr_review_model` (the Pro
model by default; the commit gate keeps `review_model`). When the model cannot be reached
the run fails open as the hook does: a warning, nothing posted, exit 0 (3 with
--fail-closed). A forge that refuses or cannot be reached is exit 3.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from v4code.errors import ConfigError, ExitCode, V4codeError
from v4code.textio import counted

if TYPE_CHECKING:
    from v4code.config import Settings
    from v4code.forge.github import GitHub
    from v4code.project_layer import ProjectLayer, SessionLayers
    from v4code.review.pr_target import PrTarget, PullRequest
    from v4code.review.runner import ReviewResult


class ReviewRequest(Protocol):
    """What `review --pr` reads of the command's request (review/command.py's ReviewRequest,
    named here by shape: that module calls this one)."""

    @property
    def pr(self) -> int | None: ...
    @property
    def repo(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def effort(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def no_cache(self) -> bool: ...
    @property
    def fail_closed(self) -> bool: ...
    @property
    def no_post(self) -> bool: ...


Say = Callable[..., None]
Report = Callable[["ReviewResult"], int]


def repository(given: str | None) -> str:
    """owner/name: --repo, else GITHUB_REPOSITORY (set in every workflow run), else the
    `origin` remote of the repository v4code runs in."""
    repo = given or os.environ.get("GITHUB_REPOSITORY") or _origin() or ""
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(
            "which GitHub repository holds the pull request? Pass --repo OWNER/NAME, set "
            "GITHUB_REPOSITORY, or add an origin remote"
        )
    return repo


def _origin() -> str | None:
    """owner/name of the `origin` remote (`git@host:owner/name.git`, `https://host/owner/name`)."""
    from v4code.repo.git import run_text

    try:
        url = run_text(Path.cwd(), "remote", "get-url", "origin").strip()
    except V4codeError:
        return None
    path = url.split(":", 1)[1] if url.startswith("git@") else url.split("://", 1)[-1]
    tail = path.removesuffix(".git").rstrip("/").split("/")[-2:]
    return "/".join(tail) if len(tail) == 2 else None


def pr_of_branch(root: Path, given_repo: str | None) -> int:
    """The open pull request whose head is the checked-out branch (`--base REF --post`)."""
    import urllib.parse

    from v4code.forge.github import GitHub
    from v4code.repo.git import run_text

    branch = run_text(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    if not branch or branch == "HEAD":
        raise ConfigError("--post needs a checked-out branch (HEAD is detached)")
    repo = repository(given_repo)
    head = urllib.parse.quote(f"{repo.split('/')[0]}:{branch}", safe="")
    pulls = GitHub.from_env().get(f"/repos/{repo}/pulls?state=open&head={head}")
    if not isinstance(pulls, list) or not pulls:
        raise ConfigError(f"no open pull request for branch {branch!r} in {repo}")
    return int(pulls[0]["number"])


def review_pr(request: ReviewRequest, say: Say, report: Report) -> int:
    """Review pull request `request.pr`, post or update v4code's review, return the exit code.
    `say` and `report` are the review command's (its lines out, its findings printed)."""
    from v4code.forge.github import TOKEN_ENV
    from v4code.project_layer import read_layers
    from v4code.safety.redact import add_secret_env

    assert request.pr is not None
    # The token is a secret from here on: scrubbed from all v4code writes and sends (the
    # review's logs, what is posted) and kept out of any command's environment.
    add_secret_env(TOKEN_ENV)
    with tempfile.TemporaryDirectory(prefix="v4code-pr-") as empty:
        root = Path(empty)
        try:
            layers = read_layers(root)  # the user's config; the folder has no `.v4code/`
            settings = _settings(root, request, say, layers)
            gh = _client(settings)
            pr, target = _fetch(gh, repository(request.repo), request.pr, settings)
        except V4codeError as exc:
            say(f"v4code review: {exc.message}", err=True)
            return ExitCode.USAGE if isinstance(exc, ConfigError) else ExitCode.BACKEND
        result = _review(layers.project, settings, target, request, say)
        if result is None:
            return 0 if not request.fail_closed else ExitCode.BACKEND
        code = report(result)
        if request.no_post:
            return code
        return _publish(gh, pr, target, result, say) or code


def _settings(root: Path, request: ReviewRequest, say: Say, layers: SessionLayers) -> Settings:
    """The user's settings and flags; no repository layer (the folder is empty)."""
    from v4code.config import load_settings

    flags = {
        "pr_review_model": request.model,
        "review_effort": request.effort,
        "profile": request.profile,
    }
    loaded = load_settings(root, flags, layers)
    for notice in loaded.notices:
        say(f"v4code review: {notice}", err=True)
    return loaded.settings.replace(review_model=loaded.settings.pr_review_model)


def _client(settings: Settings) -> GitHub:
    from v4code.forge.github import GitHub
    from v4code.safety.redact import redactor

    return GitHub.from_env(scrub=redactor(settings.api_key))


def _fetch(gh: GitHub, repo: str, number: int, settings: Settings) -> tuple[PullRequest, PrTarget]:
    from v4code.review.pr_target import fetch_pr, pr_target

    pr = fetch_pr(gh, repo, number)
    globs = tuple(g.strip() for g in settings.review_skip.split(",") if g.strip())
    return pr, pr_target(gh, pr, globs, settings.secret_files)


def _review(
    project: ProjectLayer, settings: Settings, target: PrTarget, request: ReviewRequest, say: Say
) -> ReviewResult | None:
    """The review's result, or None (after a warning) when the model could not be reached."""
    from v4code.review.runner import run_review

    files = target.target.files
    say(
        f"v4code review: reviewing {target.target.description} ({counted(len(files), 'file')}) "
        f"with {settings.review_model}…",
        err=True,
    )
    try:
        return run_review(
            project.root, settings, target.target, timeout=request.timeout,
            use_cache=not request.no_cache, kind="review", project=project,
        )  # fmt: skip
    except V4codeError as exc:
        what = "nothing posted" + ("" if request.fail_closed else "; exit 0 (fail-open)")
        say(f"v4code review: warning: the review could not run ({exc.message}); {what}", err=True)
        return None


def _publish(gh: GitHub, pr: PullRequest, target: PrTarget, result: ReviewResult, say: Say) -> int:
    """0 once the review is on the pull request; 3 (said) when GitHub would not take it."""
    from v4code.review.pr_post import sync_review, whoami

    before = gh.requests
    try:
        done = sync_review(gh, pr, result, target.commentable, whoami(gh))
    except V4codeError as exc:
        say(f"v4code review: could not post the review: {exc.message}", err=True)
        return ExitCode.BACKEND
    say(
        f"v4code review: posted on {pr.repo}#{pr.number}: {done.created} new comment(s), "
        f"{done.edited} edited, {done.kept} kept, {done.deleted} deleted, "
        f"{len(done.in_body) + done.folded} in the review body "
        f"({gh.requests - before} GitHub requests)",
        err=True,
    )
    return 0
