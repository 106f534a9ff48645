"""`v4code batch`: scripted refactor jobs (plan, run, status, report, retry, apply, clean)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from v4code.commands import options, say
from v4code.errors import ExitCode

_PATH = click.Path(path_type=Path)
_RUN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group("batch")
def batch_group() -> None:
    """Run one task over many units, each in its own worktree, verified and resumable."""


@batch_group.command("plan")
@click.argument("task")
@click.option("--each", "each", metavar="GLOB", help="One unit per committed file matching GLOB.")
@click.option(
    "--per",
    type=click.Choice(["file", "dir"]),
    default="file",
    show_default=True,
    help="One unit per matching file, or per directory holding matches.",
)
@click.option("--targets", type=_PATH, help="One unit per line of this file (paths).")
@click.option("--discover", is_flag=True, help="A read-only agent pass proposes the units.")
@click.option("--repo", "repos", multiple=True, type=_PATH, help="Repository (repeatable).")
@click.option("--rev", default="HEAD", show_default=True, help="The base commit of every unit.")
@options.model("Model ID for --discover.")
@click.option(
    "-o",
    "--output",
    type=_PATH,
    default=Path("jobs.jsonl"),
    show_default=True,
    help="The manifest to write (JSON lines, one unit each).",
)
def plan_command(
    task: str,
    each: str | None,
    per: str,
    targets: Path | None,
    discover: bool,
    repos: tuple[Path, ...],
    rev: str,
    model: str | None,
    output: Path,
) -> None:
    """Write the work list (JSONL, one unit a line) for TASK; edit it before running."""
    from v4code.jobs import plan
    from v4code.jobs.manifest import manifest_text

    if sum((each is not None, targets is not None, discover)) != 1:
        say("v4code: give exactly one of --each, --targets or --discover", err=True)
        sys.exit(ExitCode.USAGE)
    where = list(repos) or [Path.cwd()]
    if each is not None:
        units = plan.plan_each(where, each, task, per=per, rev=rev)
    elif targets is not None:
        units = plan.plan_targets(where, plan.read_targets(targets), task, rev=rev)
    else:
        from v4code.jobs.discover import agent_proposer
        from v4code.jobs.unit import RunOptions

        units = plan.plan_discover(where, task, agent_proposer(RunOptions(model=model)), rev=rev)
    from v4code.edits.atomic import atomic_write
    from v4code.textio import counted

    atomic_write(output.resolve(), manifest_text(units).encode())
    say(f"{counted(len(units), 'unit')} written to {output}")


@batch_group.command("run")
@click.argument("manifest", type=_PATH, required=False)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Units run at the same time.",
)
@click.option(
    "--verify",
    metavar="CMD",
    help="Run in each worktree, in the sandbox; {tests} and {paths} become quoted file names.",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=1),
    default=1800.0,
    show_default=True,
    help="Seconds --verify may take in a unit.",
)
@click.option(
    "--on-red-base",
    type=click.Choice(["refuse", "warn", "skip"]),
    default="refuse",
    show_default=True,
    help="When --verify fails on the base commit: refuse before spending, warn, or skip the check.",
)
@click.option("--max-cost-per-unit", type=click.FloatRange(min=0), help="USD per unit.")
@options.max_cost("USD for the run: no unit starts after.")
@options.max_steps("Model requests per unit.")
@options.max_time("Seconds per unit.")
@options.model()
@options.profile("Use [profiles.NAME] from your config in every unit.")
@options.permission_mode(
    "Each unit's agent, as in `v4code run` (default: your config's permission_mode, "
    "else full-auto).",
    ("read-only", "auto-edit", "full-auto"),
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run units on this machine, or on a Ray cluster (needs ray installed).",
)
@click.option("--address", help="Ray cluster address (--executor ray; default: start a local one).")
@click.option(
    "--out", type=_PATH, help="The run directory (default: ~/.local/state/v4code/batch/RUN)."
)
@click.option("--resume", type=_RUN_DIR, help="Continue the run in this directory.")
def run_command(manifest: Path | None, resume: Path | None, out: Path | None, **flags: Any) -> None:
    """Run every unit of MANIFEST headless, each in its own worktree and branch."""
    from v4code.jobs.frontend import resume_run, start_run

    if resume is not None:
        code = resume_run(resume)
    elif manifest is None:
        raise click.UsageError("give a MANIFEST, or --resume RUN_DIR")
    else:
        code = start_run(manifest, out, flags)
    sys.exit(code)


@batch_group.command("retry")
@click.argument("run_dir", type=_RUN_DIR)
@click.option("--only", default="red,error", show_default=True, help="Statuses or unit ids.")
def retry_command(run_dir: Path, only: str) -> None:
    """Run the chosen units of RUN_DIR again, each from its base commit."""
    from v4code.jobs.frontend import retry_run

    code = retry_run(run_dir, only)
    sys.exit(code)


@batch_group.command("status")
@click.argument("run_dir", type=_RUN_DIR)
@click.option("--watch/--once", default=None, help="Refresh until every unit has finished.")
def status_command(run_dir: Path, watch: bool | None) -> None:
    """Show each unit's state, the cost so far and the time left."""
    from v4code.jobs.frontend import show_status

    show_status(run_dir, watch)


@batch_group.command("report")
@click.argument("run_dir", type=_RUN_DIR)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    help="text for a terminal, md for a pull request, json for scripts.",
)
def report_command(run_dir: Path, fmt: str) -> None:
    """Counts, per-unit rows, cost, the slowest units and the failures by cause."""
    from v4code.jobs.frontend import show_report

    show_report(run_dir, fmt)


@batch_group.command("apply")
@click.argument("run_dir", type=_RUN_DIR)
@click.option("--only", default="green", show_default=True, help="Statuses or unit ids.")
@click.option("--into", "into", metavar="BRANCH", help="The branch to apply onto.")
@click.option("--patch-dir", type=_PATH, help="Write a patch series here instead.")
def apply_command(run_dir: Path, only: str, into: str | None, patch_dir: Path | None) -> None:
    """Apply the green units onto one branch (never the checkout), or write patches."""
    from v4code.jobs.frontend import apply_run

    code = apply_run(run_dir, only, into, patch_dir)
    sys.exit(code)


@batch_group.command("clean")
@click.argument("run_dir", type=_RUN_DIR)
def clean_command(run_dir: Path) -> None:
    """Remove the worktrees and branches the run made, and nothing else."""
    from v4code.jobs.apply import clean
    from v4code.jobs.state import RunDir
    from v4code.textio import counted

    removed, branches = clean(RunDir(run_dir))
    say(
        f"removed {counted(len(removed), 'worktree')} and {counted(len(branches), 'branch', 'branches')}"
    )
