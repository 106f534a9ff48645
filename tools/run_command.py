"""run_command: a shell command in the workspace, with a timeout, capped output, maybe sandboxed.

The tool itself only checks the call and returns a `CommandProposal`; the command runs when the
tool-call pipeline applies it, after the permission policy (and maybe the person) allowed it.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v4code.config import MAX_COMMAND_TIMEOUT
from v4code.edits.snapshot import snapshot_after_command, snapshot_before_command
from v4code.errors import Cancelled, ToolError
from v4code.safety.process import ProcessResult, command_env, run_process
from v4code.safety.sandbox import confined
from v4code.toolkit import ToolContext, ToolOutput, cap_output, tool
from v4code.types import Preview, ToolSummary

MAX_TIMEOUT = MAX_COMMAND_TIMEOUT


def _summary(args: dict[str, Any], data: object) -> ToolSummary:
    """`run pytest -q  exit 1`, `run sleep 999  timed out`."""
    label = f"run {args['command']}"
    ended = data if isinstance(data, dict) else {}
    if ended.get("timed_out"):
        return ToolSummary(label + "  timed out")
    if ended.get("exit_code") is not None:
        return ToolSummary(
            label + f"  exit {ended['exit_code']}", counts={"exit": ended["exit_code"]}
        )
    return ToolSummary(label)


@dataclass(frozen=True)
class CommandProposal:
    """A checked command waiting to run: the approval shows it with where and how it runs."""

    command: str
    timeout: int
    cwd: Path
    sandboxed: bool

    def preview(self) -> Preview:
        return Preview(command=self.command, cwd=str(self.cwd), sandboxed=self.sandboxed)

    def apply(self, ctx: ToolContext) -> ToolOutput:
        return _run(ctx, self)


@tool(risk="command", summary=_summary)
def run_command(ctx: ToolContext, command: str, timeout: int | None = None) -> CommandProposal:
    """Run a shell command (bash) in the workspace root and return its exit code and output.

    stdout and stderr come back interleaved; very long output keeps its beginning and end.
    There is no terminal and no input: use non-interactive flags (e.g. `git --no-pager`,
    `-y`). The command and everything it started are stopped at the timeout. Each call
    starts afresh in the workspace root (a `cd` does not carry over to the next call).

    Args:
        command: The command line, run with `bash -c`.
        timeout: Seconds before the command is stopped (1 to 3600; by default the
            configured command_timeout, 120 unless changed).
    """
    if not command.strip():
        raise ToolError("The command is empty.")
    if timeout is None:
        timeout = ctx.command_timeout
    if not 1 <= timeout <= MAX_TIMEOUT:
        raise ToolError(f"timeout must be between 1 and {MAX_TIMEOUT} seconds, not {timeout}.")
    return CommandProposal(command, timeout, ctx.resolve("."), ctx.sandbox)


def _run(ctx: ToolContext, proposal: CommandProposal) -> ToolOutput:
    command = proposal.command
    bash = ctx.program("bash")  # never a `bash` the workspace holds
    if bash is None and not proposal.sandboxed:  # (the sandbox says why it cannot start)
        raise ToolError("Could not start bash: it was not found on PATH outside the workspace.")
    snapshot_note = snapshot_before_command(ctx, command)  # so `v4code undo` can restore
    planted: list[str] = []
    try:
        result = _execute(ctx, proposal, [bash or "bash", "-c", command])
    finally:
        planted = snapshot_after_command(ctx)  # a nested .git moved aside, a new .v4code/
    if result.cancelled:
        raise Cancelled()
    status = _status(ctx, proposal, result)
    if snapshot_note:
        status.append(snapshot_note)
    status += planted
    if proposal.sandboxed:
        status.append(
            "(ran in the sandbox: no network; writes only to the workspace, outside .git/)"
        )
    output = ctx.scrub(result.output).rstrip("\n")  # before the cap: no key cut in two
    lines = [*status, output if output else "(no output)"]
    data: dict[str, object] = {
        "command": command,
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "duration": round(result.duration, 3),
    }
    if planted:
        data["planted"] = planted  # `v4code run` reports them; a batch unit becomes an error
    text = cap_output("\n".join(lines), ctx.output_cap)
    # A command that ran and failed is a result, not a failed call; frontends read exit_code.
    return ToolOutput(text, data=data, is_error=result.timed_out)


def _execute(ctx: ToolContext, proposal: CommandProposal, argv: list[str]) -> ProcessResult:
    """Run `argv` in the sandbox, or in a PID namespace of its own, with capped output."""
    cap = max(ctx.output_cap, 1000)
    head = cap // 3
    try:
        with confined(
            argv, proposal.cwd, sandbox=proposal.sandboxed, allow_read=ctx.sandbox_allow_read
        ) as final_argv:
            return run_process(
                final_argv,
                cwd=proposal.cwd,
                timeout=proposal.timeout,
                cancel=ctx.cancel,
                env=command_env(),
                head_bytes=head,
                tail_bytes=cap - head - 400,
            )
    except OSError as exc:
        raise ToolError(f"Could not start bash: {exc}") from None


def _status(ctx: ToolContext, proposal: CommandProposal, result: ProcessResult) -> list[str]:
    """How the command ended, in the lines the model reads first."""
    if result.timed_out and ctx.cancel.out_of_time:
        status = ["stopped: the time limit ran out (--max-time); the process group was killed."]
    elif result.timed_out:
        status = [
            f"timed out after {proposal.timeout} s; the process group was killed. If the "
            "command is slow rather than stuck, call again with a larger timeout."
        ]
    else:
        status = [f"exit code: {_describe_exit(result.exit_code)}"]
    if result.stopped_background:
        status.append("(processes the command left running in the background were stopped)")
    return status


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{code} (killed by {name})"
    if 128 < code < 128 + 65:  # a shell's (or a PID namespace's init's) way to say it
        try:
            return f"{code} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return str(code)
