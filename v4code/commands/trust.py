"""`v4code trust`: use a repository's `.v4code/` (settings, tools, prompts) from now on."""

from __future__ import annotations

import sys

import click

from v4code.commands import say


@click.command("trust")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--revoke", is_flag=True, help="Stop trusting the repository.")
@click.option("--status", is_flag=True, help="Only show the state (exit 1 when not trusted).")
def trust_command(path: str | None, revoke: bool, status: bool) -> None:
    """Trust a repository's .v4code/ (settings, tools, prompts) as it is now.

    Until then v4code ignores it; any later change to .v4code/ needs trusting again. The
    endpoint, API key, sandbox, wider permission modes and review skips never come from a
    repository, trusted or not.
    """
    from pathlib import Path

    from v4code.safety import trust as workspace_trust
    from v4code.workspace import workspace_root

    root = workspace_root(Path(path) if path is not None else None)
    if revoke:
        known = workspace_trust.revoke(root)
        say(f"{root}: {'no longer trusted' if known else 'was not trusted'}")
        return
    state = workspace_trust.trust_state(root)
    say("\n".join(workspace_trust.describe(state)))
    if status or state.status in ("trusted", "nothing"):
        sys.exit(0 if state.status in ("trusted", "nothing") else 1)
    workspace_trust.grant(root)
    say(f"trusted {state.root / '.v4code'} as it is now")
