"""A pull request's change as a review target, built from GitHub's list of its files.

Each file's `patch` becomes a `diff --git` section that `diff.split_files` reads as it reads
git's own output, so chunks, skip rules and finding placement are the review's. GitHub omits
the patch of a large file: then both sides are fetched from the pull request's refs (the
contents API) and diffed here. Besides the changed lines, the target keeps the lines GitHub
accepts an inline comment on (the new side's lines inside the hunks of the patches it sent).
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass
from typing import Any

from v4code.forge.github import ForgeError, GitHub
from v4code.review.diff import FileDiff, ReviewTarget, skip_reason, split_files

MAX_CONTENT = 2_000_000  # bytes of one side fetched for a file without a patch


@dataclass(frozen=True)
class PullRequest:
    repo: str  # owner/name
    number: int
    head_sha: str
    base_sha: str
    title: str

    @property
    def path(self) -> str:
        return f"/repos/{self.repo}/pulls/{self.number}"


@dataclass
class PrTarget:
    target: ReviewTarget
    commentable: dict[str, set[int]]  # new-side lines inside the hunks, per file


def fetch_pr(gh: GitHub, repo: str, number: int) -> PullRequest:
    data = gh.get(f"/repos/{repo}/pulls/{number}")
    try:
        return PullRequest(
            repo, number, data["head"]["sha"], data["base"]["sha"], str(data.get("title", ""))
        )
    except (KeyError, TypeError):
        raise ForgeError(
            f"GitHub's answer for pull request #{number} has no head or base"
        ) from None


def pr_target(
    gh: GitHub,
    pr: PullRequest,
    skip_globs: tuple[str, ...] = (),
    secret_files: tuple[str, ...] = (),
) -> PrTarget:
    """The pull request's files as a ReviewTarget; secret-looking files (by name, content or
    the user's `secret_files`, as a local review judges them) never reach the model."""
    from v4code.safety.secret_files import secret_in_text, secret_reason

    kept: list[FileDiff] = []
    skipped: list[tuple[str, str]] = []
    commentable: dict[str, set[int]] = {}
    for entry in gh.pages(f"{pr.path}/files"):
        path = str(entry.get("filename", ""))
        if not path:
            continue
        text = _section(gh, pr, entry)
        files = split_files(text)
        if not files:
            skipped.append((path, "no content change"))
            continue
        f = files[0]
        f.path = path
        why = (
            "secret file"
            if secret_reason(path, globs=secret_files) or secret_in_text(f.text)
            else None
        )
        why = why or skip_reason(f, skip_globs)
        if why is None:
            kept.append(f)
            # A file whose patch GitHub omitted takes no inline comment: its findings go
            # into the review's body.
            commentable[path] = f.hunk_lines if "patch" in entry else set()
        else:
            skipped.append((path, why))
    return PrTarget(ReviewTarget(f"pull request #{pr.number}", kept, skipped), commentable)


def _section(gh: GitHub, pr: PullRequest, entry: dict[str, Any]) -> str:
    """One file of the pull request as a `diff --git` section. Its names keep to their header
    lines (textio.one_line), as in a local review: git allows a newline in a file name, and
    GitHub lists it as it is (the caller keeps the real name)."""
    from v4code.textio import one_line

    real = str(entry["filename"])
    real_old = str(entry.get("previous_filename") or real)
    path, old = one_line(real), one_line(real_old)
    status = str(entry.get("status", "modified"))
    a = "/dev/null" if status == "added" else f"a/{old}"
    b = "/dev/null" if status == "removed" else f"b/{path}"
    head = f"diff --git a/{old} b/{path}\n"
    patch = entry.get("patch")
    if isinstance(patch, str):
        body = patch if patch.endswith("\n") or not patch else patch + "\n"
        return f"{head}--- {a}\n+++ {b}\n{body}" if body else head
    from v4code.diffs import unified_diff

    before = None if status == "added" else _contents(gh, pr.repo, real_old, pr.base_sha)
    after = None if status == "removed" else _contents(gh, pr.repo, real, pr.head_sha)
    if before == after:
        return head  # renamed without a change, or nothing GitHub could show
    text = unified_diff(path, before, after, context=5, label_a=f"a/{old}")
    if text.startswith("Binary file"):
        return f"{head}Binary files {a} and {b} differ\n"
    return head + text


def _contents(gh: GitHub, repo: str, path: str, ref: str) -> bytes | None:
    """A file at `ref` (None when it does not exist there or is too large to fetch). A name
    with a `.`, `..` or empty part is not asked for: it would name another path of the API
    (another repository's contents) that the token can read."""
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    quoted = urllib.parse.quote(path)
    try:
        data = gh.get(f"/repos/{repo}/contents/{quoted}?ref={urllib.parse.quote(ref)}")
    except ForgeError:
        return None
    if not isinstance(data, dict) or data.get("encoding") != "base64":
        return None
    if int(data.get("size", 0) or 0) > MAX_CONTENT:
        return None
    return base64.b64decode(str(data.get("content", "")))
