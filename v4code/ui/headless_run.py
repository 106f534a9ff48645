"""The headless `v4code run` frontend: one task, no questions, a result and an exit code."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from v4code.errors import ExitCode


def run_task(
    task: str,
    *,
    output: str,
    flags: dict[str, Any],
    resume: str | None = None,
    cwd: Path | None = None,
) -> int:
    from v4code.app import open_session, workspace_root
    from v4code.cancel import CancelToken
    from v4code.config import load_settings
    from v4code.ui.headless import HeadlessRenderer, PolicyApprover

    root = workspace_root(cwd)
    settings = load_settings(root, flags).settings
    cancel = CancelToken()
    opened = open_session(
        settings,
        root,
        PolicyApprover(settings.permission_mode),
        resume=resume,
        cancel=cancel,
        meta={"frontend": "run"},
    )
    renderer = HeadlessRenderer(output)
    previous = _install_sigint(cancel)
    try:
        result = renderer.run(opened.agent.submit(task), opened.agent.session_id)
    finally:
        signal.signal(signal.SIGINT, previous)
        opened.agent.session.close()
    return result.exit_code


def _install_sigint(cancel: Any) -> Any:
    """First Ctrl-C cancels the turn cleanly; a second one aborts at once."""

    def handler(signum: int, frame: Any) -> None:
        if cancel.cancelled:
            sys.stderr.write("\nv4code: interrupted\n")
            raise SystemExit(ExitCode.INTERRUPTED)
        cancel.cancel()

    return signal.signal(signal.SIGINT, handler)
