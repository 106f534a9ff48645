"""The headless `v4code run` frontend: one task, no questions, a result and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from v4code.errors import ExitCode, V4codeError


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
    from v4code.config import check_cost_limit, load_settings
    from v4code.textio import shown_lines
    from v4code.ui.headless import HeadlessRenderer, PolicyApprover, RunResult

    root = workspace_root(cwd)
    loaded = load_settings(root, flags)
    settings = loaded.settings
    for notice in loaded.notices:
        sys.stderr.write(f"v4code: {shown_lines(notice)}\n")
    cancel = CancelToken()
    from v4code.safety.redact import redactor

    scrub = redactor(settings.api_key)
    renderer = HeadlessRenderer(output, notices=loaded.notices, scrub=scrub)
    try:
        check_cost_limit(settings)
        opened = open_session(
            settings,
            root,
            PolicyApprover(settings.permission_mode),
            resume=resume,
            cancel=cancel,
            meta={"frontend": "run"},
        )
    except V4codeError as exc:
        if output == "text":
            raise
        # A script parsing the output gets a result object that says what went wrong.
        sys.stderr.write(f"v4code: {shown_lines(scrub(exc.message))}\n")
        category = "config" if exc.exit_code == ExitCode.USAGE else "backend"
        failed = RunResult(status="error", reason=scrub(exc.message), error_category=category)
        failed.notices = list(loaded.notices)
        renderer.finish(failed)
        return exc.exit_code
    from v4code.ui.interrupt import sigint_cancels

    try:
        with sigint_cancels(cancel, _say_stopping, _interrupted):
            result = renderer.run(opened.agent.submit(task), opened.agent.session_id)
    finally:
        opened.agent.session.close()
    exit_now(result.exit_code, opened.agent.session.path)
    return result.exit_code


def exit_now(code: int, session_file: Path) -> None:
    """Leave as soon as the result is out: flush stdout and stderr, sync the session log,
    then skip interpreter teardown (most of a second with large module graphs loaded).

    Only when this process owns the real stdout: a caller that swapped it (a test runner,
    an embedding program) gets the exit code returned instead, and so does a profiler or a
    coverage tracer, which writes its results at interpreter exit.
    """
    if sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__:
        return
    if sys.gettrace() is not None or sys.getprofile() is not None or "coverage" in sys.modules:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    try:
        fd = os.open(session_file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    os._exit(code)


def _say_stopping() -> None:
    sys.stderr.write("\nv4code: stopping… (Ctrl-C again to quit at once)\n")
    sys.stderr.flush()


def _interrupted() -> NoReturn:
    sys.stderr.write("\nv4code: interrupted\n")
    raise SystemExit(ExitCode.INTERRUPTED)
