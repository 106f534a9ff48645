"""The `review` command and the `hook install|uninstall` commands (thin: they call review/)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from v4code.errors import ExitCode, V4codeError

REVIEW_EXIT_HELP = """\b
Exit codes:
  0  no finding reaches --fail-on (or, with --hook, the backend failed: fail-open)
  1  a finding on the changed lines reaches --fail-on
  2  usage or configuration error
  3  the review could not run (backend, network, timeout) and --hook was not given
     or --fail-closed was
"""


class ReviewTimeout(Exception):
    pass


@click.command("review", epilog=REVIEW_EXIT_HELP)
@click.argument("paths", nargs=-1)
@click.option("--base", metavar="REF", help="Review the branch's changes since REF (REF...HEAD).")
@click.option("--commit", metavar="SHA", help="Review one commit.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
@click.option(
    "--fail-on",
    type=click.Choice(["blocker", "major", "minor", "nit"]),
    default="blocker",
    show_default=True,
)
@click.option(
    "--hook",
    is_flag=True,
    help="Hook mode: an unreachable backend warns and lets the commit through.",
)
@click.option(
    "--fail-closed",
    is_flag=True,
    help="In hook mode, refuse the commit when the review cannot run.",
)
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds."
)
@click.option("-m", "--model", help="Review model (default: the review_model setting).")
@click.option("--effort", help="Review effort (default: the review_effort setting).")
def review_command(
    paths: tuple[str, ...],
    base: str | None,
    commit: str | None,
    fmt: str,
    fail_on: str,
    hook: bool,
    fail_closed: bool,
    timeout: float,
    model: str | None,
    effort: str | None,
) -> None:
    """Review the staged diff (default), a branch, a commit or paths with DeepSeek V4."""
    if hook and os.environ.get("V4CODE_SKIP_REVIEW") == "1":
        sys.exit(0)
    from v4code.config import load_settings
    from v4code.review.diff import collect
    from v4code.workspace import workspace_root

    root = workspace_root()
    try:
        settings = load_settings(root, {"review_model": model, "review_effort": effort}).settings
        globs = tuple(g.strip() for g in settings.review_skip.split(",") if g.strip())
        target = collect(root, base=base, commit=commit, paths=paths, skip_globs=globs)
    except V4codeError as exc:
        click.echo(f"v4code review: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
    result = _run_with_deadline(root, settings, target, timeout, hook and not fail_closed)
    if result is None:
        sys.exit(0 if hook and not fail_closed else ExitCode.BACKEND)
    from v4code.review.findings import gating
    from v4code.review.output import render_json, render_sarif, render_text

    code = 1 if gating(result.findings, fail_on) else 0
    if fmt == "json":
        click.echo(render_json(result, code), nl=False)
    elif fmt == "sarif":
        click.echo(render_sarif(result), nl=False)
    else:
        stream = sys.stderr if hook else sys.stdout
        click.echo(render_text(result, colour=stream.isatty()), nl=False, err=hook)
        if code:
            click.echo(
                f"v4code review: commit blocked: findings at or above {fail_on!r} (skip once with "
                "`git commit --no-verify` or V4CODE_SKIP_REVIEW=1)",
                err=True,
            )
    sys.exit(code)


def _run_with_deadline(
    root: Path, settings: Any, target: Any, timeout: float, fail_open: bool
) -> Any:
    from v4code.review.runner import run_review

    def expire(signum: int, frame: Any) -> None:
        raise ReviewTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return run_review(root, settings, target)
    except (V4codeError, ReviewTimeout) as exc:
        reason = (
            f"timed out after {timeout:.0f} s" if isinstance(exc, ReviewTimeout) else exc.message
        )
        if fail_open:
            click.echo(
                f"v4code review: warning: the review could not run ({reason}); "
                "the commit goes ahead unreviewed.",
                err=True,
            )
        else:
            click.echo(f"v4code review: the review could not run: {reason}", err=True)
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@click.group("hook")
def hook_group() -> None:
    """Install or remove v4code's git pre-commit hook."""


@hook_group.command("install")
@click.option("--force", is_flag=True, help="Replace an existing hook instead of chaining it.")
@click.option(
    "--fail-on",
    type=click.Choice(["blocker", "major", "minor", "nit"]),
    help="Passed to the review.",
)
@click.option("--fail-closed", is_flag=True, help="Refuse commits when the review cannot run.")
def hook_install(force: bool, fail_on: str | None, fail_closed: bool) -> None:
    """Write .git/hooks/pre-commit (respects core.hooksPath; an existing hook is chained)."""
    from v4code.review.hooks import install
    from v4code.workspace import workspace_root

    args = (["--fail-on", fail_on] if fail_on else []) + (["--fail-closed"] if fail_closed else [])
    try:
        click.echo(install(workspace_root(), force=force, args=args))
    except V4codeError as exc:
        click.echo(f"v4code hook: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)


@hook_group.command("uninstall")
def hook_uninstall() -> None:
    """Remove v4code's hook and restore the one it chained, if any."""
    from v4code.review.hooks import uninstall
    from v4code.workspace import workspace_root

    try:
        click.echo(uninstall(workspace_root()))
    except V4codeError as exc:
        click.echo(f"v4code hook: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
