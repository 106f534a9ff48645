"""One-line descriptions of saved sessions, for `v4code sessions` and the chat's /sessions."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from v4code.sessions import list_sessions, session_kind
from v4code.textio import one_line


def first_prompt(path: Path) -> str:
    """The task a session started with (its first user message without the repo map that
    message carries to the model), read without loading the whole file."""
    from v4code.repomap.opening import task_of

    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                message = record.get("message") or {}
                if record.get("type") == "message" and message.get("role") == "user":
                    return " ".join(task_of(str(message.get("content", ""))).split())
    except OSError:
        return ""
    return ""


def session_rows(root: Path, limit: int = 20, *, every: bool = False) -> list[str]:
    """One line per session, newest first: conversations only, or with `every` review and
    hook runs too, each with its kind."""
    files = list_sessions(root, every=every, limit=limit)
    if not files:
        return ["No sessions in this workspace yet."]
    rows = []
    for path in files:
        when = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        prompt = first_prompt(path)
        kind = f"{session_kind(path):<6}  " if every else ""
        rows.append(f"{path.stem}  {when}  {kind}{one_line(prompt[:70])}")  # may quote names
    return rows
