"""run_command: a shell command in the workspace, with a timeout, capped output, maybe sandboxed."""

from __future__ import annotations

import contextlib
import os
import signal

from v4code.errors import Cancelled, ToolError
from v4code.safety.process import command_env, run_process
from v4code.safety.sandbox import sandboxed
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool

MAX_TIMEOUT = 3600


@tool(risk="command")
def run_command(ctx: ToolContext, command: str, timeout: int = 120) -> ToolOutput:
    """Run a shell command (bash) in the workspace root and return its exit code and output.

    stdout and stderr come back interleaved; very long output keeps its beginning and end.
    There is no terminal and no input: use non-interactive flags (e.g. `git --no-pager`,
    `-y`). The command and everything it started are stopped at the timeout. Each call
    starts afresh in the workspace root (a `cd` does not carry over to the next call).

    Args:
        command: The command line, run with `bash -c`.
        timeout: Seconds before the command is stopped (1 to 3600).
    """
    if not command.strip():
        raise ToolError("The command is empty.")
    if not 1 <= timeout <= MAX_TIMEOUT:
        raise ToolError(f"timeout must be between 1 and {MAX_TIMEOUT} seconds, not {timeout}.")
    root = ctx.resolve(".")
    argv = ["bash", "-c", command]
    cap = max(ctx.output_cap, 1000)
    head = cap // 3
    allow_read = getattr(ctx.settings, "sandbox_allow_read", None) or ()
    try:
        with (
            sandboxed(argv, root, allow_read=allow_read)
            if ctx.sandbox
            else contextlib.nullcontext(argv)
        ) as final_argv:
            result = run_process(
                final_argv,
                cwd=root,
                timeout=timeout,
                cancel=ctx.cancel,
                env=command_env(),
                head_bytes=head,
                tail_bytes=cap - head - 400,
            )
    except OSError as exc:
        raise ToolError(f"Could not start bash: {exc}") from None
    if result.cancelled:
        raise Cancelled()
    if result.timed_out:
        status = [
            f"timed out after {timeout} s; the process group was killed. If the command is "
            "slow rather than stuck, call again with a larger timeout."
        ]
    else:
        status = [f"exit code: {_describe_exit(result.exit_code)}"]
    if result.stopped_background:
        status.append("(processes the command left running in the background were stopped)")
    if ctx.sandbox:
        status.append(
            "(ran in the sandbox: no network; writes only to the workspace, outside .git/)"
        )
    output = _redact(ctx, result.output).rstrip("\n")
    lines = [*status, output if output else "(no output)"]
    data = {
        "command": command,
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "duration": round(result.duration, 3),
    }
    text = cap_output("\n".join(lines), ctx.output_cap)
    # A command that ran and failed is a result, not a failed call; frontends read exit_code.
    return ToolOutput(text, data=data, is_error=result.timed_out)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{code} (killed by {name})"
    return str(code)


def _redact(ctx: ToolContext, text: str) -> str:
    """The API key never goes back to the model or into the session log."""
    key = getattr(ctx.settings, "api_key", None) or os.environ.get("DEEPSEEK_API_KEY")
    if key and len(key) >= 8:
        text = text.replace(key, "[redacted]")
    return text
