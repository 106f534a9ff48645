"""Append-only JSONL session logs, one file per session, grouped by workspace.

Each record is written and flushed as it happens, so a crash or Ctrl-C loses nothing and
`--resume` can rebuild the conversation byte for byte (which also keeps DeepSeek's prefix
cache warm). Files are private to the user and never contain the API key.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

from v4code.config import Settings, user_home
from v4code.errors import ConfigError, V4codeError
from v4code.events import SubagentFinished
from v4code.newest_files import newest_files
from v4code.safety.redact import Redactor, redactor
from v4code.safety.secret_files import PLACEHOLDER
from v4code.types import Message, Usage

FORMAT_VERSION = 1
# A session's kind is in its first record. Only conversations are offered to `--continue`,
# `--resume` and the picker; review and hook runs are kept apart (`v4code sessions --all`).
RESUMABLE_KINDS = ("chat", "run", "api", "acp")  # "api": the Python API; "acp": an editor
REVIEW_KINDS = ("review", "hook")


def sessions_dir(root: Path) -> Path:
    """Per-workspace folder: readable name plus a hash so two same-named repos never mix."""
    real = os.path.realpath(root)
    digest = hashlib.sha256(real.encode()).hexdigest()[:12]
    return user_home() / "sessions" / f"{Path(real).name or 'root'}-{digest}"


def new_session_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass
class SessionLog:
    """Writer for one session file; `secret` (the API key) and the secret environment
    variables are scrubbed from every line (safety/redact.py)."""

    path: Path
    session_id: str
    secret: str | None = None
    child: str = ""  # a child agent's log: its records go into the parent's file, tagged
    _redact: Redactor = field(init=False, repr=False)
    _withheld: set[str] = field(default_factory=set, init=False, repr=False)
    _withheld_text: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._redact = redactor(self.secret)

    def withhold(self, call_id: str) -> None:
        """Keep the result of this tool call out of the file (a secret file's content, read
        with the person's yes): the model got it, the log gets a placeholder."""
        self._withheld.add(call_id)

    @classmethod
    def create(cls, root: Path, meta: dict[str, Any], secret: str | None = None) -> SessionLog:
        """A new session file; `meta["kind"]` ("chat", "run", "review", "hook") defaults to
        the frontend's name, else "chat"."""
        session_id = new_session_id()
        directory = sessions_dir(root)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = cls(directory / f"{session_id}.jsonl", session_id, secret)
        log.write(
            {
                "type": "meta",
                "version": FORMAT_VERSION,
                "session_id": session_id,
                "root": os.path.realpath(root),
                "created": time.time(),
                **meta,
                "kind": _kind_of(meta),
            }
        )
        return log

    @classmethod
    def reopen(cls, path: Path, session_id: str, secret: str | None = None) -> SessionLog:
        return cls(path, session_id, secret)

    def for_child(self, child: str) -> SessionLog:
        """The log of a child agent (the `task` tool): its transcript goes into this file as
        `child` records, kept apart from the session's own messages (a resume never reads
        them into the conversation) and from the parent's context. Text the session withholds
        (now or later) stays out of the child's lines too: it is one list, shared."""
        log = SessionLog(self.path, self.session_id, self.secret, child=child)
        log._withheld_text = self._withheld_text
        return log

    def write(self, record: dict[str, Any]) -> None:
        if self.child:
            record = {"type": "child", "child": self.child, "record": record}
        line = json.dumps(record, ensure_ascii=False, default=str)
        for text in self._withheld_text:
            line = line.replace(text, PLACEHOLDER)
        line = self._redact(line)
        # Open, append, close: each record is on disk before the next step, and no handle is
        # left for a crash or a forgotten close() to lose.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def withhold_text(self, text: str) -> None:
        """Keep this text out of the file wherever it appears (a secret file the person
        attached to a message with `@path`)."""
        escaped = json.dumps(text, ensure_ascii=False)[1:-1]  # as it appears inside a line
        if escaped.strip() and escaped not in self._withheld_text:
            self._withheld_text.append(escaped)
            self._withheld_text.sort(key=len, reverse=True)

    def message(self, message: Message) -> None:
        self.write({"type": "message", "message": self._masked(message)})

    def compaction(self, messages: list[Message]) -> None:
        """The compacted history, so a resumed session rebuilds it; withheld results stay out."""
        self.write({"type": "compaction", "messages": [self._masked(m) for m in messages]})

    def _masked(self, message: Message) -> dict[str, Any]:
        data = message.to_dict()
        if message.role == "tool" and message.tool_call_id in self._withheld:
            data["content"] = PLACEHOLDER
        return data

    def event(self, data: dict[str, Any]) -> None:
        result = data.get("result")
        if isinstance(result, dict) and result.get("call_id") in self._withheld:
            data = {**data, "result": {**result, "text": PLACEHOLDER, "data": None}}
        self.write({"type": "event", "event": data})

    def note(self, text: str) -> None:
        """A system note waiting for the next request (see v4code.notes)."""
        self.write({"type": "note", "text": text})

    def close(self) -> None:
        """Nothing stays open between writes; kept so callers can end a session explicitly."""


@dataclass
class SessionData:
    session_id: str
    path: Path
    meta: dict[str, Any]
    messages: list[Message]
    events: list[dict[str, Any]]
    pending_notes: list[str] = field(default_factory=list)  # not yet sent to the model

    @property
    def system(self) -> Message | None:
        return self.messages[0] if self.messages and self.messages[0].role == "system" else None


def read_session(path: Path) -> SessionData:
    """Load a session; a torn last line (crash mid-write) is skipped, not fatal."""
    meta: dict[str, Any] = {}
    messages: list[Message] = []
    events: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise V4codeError(f"cannot read session {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                continue
            raise V4codeError(f"session file {path} is damaged at line {number}") from None
        kind = record.get("type")
        if kind == "meta":
            meta = record
        elif kind == "message":
            messages.append(Message.from_dict(record["message"]))
            notes = []  # a message after a note: the agent sent the note before it
        elif kind == "compaction":  # history was summarised: the system message stays
            messages = messages[:1] + [Message.from_dict(m) for m in record["messages"]]
        elif kind == "event":
            events.append(record["event"])
        elif kind == "note" and isinstance(record.get("text"), str):
            notes.append(record["text"])
    return SessionData(meta.get("session_id", path.stem), path, meta, messages, events, notes)


def leave_note(root: Path, session_id: str, text: str) -> bool:
    """Append a note to a saved session of this workspace (False when there is no such
    session): it reaches the model when the session is resumed."""
    try:
        path = find_session(root, session_id)
    except V4codeError:
        return False
    try:
        SessionLog.reopen(path, session_id).note(text)
    except OSError:  # the undo itself is done; only the note is lost
        return False
    return True


def _kind_of(meta: dict[str, Any]) -> str:
    kind = meta.get("kind") or meta.get("frontend") or "chat"
    return str(kind)


def session_kind(path: Path) -> str:
    """A session file's kind, from its first record (older files: from their frontend)."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = json.loads(fh.readline() or "{}")
    except (OSError, ValueError):
        return "chat"
    return _kind_of(first) if isinstance(first, dict) and first.get("type") == "meta" else "chat"


def _newest_first(directory: Path, stems: Callable[[str], bool] = lambda _: True) -> Iterator[Path]:
    """The session files in `directory` whose id `stems` accepts, newest first; only those
    are looked at (stat), and none is opened."""
    return (path for _, path in newest_files([directory], ".jsonl", stems))


def list_sessions(root: Path, *, every: bool = False, limit: int | None = None) -> list[Path]:
    """This workspace's conversations (every kind with `every`), newest first; at most
    `limit` of them. Files are ordered by stat alone, and only as many first lines are read
    as it takes to find `limit` conversations, so a long history costs no more to show."""
    files = _newest_first(sessions_dir(root))
    if every:
        return list(files if limit is None else islice(files, max(limit, 0)))
    found: list[Path] = []
    for path in files:
        if limit is not None and len(found) >= limit:
            break
        if session_kind(path) in RESUMABLE_KINDS:
            found.append(path)
    return found


def find_session(root: Path, session_id: str | None) -> Path:
    """The file of a conversation's id (a unique prefix is enough), or the latest one.

    Ids are file names: only the files an id names are opened (to read their kind), and for
    the latest one the files newest first until a conversation turns up.
    """
    directory = sessions_dir(root)
    if session_id is None:
        for path in _newest_first(directory):
            if session_kind(path) in RESUMABLE_KINDS:
                return path
        raise ConfigError("there is no saved session for this workspace yet")
    named = list(_newest_first(directory, lambda stem: stem.startswith(session_id)))
    kinds = {path: session_kind(path) for path in named}
    conversations = [p for p in named if kinds[p] in RESUMABLE_KINDS]
    matches = [p for p in conversations if p.stem == session_id] or conversations
    if not matches:
        exact = [p for p in named if p.stem == session_id]
        if exact:
            raise ConfigError(
                f"session {session_id!r} is a {kinds[exact[0]]} run, not a "
                "conversation; it cannot be continued"
            )
        raise ConfigError(f"no session {session_id!r} in this workspace (see `v4code sessions`)")
    if len(matches) > 1:
        raise ConfigError(
            f"session id {session_id!r} is ambiguous: {', '.join(p.stem for p in matches)}"
        )
    return matches[0]


@dataclass(frozen=True)
class ResumeState:
    """What a resumed session goes on from besides its messages: the totals the toolbar and
    the summary show, and the settings chosen during the session (None: not changed)."""

    total_usage: dict[str, Any] | None = None
    total_cost: float = 0.0
    last_prompt_tokens: int = 0
    unpriced_model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # model, thinking, effort, mode
    routed: str | None = None  # where the last model switch led


SETTINGS_EVENT = "settings_changed"


def settings_event(settings: Settings, mode: str) -> dict[str, Any]:
    """The log record of a settings change (model, thinking, effort, permission mode)."""
    s = settings
    return {"type": SETTINGS_EVENT, "model": s.model, "thinking": s.thinking, "mode": mode} | {
        "effort": s.effort
    }


def routed_model(data: SessionData) -> str | None:
    """Where the session's last model switch (v4code.routing) led; None when none did or the
    person chose a model after it."""
    model = data.meta.get("model")
    routed: str | None = None
    for event in data.events:
        if event.get("type") == "model_switched" and isinstance(event.get("to_model"), str):
            routed = event["to_model"]
        elif event.get("type") == SETTINGS_EVENT and event.get("model") != model:
            model, routed = event.get("model"), None
    return routed


def resume_state(data: SessionData) -> ResumeState:
    """Read the last reported totals and the latest settings change from a session's events
    (a session started with `auto` goes on with `auto`, where its switches led)."""
    usage_event: dict[str, Any] | None = None
    totals: dict[str, Any] | None = None  # the latest totals: a request's or a child's
    unpriced: str | None = None
    chosen: dict[str, Any] = {"model": "auto"} if data.meta.get("model") == "auto" else {}
    for event in data.events:
        if event.get("type") in ("usage_reported", "subagent_finished"):
            totals = event if event.get("total_usage") else totals
            usage_event = event if event.get("type") == "usage_reported" else usage_event
            if event.get("priced") is False:
                unpriced = str(event.get("model") or data.meta.get("model") or "this model")
        elif event.get("type") == SETTINGS_EVENT:
            chosen.update(
                {k: v for k, v in event.items() if k in ("model", "thinking", "effort", "mode")}
            )
    routed = routed_model(data)
    if usage_event is None:
        return ResumeState(unpriced_model=unpriced, settings=chosen, routed=routed)
    totals = totals or usage_event
    last = usage_event.get("usage") or {}
    try:
        cost = float(totals.get("total_cost") or 0.0)
        prompt = int(last.get("prompt_tokens", 0)) + int(last.get("completion_tokens", 0))
    except (TypeError, ValueError):  # a damaged record: start the figures from zero
        return ResumeState(settings=chosen, routed=routed)
    return ResumeState(totals.get("total_usage"), cost, prompt, unpriced, chosen, routed)


def finished_children(data: SessionData) -> list[SubagentFinished]:
    """The session's child agents as they ended (what `/cost` lists), from its events; a
    damaged record is left out."""
    found: list[SubagentFinished] = []
    for event in data.events:
        if event.get("type") != "subagent_finished":
            continue
        try:
            found.append(
                SubagentFinished(
                    child=str(event["child"]),
                    name=str(event["name"]),
                    model=str(event["model"]),
                    status=str(event["status"]),
                    steps=int(event.get("steps") or 0),
                    usage=Usage.from_dict(event.get("usage") or {}),
                    cost=float(event.get("cost") or 0.0),
                    priced=event.get("priced") is not False,
                    reason=str(event.get("reason") or ""),
                    brief=str(event.get("brief") or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found
