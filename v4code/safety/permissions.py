"""Permission modes as a policy the agent consults before every tool call.

read-only: reads only. ask: edits and commands need approval. auto-edit: edits applied,
commands asked. full-auto: everything allowed, commands in the sandbox.

Planning (plan mode) is not a permission mode but a phase on top of one: while `planning` is
set, `refusal` turns away every tool that is not a read (the todo tool and `propose_plan` are
reads), with a one-line reason for the model; once the person says yes, the chosen mode
applies. `propose_plan` outside plan mode is refused the same way. The tools stay listed.

Whatever the mode, and whatever prefix was allowed "always", a command the destructive-command
guard flags (`git reset --hard`, `rm -rf ./*`, `curl ... | sh`) needs a person's yes: `check`
answers ASK and `guard_reason(command)` says why, for the approval to show. Only the user's
`allow_destructive` setting lets such commands through unasked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from v4code.config import PERMISSION_MODES

__all__ = ["PROPOSE_PLAN", "PermissionPolicy", "Verdict", "command_prefix"]

PROPOSE_PLAN = "propose_plan"
"""The tool that ends plan mode's turn with a plan for the person to answer."""

Dirty = bool | None | Callable[[], bool | None]
"""Uncommitted changes in the tree: known, unknown (None counts as dirty), or a probe."""


class Verdict(Enum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


def command_prefix(command: str) -> str | None:
    """`safety.prefixes.command_prefix`, imported when first asked: its program tables are
    not built on a start that never remembers or matches a prefix (`v4code run`)."""
    from v4code.safety.prefixes import command_prefix as prefix_of

    return prefix_of(command)


_TABLE: dict[str, dict[str, Verdict]] = {
    "read-only": {"read": Verdict.ALLOW, "edit": Verdict.DENY, "command": Verdict.DENY},
    "ask": {"read": Verdict.ALLOW, "edit": Verdict.ASK, "command": Verdict.ASK},
    "auto-edit": {"read": Verdict.ALLOW, "edit": Verdict.ALLOW, "command": Verdict.ASK},
    "full-auto": {"read": Verdict.ALLOW, "edit": Verdict.ALLOW, "command": Verdict.ALLOW},
}


@dataclass
class PermissionPolicy:
    mode: str = "ask"
    allowed_tools: set[str] = field(default_factory=set)
    allowed_prefixes: set[str] = field(default_factory=set)
    root: Path | None = None  # the workspace the guard judges paths against (default: cwd)
    allow_destructive: bool = False
    planning: bool = False  # plan mode: only reads run until the person approves the plan
    _findings: dict[str, str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.mode not in PERMISSION_MODES:
            raise ValueError(f"unknown permission mode {self.mode!r}")

    def check(
        self, tool: str, risk: str, command: str | None = None, *, dirty: Dirty = None
    ) -> Verdict:
        """ALLOW, ASK or DENY for one call; `dirty` tells the guard about uncommitted changes
        (or is a probe asked only when the guard's finding depends on it)."""
        verdict = _TABLE[self.mode].get(risk, Verdict.ASK)
        if verdict is Verdict.DENY:
            return verdict
        if command is not None and self._guard(command, dirty) is not None:
            return Verdict.ASK
        if verdict is not Verdict.ASK:
            return verdict
        if tool in self.allowed_tools:
            return Verdict.ALLOW
        if command is not None and self._prefix_allowed(command):
            return Verdict.ALLOW
        return Verdict.ASK

    def refusal(self, tool: str, risk: str) -> str | None:
        """Why a call is refused outright in this phase (planning or not), in one line for
        the model; None when the permission mode decides."""
        if self.planning and risk != "read":
            does = {"edit": "changes files", "command": "runs a command"}.get(risk, "has effects")
            return (
                f"Refused while planning: {tool} {does}. Until the user approves the plan only "
                "reading, searching, the repo map and update_plan run; finish with propose_plan."
            )
        if not self.planning and tool == PROPOSE_PLAN:
            return (
                "Refused: propose_plan is for plan mode, which is off. Carry on with the work "
                "and keep the todo list current with update_plan."
            )
        return None

    def guard_reason(self, command: str | None) -> str | None:
        """Why `command` needs approval whatever the mode (None: the guard has no objection)."""
        if command is None or self.allow_destructive:
            return None
        if command not in self._findings:
            self._guard(command, None)
        return self._findings.get(command)

    def _guard(self, command: str, dirty: Dirty) -> str | None:
        if self.allow_destructive:
            return None
        from v4code.safety.command_guard import classify

        root = self.root or Path.cwd()
        if callable(dirty):  # ask the probe only if a clean and a dirty tree differ
            finding = classify(command, root, False)
            if finding is None and classify(command, root, True) is not None:
                finding = classify(command, root, dirty())
        else:
            finding = classify(command, root, dirty)
        reason = finding.reason if finding is not None else None
        if len(self._findings) > 256:
            self._findings.clear()
        self._findings[command] = reason
        return reason

    def _prefix_allowed(self, command: str) -> bool:
        if any(sep in command for sep in (";", "&&", "||", "|", "`", "$(", ">", "<", "\n")):
            return False  # a remembered prefix never covers a compound command
        prefix = command_prefix(command)
        return prefix is not None and prefix in self.allowed_prefixes

    def remember(self, tool: str, kind: str | None, command: str | None = None) -> None:
        if kind == "tool":
            self.allowed_tools.add(tool)
        elif kind == "prefix" and command:
            prefix = command_prefix(command)
            if prefix is not None:  # a command with no meaningful prefix is approved once
                self.allowed_prefixes.add(prefix)

    @property
    def sandbox_commands(self) -> bool:
        return self.mode == "full-auto"
