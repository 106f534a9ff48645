"""The `review` command and the `hook install|uninstall` commands (thin: they call review/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from v4code.errors import ExitCode, V4codeError

SEVERITY = click.Choice(["blocker", "major", "minor", "nit"])
REVIEW_EXIT_HELP = """\b
Exit codes:
  0    no finding on the changed lines reaches --fail-on (with --hook, also when the
       review could not run: fail-open)
  1    a finding on the changed lines reaches --fail-on
  2    usage or configuration error
  3    the review could not run (backend, network, no key, --timeout) without --hook,
       or with --fail-closed
  130  interrupted (Ctrl-C)
"""
SKIP_HINT = "skip once with `git commit --no-verify` or V4CODE_SKIP_REVIEW=1"


@click.command("review", epilog=REVIEW_EXIT_HELP)
@click.argument("paths", nargs=-1)
@click.option("--base", metavar="REF", help="Review the branch's changes since REF (REF...HEAD).")
@click.option("--commit", metavar="SHA", help="Review one commit.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
    show_default=True,
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
@click.option("-m", "--model", help="Review model (default: the review_model setting).")
@click.option("--effort", help="Review effort: none, low, high, max (default: review_effort).")
def review_command(**opts: Any) -> None:
    """Review the staged diff (default), a branch, a commit or paths with DeepSeek V4.

    With PATHS and no --base/--commit, the uncommitted changes in PATHS (new files included).
    """
    if opts["hook"] and os.environ.get("V4CODE_SKIP_REVIEW") == "1":
        click.echo("v4code review: skipped (V4CODE_SKIP_REVIEW=1)", err=True)
        sys.exit(0)
    root, settings, target = _prepare(opts)
    result = _run(root, settings, target, opts)
    if result is None:
        sys.exit(0 if opts["hook"] and not opts["fail_closed"] else ExitCode.BACKEND)
    sys.exit(_report(result, opts))


def _prepare(opts: dict[str, Any]) -> tuple[Path, Any, Any]:
    from v4code.config import load_settings
    from v4code.review.diff import collect
    from v4code.workspace import workspace_root

    root = workspace_root()
    flags = {"review_model": opts["model"], "review_effort": opts["effort"]}
    try:
        loaded = load_settings(root, flags)
        settings = loaded.settings
        for notice in loaded.notices:
            click.echo(f"v4code review: {notice}", err=True)
        globs = tuple(g.strip() for g in settings.review_skip.split(",") if g.strip())
        target = collect(
            root,
            base=opts["base"],
            commit=opts["commit"],
            paths=opts["paths"],
            skip_globs=globs,
            cwd=Path.cwd(),
        )
    except V4codeError as exc:
        click.echo(f"v4code review: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
    return root, settings, target


def _run(root: Path, settings: Any, target: Any, opts: dict[str, Any]) -> Any:
    """The review's result, or None (after saying why) when it could not run."""
    from v4code.review.runner import run_review

    def started(chunks: int) -> None:
        if opts["fmt"] == "text":
            parts = f" in {chunks} parts" if chunks > 1 else ""
            click.echo(
                f"v4code review: reviewing {target.description} ({len(target.files)} file(s)"
                f"{parts}) with {settings.review_model}…",
                err=True,
            )

    try:
        return run_review(
            root, settings, target, timeout=opts["timeout"], use_cache=not opts["no_cache"],
            on_start=started,
        )  # fmt: skip
    except KeyboardInterrupt:
        click.echo("v4code review: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except V4codeError as exc:
        if opts["hook"] and not opts["fail_closed"]:
            click.echo(
                f"v4code review: warning: the review could not run ({exc.message}); "
                "the commit goes ahead unreviewed.",
                err=True,
            )
        else:
            hint = f"; {SKIP_HINT}" if opts["hook"] else ""
            click.echo(f"v4code review: the review could not run: {exc.message}{hint}", err=True)
        return None


def _report(result: Any, opts: dict[str, Any]) -> int:
    from v4code.review.findings import gating
    from v4code.review.output import render_json, render_sarif, render_text

    fail_on = opts["fail_on"]
    code = 1 if gating(result.findings, fail_on) else 0
    if opts["fmt"] == "json":
        click.echo(render_json(result, code, fail_on), nl=False)
    elif opts["fmt"] == "sarif":
        click.echo(render_sarif(result), nl=False)
    else:
        to_stderr = bool(opts["hook"])  # git shows a hook's stderr; stdout may be a pipe
        stream = sys.stderr if to_stderr else sys.stdout
        click.echo(render_text(result, colour=stream.isatty()), nl=False, err=to_stderr)
    if code and opts["hook"]:
        click.echo(
            f"v4code review: commit blocked: findings at or above {fail_on!r} ({SKIP_HINT})",
            err=True,
        )
    return code


@click.group("hook")
def hook_group() -> None:
    """Install or remove v4code's git pre-commit hook."""


@hook_group.command("install")
@click.option("--force", is_flag=True, help="Replace an existing hook instead of chaining it.")
@click.option("--fail-on", type=SEVERITY, help="Passed to the review (default: blocker).")
@click.option("--fail-closed", is_flag=True, help="Refuse commits when the review cannot run.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Passed to the review (seconds).")
def hook_install(
    force: bool, fail_on: str | None, fail_closed: bool, timeout: float | None
) -> None:
    """Write the pre-commit hook (respects core.hooksPath; an existing hook is chained)."""
    from v4code.review.hooks import install
    from v4code.workspace import workspace_root

    args = (["--fail-on", fail_on] if fail_on else []) + (
        ["--timeout", f"{timeout:g}"] if timeout else []
    )
    try:
        click.echo(install(workspace_root(), force=force, args=args, fail_closed=fail_closed))
    except V4codeError as exc:
        click.echo(f"v4code hook: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)


@hook_group.command("uninstall")
def hook_uninstall() -> None:
    """Remove v4code's hook and restore the one it chained or replaced, if any."""
    from v4code.review.hooks import uninstall
    from v4code.workspace import workspace_root

    try:
        click.echo(uninstall(workspace_root()))
    except V4codeError as exc:
        click.echo(f"v4code hook: {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
