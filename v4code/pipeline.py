"""One path for every tool call: policy -> (approval) -> before-apply hooks -> apply -> capped result.

The registry has already prepared the call (`ToolRegistry.prepare`: lookup, parse, repair,
validate). From there a read-only tool simply runs. Any other tool yields a `Proposal`: edit
tools return one (a ChangeSet), `run_command` returns one (its apply runs the command), and a
risky tool that returns plain output is wrapped in `DeferredCall` so it only runs once allowed.
The pipeline never knows which kind of proposal it holds, so commands, edit batches and future
MCP calls are asked, applied and recorded the same way.

After the effect, every `AfterApply` observer in `ToolPipeline.after_apply` sees the applied
proposal and its output and returns the output the model gets (a language server's new
errors added to an edit's result). The seam for checks before an effect is `BeforeApply`: every hook in `ToolPipeline.before_apply`
runs after the policy (and the person) allowed a proposal and right before `apply()`. A hook
may raise ToolError to refuse (its message goes to the model, nothing is applied), or return a
reason that a person must say yes first (the Approver is asked then, even in a mode that
would not ask; a fixed-policy Approver refuses). A working-tree snapshot before commands and a
destructive-command guard plug in there.

Secret files (safety/secret_files.py: `.env`, private keys, credential stores) are the one
thing a read needs a yes for: a call that names one (a read, or an edit, whose failure would
quote the file's lines) is asked about in every mode before the tool runs, with a note saying
why, unless the user set `allow_secrets`. Its result is marked `secret` so
the session log keeps a placeholder instead of the content (the model still gets it).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from v4code.errors import Cancelled, ToolError
from v4code.protocols import Approval, ApprovalRequest, Approver, Proposal
from v4code.safety.permissions import PermissionPolicy, Verdict
from v4code.safety.secret_files import SecretFiles
from v4code.textio import one_line
from v4code.toolkit import Invocation, ToolContext, cap_output
from v4code.types import Preview, ToolOutput, ToolResult

BeforeApply = Callable[[Invocation, Proposal, ToolContext], "str | None"]
"""(the call, its proposal, the context) -> None to go on, or why a person must approve it."""

AfterApply = Callable[[Invocation, Proposal, ToolOutput, ToolContext], ToolOutput]
"""(the call, its applied proposal, what applying it gave, the context) -> the output the
model gets: an observer adds what it learnt (a language server's new errors)."""


@dataclass(frozen=True)
class Outcome:
    """What one call came to: the result for the model, and what the turn should know."""

    result: ToolResult
    denied: str | None = None  # what was refused, for the turn's `denied` reason
    changed: tuple[str, ...] = ()
    ends_turn: bool = False
    secret: bool = False  # the result holds a secret file's content: keep it out of the log


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
    after_apply: list[AfterApply] = field(default_factory=list)

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
        turned_away = self.policy.refusal(tool.name, tool.risk)
        if turned_away is not None:  # plan mode: the tool stays listed, the call is refused
            return Outcome(ToolResult(invocation.call.id, turned_away, is_error=True))
        if self.policy.check(tool.name, tool.risk) is Verdict.DENY:
            what = f"{tool.name} is not allowed in {self.policy.mode} mode"
            result = ToolResult(invocation.call.id, f"Denied: {what}.", is_error=True)
            return Outcome(result, denied=what)
        rule = SecretFiles(ctx.root, ctx.secret_files)
        found = secret_paths(invocation, rule)
        if found and not self._secrets_allowed(invocation, ctx):
            named = [(one_line(path), why) for path, why in found]  # the question's one line
            note = rule.note(named)
            refused = self._ask(invocation, Preview(), note, secret=True)
            if refused is not None:
                return refused
        outcome = self._run_allowed(invocation, ctx)
        return dataclasses.replace(outcome, secret=True) if found else outcome

    def _secrets_allowed(self, invocation: Invocation, ctx: ToolContext) -> bool:
        """The user's `allow_secrets`, or "always" answered to this read tool's question (an
        edit tool's "always" came from an edit's question, so it does not count)."""
        tool = invocation.tool
        if ctx.allow_secrets:
            return True
        return tool.risk == "read" and tool.name in self.policy.allowed_tools

    def _run_allowed(self, invocation: Invocation, ctx: ToolContext) -> Outcome:
        tool = invocation.tool
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
        dirty = functools.partial(tree_dirty, ctx.root)
        if self.policy.check(tool.name, tool.risk, preview.command, dirty=dirty) is Verdict.ASK:
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
        output = proposal.apply(ctx)
        for observe in self.after_apply:
            output = _observed(observe, invocation, proposal, output, ctx)
        return self._finish(invocation, output, ctx)

    def _ask(
        self,
        invocation: Invocation,
        preview: Preview,
        note: str | None,
        *,
        guard: str | None = None,
        secret: bool = False,
    ) -> Outcome | None:
        """Ask the Approver; None when allowed, else the refusal for the model. A question
        about a secret file is a question about reading it, whatever the tool: risk "read"."""
        tool, call = invocation.tool, invocation.call
        risk = "read" if secret else tool.risk
        request = ApprovalRequest(
            tool.name, call, invocation.args, risk, preview, note, guard_reason=guard
        )
        approval: Approval = self.approver.decide(request)
        if approval.allowed:
            if not secret or tool.risk == "read":  # an edit's "always" is not for secrets
                self.policy.remember(tool.name, approval.remember, preview.command)
            return None
        what = tool.name + (f" `{preview.command}`" if preview.command else "")
        text = f"The user denied this {tool.name} call; nothing was changed."
        if secret:
            what = f"{tool.name} of a secret file"
            text = f"The user did not allow this {tool.name} call: {note}."
        if approval.reason:
            text += f" Their reason: {approval.reason}"
            what += f" ({approval.reason})"
        return Outcome(ToolResult(call.id, text, is_error=True), denied=what)

    def _finish(self, invocation: Invocation, output: ToolOutput, ctx: ToolContext) -> Outcome:
        text = cap_output(ctx.scrub(output.text), ctx.output_cap)  # no key cut in two by the cap
        result = ToolResult(invocation.call.id, text, output.data, output.is_error)
        ends = output.ends_turn and not output.is_error
        return Outcome(result, changed=output.changed, ends_turn=ends)


def _observed(
    observe: AfterApply,
    invocation: Invocation,
    proposal: Proposal,
    output: ToolOutput,
    ctx: ToolContext,
) -> ToolOutput:
    """What an after-apply observer made of the output; the output as it was if the
    observer failed (the effect happened: its result must reach the model)."""
    try:
        return observe(invocation, proposal, output, ctx)
    except Cancelled:
        raise
    except Exception:  # noqa: BLE001 - an observer's bug must not hide an applied edit
        return output


def secret_paths(invocation: Invocation, rule: SecretFiles) -> list[tuple[str, str]]:
    """(path, why) for each secret file a call names: the paths its summary declares
    and its `path` argument (a symbolic link to a secret file counts as one)."""
    paths = list(invocation.summarise().paths)
    named = invocation.args.get("path")
    if isinstance(named, str):
        paths.append(named)
    return [hit for p in dict.fromkeys(paths) if p and (hit := rule.check(p)) is not None]


def tree_dirty(root: Path) -> bool | None:
    """Whether tracked files have uncommitted changes (None: not known, e.g. no git here);
    the guard asks only for commands such as `git checkout .` that lose nothing otherwise."""
    from v4code.repo import git

    try:
        out = git.run(root, "status", "--porcelain", "--untracked-files=no", timeout=10)
    except (git.GitError, OSError):
        return None
    return bool(out.strip())
