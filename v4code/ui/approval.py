"""The person as the agent's Approver: an edit batch as one diff, a command with where it runs.

Answers, one key each and no Enter: `y` yes; `n` no, then a line for an optional reason for
the model; `a` always, for this tool (edits) or this command prefix (commands), for the rest of
the session. Ctrl-C (or Esc) at the question cancels the turn; nothing is changed. Without a terminal's
single keys (`ask_key`, a v4code.ui.keys.KeyQuestion, not given) a typed line is read instead: `y`, `a`, or `n` with an
optional reason (`n use a constant`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from v4code.cancel import CancelToken
from v4code.events import jsonable
from v4code.protocols import Approval, ApprovalRequest
from v4code.safety.permissions import PermissionPolicy, Verdict, command_prefix
from v4code.textio import one_line, shown_lines
from v4code.ui.render import command_header, diff_renderable, edit_header

YES = ("y", "yes")
KEYS = {"y": "yes", "n": "no", "a": "always"}
NO = ("n", "no")
ALWAYS = ("a", "always")


def parse_answer(text: str) -> tuple[str, str | None] | None:
    """("yes" | "no" | "always", reason) from what the person typed; None if it is unclear."""
    text = text.strip()
    if not text:
        return None
    word, _, rest = text.partition(" ")
    word = word.lower().rstrip(",.:;!")
    if word in YES and not rest.strip():
        return "yes", None
    if word in ALWAYS and not rest.strip():
        return "always", None
    if word in NO:
        return "no", rest.strip(" ,.:;-") or None
    return None


def prefix_covers(tool: str, command: str) -> bool:
    """Whether "always" for this command's prefix would allow this very command again."""
    policy = PermissionPolicy("ask")
    policy.remember(tool, "prefix", command)
    return policy.check(tool, "command", command) is Verdict.ALLOW


def always_scope(request: ApprovalRequest) -> str | None:
    """What "always" remembers for this request (the chat's and an editor's answer alike):
    the tool, or the command's prefix when a remembered prefix would cover this command;
    None for a compound command, which is only ever allowed once."""
    if request.diff is not None or request.command is None:
        return "tool"
    return "prefix" if prefix_covers(request.tool, request.command) else None


class ChatApprover:
    """Shows the proposal, asks, and turns the answer into an Approval."""

    def __init__(
        self,
        ask: Callable[[str], str],
        console: Console,
        *,
        before_ask: Callable[[], None] | None = None,
        after_ask: Callable[[], None] | None = None,
        cancel: CancelToken | None = None,
        ask_key: Callable[[str], str] | None = None,
    ) -> None:
        self.ask = ask
        self.ask_key = ask_key
        self.console = console
        self.before_ask = before_ask or (lambda: None)
        self.after_ask = after_ask or (lambda: None)
        self.cancel = cancel
        self.shown_diffs: set[str] = set()

    def decide(self, request: ApprovalRequest) -> Approval:
        self.before_ask()
        try:
            return self._decide(request)
        finally:
            self.after_ask()

    def _decide(self, request: ApprovalRequest) -> Approval:
        if request.note:
            self.console.print(Text(shown_lines(request.note), style="bold yellow"))
        always = always_scope(request)
        if request.diff is not None:
            self.console.print(edit_header(request.files))
            if request.diff:
                self.console.print(diff_renderable(request.diff))
                self.shown_diffs.add(request.diff)
            question = f"Apply? [y]es  [n]o  [a]lways allow {request.tool} this session: "
        elif request.command is not None:
            self.console.print(command_header(request.command, request.cwd, request.sandboxed))
            if always == "prefix":
                prefix = command_prefix(request.command)
                question = f"Run? [y]es  [n]o  [a]lways allow `{prefix}` this session: "
            else:  # a remembered prefix never covers a compound command: only yes or no
                question = "Run? [y]es  [n]o: "
        else:
            args = one_line(json.dumps(jsonable(request.args), ensure_ascii=False)[:300])
            self.console.print(Text(f"Allow {one_line(request.tool)} {args}", style="bold"))
            question = f"Allow? [y]es  [n]o  [a]lways allow {request.tool}: "
        return self._answer(question, always)

    def _answer(self, question: str, always: str | None) -> Approval:
        while True:
            try:
                parsed = self._read(one_line(question))  # a prefix, a tool name
            except KeyboardInterrupt:
                if self.cancel is not None:
                    self.cancel.cancel()
                self.console.print(Text("Cancelled; nothing was changed.", style="yellow"))
                return Approval(False, "The user interrupted the turn.")
            except EOFError:
                return Approval(False)
            if parsed is None or (parsed[0] == "always" and always is None):
                choices = "y or n" if always is None else "y, n or a"
                how = "Press" if self.ask_key else "Answer"
                self.console.print(Text(f"{how} {choices}; a reason can follow n.", style="dim"))
                continue
            kind, reason = parsed
            if kind == "yes":
                return Approval(True)
            if kind == "always":
                return Approval(True, remember=always)
            if reason is None:
                try:
                    reason = self.ask("Why not? (a reason for the model, Enter to skip): ").strip()
                except (KeyboardInterrupt, EOFError):
                    reason = ""
            return Approval(False, reason=reason or None)

    def _read(self, question: str) -> tuple[str, str | None] | None:
        """The answer as parse_answer gives it: one key when the chat has keys, else a line."""
        if self.ask_key is None:
            return parse_answer(self.ask(question))
        kind = KEYS.get(self.ask_key(question).lower())
        return None if kind is None else (kind, None)
