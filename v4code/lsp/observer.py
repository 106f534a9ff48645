"""After an edit batch is applied: the touched files' new errors, added to the tool result.

The loop knows nothing of servers. The wiring (`app.py`) gives the pipeline this observer's
`after_apply` (it sees each applied proposal and may add to its output) and the agent its
`watch` (a `turn.Watcher`: the `diagnostics` event for `run -o jsonl` and the chat, and the
servers' notices, for the call just finished). Child agents share `after_apply` and get
`watch_child`, so a child's edit has its event in the child's transcript.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from v4code.events import DiagnosticsFound, Event, Notice, ToolFinished

if TYPE_CHECKING:
    from v4code.lsp.manager import LanguageServers
    from v4code.protocols import Proposal
    from v4code.toolkit import Invocation, ToolContext
    from v4code.types import ToolOutput

__all__ = ["DiagnosticsObserver", "MAX_SHOWN"]

MAX_SHOWN = 10
"""New errors listed in one result; the rest are counted."""
WARM_PATHS = 5
"""Files of one call shown to a server ahead of an edit."""


class DiagnosticsObserver:
    def __init__(self, servers: LanguageServers) -> None:
        self.servers = servers
        self._found: dict[str, DiagnosticsFound] = {}
        self._lock = threading.Lock()

    def after_apply(
        self, invocation: Invocation, proposal: Proposal, output: ToolOutput, ctx: ToolContext
    ) -> ToolOutput:
        """The output with the batch's new errors (and what kept the check short) added."""
        changes = _changes(proposal)
        if output.is_error or not changes:
            return output
        checked = self.servers.check_edit(changes)
        if not checked.checked and not checked.notes:
            return output
        shown = checked.errors[:MAX_SHOWN]
        more = len(checked.errors) - len(shown) + checked.more
        lines = []
        if shown:
            lines += ["New errors after this edit:", *shown]
            lines += [f"... and {more} more"] if more > 0 else []
        lines += [f"Diagnostics: {note}." for note in checked.notes]
        event = DiagnosticsFound(invocation.call.id, tuple(checked.errors), tuple(checked.notes))
        with self._lock:
            self._found[invocation.call.id] = event
        if not lines:
            return output
        text = output.text.rstrip("\n") + "\n\n" + "\n".join(lines)
        return dataclasses.replace(output, text=text)

    def watch_child(self, finished: ToolFinished) -> list[Event]:
        """A child agent's watcher: the `diagnostics` event of the child's own edit (the
        after-apply observer is shared, so the child's checks are kept here too); the
        servers' notices are left for the session's own watcher, which the person sees."""
        with self._lock:
            found = self._found.pop(finished.call.id, None)
        return [] if found is None else [found]

    def watch(self, finished: ToolFinished) -> list[Event]:
        """The call's `diagnostics` event, and the servers' notices (one each). A file read
        (or otherwise named) by a call that did not fail starts its language's server."""
        with self._lock:
            found = self._found.pop(finished.call.id, None)
        if found is None and finished.summary is not None and not finished.result.is_error:
            for path in finished.summary.paths[:WARM_PATHS]:
                with contextlib.suppress(Exception):  # a warm-up is only a head start
                    self.servers.warm(path)
        events: list[Event] = [] if found is None else [found]
        return events + [Notice(n) for n in self.servers.take_notices()]


def _changes(proposal: object) -> list[tuple[str, str | None, str | None]]:
    """(path, text before, text after) of each file an edit batch changes (a `ChangeSet`'s
    `changes`); nothing for other proposals (a command's effects are not known file by file)."""
    out = []
    for change in getattr(proposal, "changes", ()):
        path: Any = getattr(change, "path", None)
        if isinstance(path, str):
            out.append((path, _text(getattr(change, "before", None)), _text(change.after)))
    return out


def _text(data: object) -> str | None:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else None
