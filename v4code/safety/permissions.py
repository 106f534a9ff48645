"""Permission modes as a policy the agent consults before every tool call.

read-only: reads only. ask: edits and commands need approval. auto-edit: edits applied,
commands asked. full-auto: everything allowed, commands in the sandbox.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from enum import Enum

from v4code.config import PERMISSION_MODES


class Verdict(Enum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


_TABLE: dict[str, dict[str, Verdict]] = {
    "read-only": {"read": Verdict.ALLOW, "edit": Verdict.DENY, "command": Verdict.DENY},
    "ask": {"read": Verdict.ALLOW, "edit": Verdict.ASK, "command": Verdict.ASK},
    "auto-edit": {"read": Verdict.ALLOW, "edit": Verdict.ALLOW, "command": Verdict.ASK},
    "full-auto": {"read": Verdict.ALLOW, "edit": Verdict.ALLOW, "command": Verdict.ALLOW},
}


def command_prefix(command: str) -> str:
    """The part of a command an "always allow" remembers: the program and its first word."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return " ".join(words[:2])


@dataclass
class PermissionPolicy:
    mode: str = "ask"
    allowed_tools: set[str] = field(default_factory=set)
    allowed_prefixes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.mode not in PERMISSION_MODES:
            raise ValueError(f"unknown permission mode {self.mode!r}")

    def check(self, tool: str, risk: str, command: str | None = None) -> Verdict:
        verdict = _TABLE[self.mode].get(risk, Verdict.ASK)
        if verdict is not Verdict.ASK:
            return verdict
        if tool in self.allowed_tools:
            return Verdict.ALLOW
        if command is not None and self._prefix_allowed(command):
            return Verdict.ALLOW
        return Verdict.ASK

    def _prefix_allowed(self, command: str) -> bool:
        if any(sep in command for sep in (";", "&&", "||", "|", "`", "$(", ">", "<", "\n")):
            return False  # a remembered prefix never covers a compound command
        return command_prefix(command) in self.allowed_prefixes

    def remember(self, tool: str, kind: str | None, command: str | None = None) -> None:
        if kind == "tool":
            self.allowed_tools.add(tool)
        elif kind == "prefix" and command:
            self.allowed_prefixes.add(command_prefix(command))

    @property
    def sandbox_commands(self) -> bool:
        return self.mode == "full-auto"
