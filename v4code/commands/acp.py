"""`v4code acp`: serve an editor over the Agent Client Protocol on stdin/stdout."""

from __future__ import annotations

from typing import Any

import click

from v4code.commands import options, session_flags
from v4code.errors import ConfigError


@click.command("acp")
@options.permission_mode("Which actions need the editor's yes (default: your config's mode).")
@options.model()
@options.thinking()
@options.effort()
@options.max_steps("Stop a prompt turn after this many model requests.")
@options.max_cost("Stop once this many USD are spent.")
@options.max_time("Stop a prompt turn after this many seconds.")
@options.base_url()
@options.dialect()
@options.profile()
def acp_command(**flags: Any) -> None:
    """Serve an editor (Zed, JetBrains) over the Agent Client Protocol on stdin/stdout.

    The editor opens sessions in its project folders; approvals appear there as permission
    requests. Needs the acp extra (pipx install --force '.[acp]' in a checkout of v4code).
    """
    import asyncio

    try:
        from v4code.ui.acp import serve
    except ImportError as exc:
        raise ConfigError(
            "`v4code acp` needs the Agent Client Protocol SDK: reinstall v4code with its acp "
            "extra (pipx install --force '.[acp]' in a checkout of v4code), or pip install "
            "'agent-client-protocol>=0.12' into v4code's environment"
        ) from exc
    asyncio.run(serve(session_flags(**flags)))
