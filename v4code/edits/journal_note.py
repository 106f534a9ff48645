"""What a resumed conversation is told about the calls its crashed session left unanswered."""

from __future__ import annotations

from collections.abc import Sequence

from v4code.edits.records import BatchRecord

NOT_RUN = "Not run: the session ended before this call could run."


def pending_call_note(rolled_back: Sequence[BatchRecord]) -> str:
    """The result for each unanswered call: plain "not run", unless a batch of this session was
    being applied when it stopped, in which case the model learns that the batch was rolled
    back (so it does not assume the edits exist, nor that nothing ran)."""
    if not rolled_back:
        return NOT_RUN
    parts = []
    for batch in rolled_back:
        parts.append(
            f"v4code stopped while applying an edit batch ({batch.tool or 'edit'}: "
            f"{', '.join(batch.paths)}); after the crash the batch was rolled back, so those "
            "files are as they were before it"
        )
    return (
        "Not run to completion: "
        + "; ".join(parts)
        + ". If this call was that edit, read the files again and redo it."
    )
