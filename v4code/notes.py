"""Short system notes the model gets in its next request: what changed behind its back.

A note is appended to the history as a system message (the cached prefix stays as it was).
One that cannot be delivered at once (`v4code undo` from another terminal, a chat that quit
before its next turn) waits in the session log as a `note` record until the session goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from v4code.config import PERMISSION_MODES
from v4code.sessions import ResumeState
from v4code.textio import one_line
from v4code.types import Usage

if TYPE_CHECKING:
    from v4code.controls import AgentControls
    from v4code.edits.undo_report import UndoReport


def undo_note(report: UndoReport) -> str | None:
    """The note for an undo, or None when nothing changed."""
    restored = report.restored
    if report.batch is None or not restored:
        return None
    files = report.batch.files  # an edit batch's files; a snapshot has a count
    listed = files if isinstance(files, tuple) else ()
    created = {f.path for f in listed if f.before is None}
    back = [p for p in restored if p not in created]
    gone = [p for p in restored if p in created]
    parts = []
    if back:
        parts.append("restored to their earlier content: " + _names(back))
    if gone:
        parts.append("removed again (they did not exist before): " + _names(gone))
    return (
        "Note: the user undid an earlier change; "
        + "; ".join(parts)
        + ". Those edits are no longer on disk: read the files again before relying on them."
    )


def _names(paths: list[str], limit: int = 20) -> str:
    """Paths a command may have named: each kept on its line of the note (textio.one_line)."""
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(map(one_line, paths[:limit])) + more


def tell_undo(agent: AgentControls, report: UndoReport) -> None:
    """Tell the model in the next request what an undo restored (logged until it is sent)."""
    text = undo_note(report)
    if text:
        agent.session.note(text)
        agent.notes.append(text)


def restore(agent: AgentControls, state: ResumeState, notes: Sequence[str] = ()) -> None:
    """Go on from a saved session: its totals, the settings chosen in it, the notes it owes."""
    if state.total_usage:
        agent.total_usage = Usage.from_dict(state.total_usage)
    agent.total_cost, agent.unpriced_model = state.total_cost, state.unpriced_model
    agent.last_prompt_tokens = agent.cached = state.last_prompt_tokens
    chosen = state.settings
    if isinstance(chosen.get("model"), str) and chosen["model"]:
        agent.set_model(chosen["model"])
    if isinstance(chosen.get("thinking"), bool):
        effort = chosen.get("effort")
        agent.set_thinking(chosen["thinking"], effort if isinstance(effort, str) else None)
    if chosen.get("mode") in PERMISSION_MODES:
        agent.set_mode(str(chosen["mode"]))
    agent.routing.restore(state.routed)  # after set_model: an escalation holds on resume
    for note in notes:
        agent.notes.append(note)
