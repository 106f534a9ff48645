"""`v4code review` and `v4code hook install|uninstall`: flags in, v4code.review does the work."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from v4code.commands import options, say
from v4code.errors import ExitCode, V4codeError
from v4code.review.command import REVIEW_EXIT_HELP, SEVERITIES, ReviewRequest, review

SEVERITY = click.Choice(SEVERITIES)
CWD = options.cwd("Work in this directory instead of the current one (as git -C).")


def _enter(cwd: str | None) -> None:
    """-C: the command runs as if started in `cwd`, PATHS relative to it, as with git -C."""
    if cwd is not None:
        os.chdir(cwd)


@click.command("review", epilog=REVIEW_EXIT_HELP)
@click.argument("paths", nargs=-1)
@click.option("--base", metavar="REF", help="Review the branch's changes since REF (REF...HEAD).")
@click.option("--commit", metavar="SHA", help="Review one commit.")
@click.option(
    "--pr", type=click.IntRange(min=1), metavar="N",
    help="Review GitHub pull request N and post one review with inline comments "
    "(GITHUB_TOKEN; GITHUB_API_URL for GitHub Enterprise).",
)  # fmt: skip
@click.option(
    "--post", is_flag=True,
    help="With --base: review the branch's open pull request on GitHub as --pr does.",
)  # fmt: skip
@click.option(
    "--no-post", is_flag=True,
    help="With --pr: print the review (any --format) and post nothing on GitHub.",
)  # fmt: skip
@click.option(
    "--repo",
    metavar="OWNER/NAME",
    help="With --pr: the repository (default: GITHUB_REPOSITORY, else the origin remote).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
    show_default=True, help="text for a terminal, json for scripts, sarif for code scanning.",
)  # fmt: skip
@click.option(
    "--fail-on", type=SEVERITY, default="blocker", show_default=True,
    help="Lowest severity that fails the review (exit 1).",
)  # fmt: skip
@click.option(
    "--hook", is_flag=True,
    help="Hook mode: a review that cannot run warns and lets the commit through.",
)  # fmt: skip
@click.option("--fail-closed", is_flag=True, help="With --hook, refuse when the review cannot run.")
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
    help="Seconds the review may take.",
)  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Ask the model even if this diff was reviewed.")
@options.model("Review model (default: the review_model setting).")
@options.profile()
@options.effort("Review effort: none, low, high, max (default: review_effort).")
@CWD
def review_command(cwd: str | None, **opts: Any) -> None:
    """Review the staged diff (default), a branch, a commit or paths with DeepSeek V4.

    With PATHS and no --base/--commit, the uncommitted changes in PATHS (new files included).
    With --pr N, a GitHub pull request, reviewed with pr_review_model.
    """
    _enter(cwd)
    sys.exit(review(ReviewRequest(**opts)))


class _HookGroup(click.Group):
    """`hook install|uninstall`: a hook that cannot be written or removed is a usage error,
    said as `v4code hook: ...` (exit 2)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except V4codeError as exc:
            say(f"v4code hook: {exc.message}", err=True)
            sys.exit(ExitCode.USAGE)


@click.group("hook", cls=_HookGroup)
def hook_group() -> None:
    """Install or remove v4code's git pre-commit hook."""


@hook_group.command("install")
@click.option("--force", is_flag=True, help="Replace an existing hook instead of chaining it.")
@click.option("--fail-on", type=SEVERITY, help="Passed to the review (default: blocker).")
@click.option("--fail-closed", is_flag=True, help="Refuse commits when the review cannot run.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Passed to the review (seconds).")
@CWD
def hook_install(
    force: bool, fail_on: str | None, fail_closed: bool, timeout: float | None, cwd: str | None
) -> None:
    """Write the pre-commit hook (respects core.hooksPath; an existing hook is chained)."""
    from v4code.review.hooks import install
    from v4code.workspace import repository_root

    _enter(cwd)
    args = (["--fail-on", fail_on] if fail_on else []) + (
        ["--timeout", f"{timeout:g}"] if timeout else []
    )
    root = repository_root("hook install")
    say(install(root, force=force, args=args, fail_closed=fail_closed))


@hook_group.command("uninstall")
@CWD
def hook_uninstall(cwd: str | None) -> None:
    """Remove v4code's hook and restore the one it chained or replaced, if any."""
    from v4code.review.hooks import uninstall
    from v4code.workspace import repository_root

    _enter(cwd)
    say(uninstall(repository_root("hook uninstall")))
