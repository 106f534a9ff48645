"""One review on the pull request, kept up to date: v4code's earlier review and comments are
found by hidden markers (HTML comments GitHub does not show) and brought in line.

On a re-run the earlier review's body is replaced, a comment whose finding still stands is
kept (edited when its text changed), one whose finding is gone is deleted, and the new
findings arrive together in one new review. Findings on lines GitHub takes no comment on
(outside the hunks) are listed in the review's body. The model's text is made inert for
Markdown first: no mention pings anyone, no text passes for a marker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from v4code.forge.github import ForgeError, GitHub
from v4code.review.findings import Finding, counts
from v4code.review.pr_target import PullRequest
from v4code.review.runner import ReviewResult

MARK = "<!-- v4code-review -->"
_FINDING_MARK = "<!-- v4code-finding "


@dataclass
class Synced:
    """What the sync did, for the command's summary line."""

    created: int = 0
    edited: int = 0
    kept: int = 0
    deleted: int = 0
    folded: int = 0  # comments GitHub would not place, listed in the body instead
    in_body: list[Finding] = field(default_factory=list)


def inert(text: str) -> str:
    """Model text as Markdown that pings nobody and cannot pose as a marker."""
    return text.replace("<!--", "&lt;!--").replace("-->", "--&gt;").replace("@", "@\u200b")


def finding_key(f: Finding) -> str:
    raw = "\0".join((f.path, f.category, " ".join(f.message.split())))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def comment_body(f: Finding) -> str:
    text = f"**{f.severity}** ({inert(f.category)}): {inert(f.message)}"
    if f.suggestion:
        text += f"\n\n{inert(f.suggestion)}"
    return f"{text}\n\n{_FINDING_MARK}{finding_key(f)} -->"


def review_body(result: ReviewResult, in_body: list[Finding]) -> str:
    """The review's summary: counts, the model's summaries, findings off the diff's lines."""
    on = ", ".join(f"{n} {s}" for s, n in counts(result.findings, "all").items() if n)
    lines = [f"**v4code review** ({result.model}): {on or 'no findings'}."]
    lines += [inert(s) for s in result.summaries if s.strip()]
    if in_body:
        lines.append("\nFindings outside the diff's lines:")
        lines += [
            f"- `{inert(f.path)}:{f.line}` **{f.severity}** ({inert(f.category)}): "
            f"{inert(f.message)}"
            for f in in_body
        ]
    if result.notes:
        lines.append("\n" + "; ".join(inert(n) for n in result.notes))
    return "\n".join(lines) + f"\n\n{MARK}"


def _marker_of(body: str) -> str | None:
    at = body.rfind(_FINDING_MARK)
    if at < 0:
        return None
    return body[at + len(_FINDING_MARK) :].split(" ", 1)[0].strip() or None


def whoami(gh: GitHub) -> str | None:
    """The login the token posts as: `GET /user`, or in a workflow run (whose token may not
    read it) the Actions bot; None when neither is known."""
    import os

    try:
        me = gh.get("/user")
    except ForgeError:
        me = None
    if isinstance(me, dict) and me.get("login"):
        return str(me["login"])
    return "github-actions[bot]" if os.environ.get("GITHUB_ACTIONS") == "true" else None


def _mine(item: dict[str, Any], me: str | None) -> bool:
    """Written by the token's user (anyone may copy a marker into a review of their own).
    Without a known login nothing is: a new review stacks rather than touch another's."""
    user = item.get("user")
    return me is not None and isinstance(user, dict) and user.get("login") == me


def sync_review(
    gh: GitHub,
    pr: PullRequest,
    result: ReviewResult,
    commentable: dict[str, set[int]],
    me: str | None = None,
) -> Synced:
    """Bring v4code's review of `pr` in line with `result`; nothing stacks. `me`: the login
    v4code posts as; only its own marked review and comments are touched (none when None)."""
    inline = [f for f in result.findings if f.line in commentable.get(f.path, set())]
    done = Synced(in_body=[f for f in result.findings if f not in inline])
    ours = _our_review(gh, pr, me)
    earlier = _our_comments(gh, pr, me)
    new: list[dict[str, Any]] = []
    for f in inline:
        body = comment_body(f)
        same = earlier.get(finding_key(f), [])
        # Kept only on its own line: a comment's line cannot be edited, so one that moved
        # is deleted below and posted anew.
        old = next((c for c in same if c.get("line") == f.line), None)
        if old is None:
            new.append({"path": f.path, "line": f.line, "side": "RIGHT", "body": body})
            continue
        same.remove(old)
        if old.get("body") == body:
            done.kept += 1
        else:
            gh.call("PATCH", f"/repos/{pr.repo}/pulls/comments/{old['id']}", {"body": body})
            done.edited += 1
    for old in (c for same in earlier.values() for c in same):
        gh.call("DELETE", f"/repos/{pr.repo}/pulls/comments/{old['id']}")
        done.deleted += 1
    _post(gh, pr, ours, review_body(result, done.in_body), new, done)
    return done


def _post(
    gh: GitHub,
    pr: PullRequest,
    ours: dict[str, Any] | None,
    body: str,
    new: list[dict[str, Any]],
    done: Synced,
) -> None:
    """The body onto the earlier review (or a first one), the new comments in one review."""
    summary = body
    if ours is not None:
        if ours.get("body") != body:
            gh.call("PUT", f"{pr.path}/reviews/{ours['id']}", {"body": body})
        if not new:
            return
        body = ""  # the summary lives on the first review; this one only carries comments
    payload: dict[str, Any] = {"commit_id": pr.head_sha, "event": "COMMENT", "body": body}
    if new:
        payload["comments"] = new
    try:
        gh.call("POST", f"{pr.path}/reviews", payload)
    except ForgeError as exc:
        if not new or " 422 " not in exc.message:
            raise
        _fold(gh, pr, ours, summary, new, done)
        return
    done.created += len(new)


def _fold(
    gh: GitHub,
    pr: PullRequest,
    ours: dict[str, Any] | None,
    summary: str,
    new: list[dict[str, Any]],
    done: Synced,
) -> None:
    """GitHub would not place the comments (the pull request moved on since it was read):
    they go into the review's body instead, so the review still arrives, once."""
    lines = [
        f"- `{inert(str(c['path']))}:{c['line']}` {str(c['body']).split(_FINDING_MARK)[0].strip()}"
        for c in new
    ]
    text, mark = summary.rsplit(MARK, 1)[0].rstrip(), f"\n\n{MARK}"
    body = text + "\n\nFindings GitHub would not place on their lines:\n" + "\n".join(lines) + mark
    if ours is not None:
        gh.call("PUT", f"{pr.path}/reviews/{ours['id']}", {"body": body})
    else:
        payload = {"commit_id": pr.head_sha, "event": "COMMENT", "body": body}
        gh.call("POST", f"{pr.path}/reviews", payload)
    done.folded = len(new)


def _our_review(gh: GitHub, pr: PullRequest, me: str | None) -> dict[str, Any] | None:
    for review in gh.pages(f"{pr.path}/reviews"):
        if MARK in str(review.get("body") or "") and _mine(review, me):
            return dict(review)
    return None


def _our_comments(gh: GitHub, pr: PullRequest, me: str | None) -> dict[str, list[dict[str, Any]]]:
    """v4code's earlier inline comments by finding key (the same finding may stand on
    several lines; what no finding claims is deleted)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for comment in gh.pages(f"{pr.path}/comments"):
        key = _marker_of(str(comment.get("body") or ""))
        if key is not None and _mine(comment, me):
            found.setdefault(key, []).append(dict(comment))
    return found
