"""One path for every tool call: policy -> (approval) -> before-apply hooks -> apply -> capped result.

The registry has already prepared the call (`ToolRegistry.prepare`: lookup, parse, repair,
validate). From there a read-only tool simply runs. Any other tool yields a `Proposal`: edit
tools return one (a ChangeSet), `run_command` returns one (its apply runs the command), and a
risky tool that returns plain output is wrapped in `DeferredCall` so it only runs once allowed.
The pipeline never knows which kind of proposal it holds, so commands, edit batches and future
MCP calls are asked, applied and recorded the same way.

The seam for checks before an effect is `BeforeApply`: every hook in `ToolPipeline.before_apply`
runs after the policy (and the person) allowed a proposal and right before `apply()`. A hook
may raise ToolError to refuse (its message goes to the model, nothing is applied), or return a
reason that a person must say yes first (the Approver is asked then, even in a mode that
would not ask; a fixed-policy Approver refuses). A working-tree snapshot before commands and a
destructive-command guard plug in there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from v4code.errors import Cancelled, ToolError
from v4code.protocols import Approval, ApprovalRequest, Approver, Proposal
from v4code.safety.permissions import PermissionPolicy, Verdict
from v4code.toolkit import Invocation, ToolContext, cap_output
from v4code.types import Preview, ToolOutput, ToolResult

BeforeApply = Callable[[Invocation, Proposal, ToolContext], "str | None"]
"""(the call, its proposal, the context) -> None to go on, or why a person must approve it."""


@dataclass(frozen=True)
class Outcome:
    """What one call came to: the result for the model, and what the turn should know."""

    result: ToolResult
    denied: str | None = None  # what was refused, for the turn's `denied` reason
    changed: tuple[str, ...] = ()
    ends_turn: bool = False


@dataclass(frozen=True)
class DeferredCall:
    """A risky tool that acts when called, held back as a proposal until it is allowed."""

    invocation: Invocation
    cwd: str

    def preview(self) -> Preview:
        command = self.invocation.args.get("command")
        if self.invocation.tool.risk == "command" and isinstance(command, str):
            return Preview(command=command, cwd=self.cwd)
        return Preview()

    def apply(self, ctx: ToolContext) -> ToolOutput:
        return as_output(self.invocation.run(ctx))


def as_output(value: object) -> ToolOutput:
    return value if isinstance(value, ToolOutput) else ToolOutput(str(value))


@dataclass
class ToolPipeline:
    """Runs prepared calls under one permission policy and one Approver."""

    policy: PermissionPolicy
    approver: Approver
    before_apply: list[BeforeApply] = field(default_factory=list)

    def run(self, invocation: Invocation, ctx: ToolContext) -> Outcome:
        """Carry one call to its result; a tool's failure becomes an error result."""
        call = invocation.call
        try:
            return self._run(invocation, ctx)
        except ToolError as exc:
            return Outcome(ToolResult(call.id, str(exc), is_error=True))
        except Cancelled:
            raise
        except Exception as exc:  # a tool bug must not end the session
            text = f"{invocation.tool.name} failed: {type(exc).__name__}: {exc}"
            return Outcome(ToolResult(call.id, text, is_error=True))

    def _run(self, invocation: Invocation, ctx: ToolContext) -> Outcome:
        tool = invocation.tool
        if self.policy.check(tool.name, tool.risk) is Verdict.DENY:
            what = f"{tool.name} is not allowed in {self.policy.mode} mode"
            result = ToolResult(invocation.call.id, f"Denied: {what}.", is_error=True)
            return Outcome(result, denied=what)
        if tool.risk == "read" and not tool.proposes:
            return self._finish(invocation, as_output(invocation.run(ctx)), ctx)
        proposal = invocation.run(ctx) if tool.proposes else DeferredCall(invocation, str(ctx.root))
        if not isinstance(proposal, Proposal):  # declared a proposal, returned an answer
            return self._finish(invocation, as_output(proposal), ctx)
        return self._decide_and_apply(invocation, proposal, ctx)

    def _decide_and_apply(
        self, invocation: Invocation, proposal: Proposal, ctx: ToolContext
    ) -> Outcome:
        tool = invocation.tool
        preview = proposal.preview()
        asked = False
        if self.policy.check(tool.name, tool.risk, preview.command) is Verdict.ASK:
            guard = self.policy.guard_reason(preview.command)
            refused = self._ask(invocation, preview, guard, guard=guard)
            if refused is not None:
                return refused
            asked = True
        for hook in self.before_apply:
            note = hook(invocation, proposal, ctx)
            if note and not asked:
                refused = self._ask(invocation, preview, note)
                if refused is not None:
                    return refused
                asked = True
        return self._finish(invocation, proposal.apply(ctx), ctx)

    def _ask(
        self,
        invocation: Invocation,
        preview: Preview,
        note: str | None,
        *,
        guard: str | None = None,
    ) -> Outcome | None:
        """Ask the Approver; None when allowed, else the refusal for the model."""
        tool, call = invocation.tool, invocation.call
        request = ApprovalRequest(
            tool.name, call, invocation.args, tool.risk, preview, note, guard_reason=guard
        )
        approval: Approval = self.approver.decide(request)
        if approval.allowed:
            self.policy.remember(tool.name, approval.remember, preview.command)
            return None
        what = tool.name + (f" `{preview.command}`" if preview.command else "")
        text = f"The user denied this {tool.name} call; nothing was changed."
        if approval.reason:
            text += f" Their reason: {approval.reason}"
            what += f" ({approval.reason})"
        return Outcome(ToolResult(call.id, text, is_error=True), denied=what)

    def _finish(self, invocation: Invocation, output: ToolOutput, ctx: ToolContext) -> Outcome:
        text = cap_output(output.text, ctx.output_cap)
        result = ToolResult(invocation.call.id, text, output.data, output.is_error)
        ends = output.ends_turn and not output.is_error
        return Outcome(result, changed=output.changed, ends_turn=ends)
