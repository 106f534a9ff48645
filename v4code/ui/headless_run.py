"""The headless `v4code run` frontend: one task, no questions, a result and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from v4code.errors import ExitCode, V4codeError

if TYPE_CHECKING:
    from v4code.project_layer import SessionLayers
    from v4code.ui.headless import HeadlessRenderer


def run_task(
    task: str,
    *,
    output: str,
    flags: dict[str, Any],
    layers: SessionLayers,
    resume: str | None = None,
    plan: bool = False,
    execute: bool = False,
) -> int:
    """One task to its result; with `plan`, plan mode first: the plan is the answer, or with
    `execute` it is carried out at once under the permission mode (no question asked).
    `layers`: the config files and the workspace's project layer, read once for the start."""
    from v4code.api import start
    from v4code.config import RUN_DEFAULTS, load_settings
    from v4code.textio import shown_lines
    from v4code.ui.headless import HeadlessRenderer, PolicyApprover

    loaded = load_settings(layers.project.root, flags, layers, defaults=RUN_DEFAULTS)
    settings = loaded.settings
    for notice in loaded.notices:
        sys.stderr.write(f"v4code: {shown_lines(notice)}\n")
    from v4code.safety.redact import redactor

    scrub = redactor(settings.api_key)
    renderer = HeadlessRenderer(output, scrub=scrub, plan_only=plan and not execute)
    try:
        session = start(
            loaded,
            layers,
            PolicyApprover(settings.permission_mode),
            resume=resume,
            meta={"frontend": "run"},
        )
    except V4codeError as exc:
        if output == "text":
            raise
        return _not_opened(exc, renderer, scrub, loaded.notices)
    from v4code.ui.interrupt import sigint_cancels

    try:
        with sigint_cancels(session.cancel_token, _say_stopping, _interrupted):
            turn = session.send(task, plan=plan, execute=execute)
            for event in turn:
                renderer.render(event)
            result = turn.result()
            renderer.finish(result)
    finally:
        session.close()  # the language servers too
    exit_now(result.exit_code, session.agent.session.path)
    return result.exit_code


def _not_opened(
    exc: V4codeError,
    renderer: HeadlessRenderer,
    scrub: Callable[[str], str],
    notices: Iterable[str],
) -> int:
    """The session could not open: a script parsing json or jsonl output still gets a result
    object that says what went wrong (the key scrubbed from it), and the error's exit code."""
    from v4code.textio import shown_lines
    from v4code.ui.headless import RunResult

    sys.stderr.write(f"v4code: {shown_lines(scrub(exc.message))}\n")
    category = "config" if exc.exit_code == ExitCode.USAGE else "backend"
    failed = RunResult(status="error", reason=scrub(exc.message), error_category=category)
    failed.notices = list(notices)
    renderer.finish(failed)
    return exc.exit_code


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
    from v4code.dataclass_code import save

    save()  # what atexit would have written
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
