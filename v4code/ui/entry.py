"""`v4code` with no subcommand: the interactive chat, or `run` when there is no terminal."""

from __future__ import annotations

import sys
from typing import Any


def start_chat(
    *, prompt: str | None, continue_: bool, resume: str | None, flags: dict[str, Any]
) -> int:
    from v4code.ui.headless_run import run_task

    if prompt is None and not sys.stdin.isatty():
        prompt = sys.stdin.read()
        if not prompt.strip():
            sys.stderr.write("v4code: no task on standard input\n")
            return 2
    if prompt is not None:
        run_flags = {**flags, "permission_mode": flags.get("permission_mode") or "full-auto"}
        # "" resumes the latest session, as `run --continue` does
        resumed = resume if resume is not None else ("" if continue_ else None)
        return run_task(prompt, output="text", flags=run_flags, resume=resumed)
    from v4code.ui.repl import run_repl

    return run_repl(continue_=continue_, resume=resume, flags=flags)
