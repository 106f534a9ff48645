"""The session's language servers: started when a file of their language is first checked,
restarted once after a crash and then left off (one notice says so), shut down with the
session. Every question is answered within a deadline, so no server stalls a turn.

`LanguageServers` is the tool context's `diagnostics` seam (the `diagnostics` tool) and what
the after-apply observer (`v4code.lsp.observer`) asks about an edit batch: the errors the
touched files have after the edit that they did not have before it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.errors import ToolError, V4codeError
from v4code.lsp.known import Baseline, unknown
from v4code.lsp.runtime_modules import made_at_run_time
from v4code.lsp.servers import (
    LANGUAGES,
    Language,
    language_of,
    sandbox_obstacle,
    server_argv,
)
from v4code.textio import one_line
from v4code.workspace import relative_to_root, resolve_in_workspace

if TYPE_CHECKING:
    from lsprotocol import types as lsp

    from v4code.cancel import CancelToken
    from v4code.lsp.client import LspClient

__all__ = ["Baseline", "Checked", "LanguageServers", "ServerSettings", "new_errors"]

MAX_STARTS = 2
"""A server is started at most this often in a session: once, and once again after a crash."""
MAX_LATE = 3
"""Edits in a row a running server may leave unanswered within the bound before it is
turned off for the session (each such edit cost the whole bound)."""


PUSH_QUIET = 0.2
"""Seconds a server that only pushes diagnostics may follow a publication for the synced
text with another before the last is taken (pyright's first speaks of the text before)."""
MAX_ERRORS = 100
"""Errors one answer lists at most (a file's, an edit's); the rest are counted."""
MAX_MESSAGE = 500
"""Characters of one error's message kept: a server's text is the repository's to shape."""


WARM_WAIT = 60.0
"""How long a warm-up waits for a starting server before it gives up showing it a file."""
MAX_WARM_BYTES = 1_000_000
"""Files larger than this are not shown to a server when read (an edit still is)."""


@dataclass(frozen=True)
class ServerSettings:
    """What the user's settings say about servers (the wiring reads them, this does not)."""

    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)  # language -> argv
    sandbox: bool = True
    timeout: float = 3.0
    allow_read: tuple[str, ...] = ()
    secret_files: tuple[str, ...] = ()  # the user's globs: files the server is not shown


@dataclass
class Checked:
    """What checking one edit batch found: new errors (`calc.py:12: ...`) and what kept
    the check from being complete (`basedpyright did not answer within 3 s`)."""

    errors: list[str] = field(default_factory=list)  # at most MAX_ERRORS
    notes: list[str] = field(default_factory=list)
    more: int = 0  # new errors left out of `errors`
    checked: bool = False  # a server looked at at least one of the files


@dataclass
class _Slot:
    client: LspClient | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    starts: int = 0  # times its server started (a failed start is not one: it is `off`)
    late: int = 0  # edits in a row the running server did not answer in time
    off: str | None = None  # why this language's server no longer runs


class LanguageServers:
    """One server per language for one workspace."""

    def __init__(self, root: Path, settings: ServerSettings) -> None:
        self.root = root
        self.settings = settings
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._notices: list[str] = []
        self._first: dict[str, Baseline] = {}  # path -> its text and errors, first checked

    def take_notices(self) -> list[str]:
        with self._lock:
            out, self._notices[:] = list(self._notices), []
        return out

    def status(self) -> list[str]:
        """One line for each language whose server was asked for so far in the session:
        `python: basedpyright running (started once)`, or why it does not run."""
        out = []
        for language in LANGUAGES:
            slot = self._slots.get(language.name)
            if slot is None:
                continue
            running = slot.client is not None and slot.client.alive
            state = slot.off or ("running" if running else "stopped")
            starts = "once" if slot.starts == 1 else f"{slot.starts} times"
            started = f" (started {starts})" if slot.starts else ""
            out.append(one_line(f"{language.name:<11}{language.label}: {state}{started}"))
        return out

    # --- servers --------------------------------------------------------------------------

    def _client(self, language: Language) -> LspClient | None:
        """The language's running server, started (or restarted once) now if need be."""
        slot = self._slots.setdefault(language.name, _Slot())
        if slot.off is not None:
            return None
        if slot.client is not None and slot.client.alive:
            return slot.client
        if self._stopped_at_start(language, slot):
            return None
        if slot.client is not None:
            self._stop(slot)
        if slot.starts >= MAX_STARTS:
            self._turn_off(
                slot,
                f"The {language.label} language server stopped twice; "
                f"diagnostics for {language.name} files are off for this session.",
            )
            return None
        slot.client = self._start(language, slot)
        if slot.client is not None:  # `/lsp` counts the starts of a server that ran, only
            slot.starts += 1
        return slot.client

    def _start(self, language: Language, slot: _Slot) -> LspClient | None:
        from v4code.safety.process import command_env
        from v4code.safety.programs import outside_path

        configured = self.settings.commands.get(language.name, ())
        argv = server_argv(language, configured, self.root)
        if argv is None:
            slot.off = "not installed" if not configured else "its command was not found"
            return None
        obstacle = sandbox_obstacle(language, argv[0]) if self.settings.sandbox else None
        if obstacle is not None:
            self._turn_off(slot, f"The {language.label} language server is off: {obstacle}.")
            return None
        path = outside_path(self.root)
        configuration, readable = self._configuration(language, path)
        wrapped = self._sandboxed(argv, slot, readable)
        if wrapped is None:
            return None
        from v4code.lsp.client import LspClient  # the protocol's types: only for a server

        try:
            return LspClient(wrapped, self.root, command_env(PATH=path), configuration)
        except OSError as exc:
            self._turn_off(slot, f"The {language.label} language server did not start: {exc}.")
            return None

    def _configuration(self, language: Language, path: str) -> tuple[dict[str, Any], list[str]]:
        """The settings the server is answered with, and the folders outside the workspace
        it must be able to read for them (the user's activated virtualenv): a Python
        server is told the project's environment (`v4code.lsp.pyenv`)."""
        from v4code.lsp.pyenv import PythonEnvironment, configuration, python_environment

        env = python_environment(self.root, path) if language.name == "python" else None
        return configuration(env or PythonEnvironment()), [
            str(p) for p in (env.readable if env else ())
        ]

    def _sandboxed(
        self, argv: list[str], slot: _Slot, readable: Sequence[str] = ()
    ) -> list[str] | None:
        """The server's command line in the read-only sandbox (`readable`: more folders it
        is shown), or None (off, said once) when the sandbox cannot start here; the user's
        `sandbox = false` runs it as is."""
        if not self.settings.sandbox:
            from v4code.safety.isolation import isolated

            return isolated(argv)
        from v4code.safety.sandbox import SandboxUnavailable, sandboxed
        from v4code.safety.secret_files import secret_paths

        # The server quotes what it reads (a secret's value in a type error): it reads no
        # secret file, each one empty in its view.
        parsed = (".json", *(suffix for lang in LANGUAGES for suffix in lang.suffixes))
        hidden = secret_paths(self.root, self.settings.secret_files, parsed)
        allow = (*self.settings.allow_read, *readable)
        try:
            return slot.stack.enter_context(
                sandboxed(argv, self.root, allow_read=allow, read_only=True, hide=hidden)
            )
        except SandboxUnavailable:
            for other in self._slots.values():
                other.off = other.off or "the sandbox cannot start"
            self._say(
                "Language servers are off: the sandbox cannot start here, and they read the "
                "project only inside it (`sandbox = false` in your config runs them without)."
            )
            return None

    def _stopped_at_start(self, language: Language, slot: _Slot) -> bool:
        """A server that stopped before answering `initialize` never started: it is left
        off with one notice (a restart would stop the same way, and each edit would only say
        "stopped" with no word of why)."""
        client = slot.client
        if client is None or client.alive or client.answered:
            return False
        code = client.exit_code
        self._stop(slot)
        exit_note = "" if code is None else f" (exit {code})"
        self._turn_off(
            slot,
            f"The {language.label} language server stopped as it started{exit_note}, before "
            f"answering; diagnostics for {language.name} files are off for this session "
            "(`v4code lsp status` says what would run).",
        )
        return True

    def _turn_off(self, slot: _Slot, notice: str) -> None:
        slot.off = notice
        self._say(notice)

    def _say(self, notice: str) -> None:
        with self._lock:
            self._notices.append(notice)

    def _stop(self, slot: _Slot) -> None:
        client, slot.client = slot.client, None
        if client is not None:
            client.close()
        slot.stack.close()
        slot.stack = contextlib.ExitStack()

    def close(self) -> None:
        """Shut every server down (the session ends)."""
        for slot in self._slots.values():
            self._stop(slot)

    # --- questions ------------------------------------------------------------------------

    def check_edit(self, changes: Sequence[tuple[str, str | None, str | None]]) -> Checked:
        """The new errors of an applied batch: (path, text before, text after) per file."""
        deadline = time.monotonic() + self.settings.timeout
        found = Checked()
        answered: dict[Language, bool] = {}  # whether its server answered every file
        for path, before, after in changes:
            language = language_of(path)
            if language is None or after is None:
                continue
            client = self._client(language)
            if client is None:
                continue
            full = self.root / path
            base = [] if before is None else _errors(client, full, before, language, deadline)
            now = None if base is None else _errors(client, full, after, language, deadline)
            if now is not None:
                now = [d for d in now if not made_at_run_time(self.root, path, d.message)]
            if base is None or now is None:
                found.notes.append(self._late(language, client))
                answered[language] = False
                continue
            answered.setdefault(language, True)
            found.checked = True
            first = self._first.setdefault(path, Baseline(before, base))
            found.errors += new_errors(path, Baseline(before, base), Baseline(after, now), first)
        found.more = max(0, len(found.errors) - MAX_ERRORS)
        found.errors = found.errors[:MAX_ERRORS]
        found.notes = list(dict.fromkeys(found.notes))
        for language, ok in answered.items():
            self._count_late(language, ok)
        return found

    def _count_late(self, language: Language, answered: bool) -> None:
        """A running server that left MAX_LATE edits in a row unanswered is stopped and
        turned off for the session (one notice), so it no longer costs every edit the bound."""
        slot = self._slots[language.name]
        alive = slot.client is not None and slot.client.alive
        slot.late = 0 if answered or not alive else slot.late + 1
        if slot.late < MAX_LATE:
            return
        self._stop(slot)
        self._turn_off(
            slot,
            f"The {language.label} language server did not answer {MAX_LATE} edits in a row "
            f"within {self.settings.timeout:g} s; diagnostics for {language.name} files are "
            "off for this session.",
        )

    def warm(self, path: str) -> None:
        """Start the server for `path`'s language now (a file of it was read) and show it
        the file in the background, so the first edit finds it warm with a baseline."""
        language = language_of(path)
        try:  # only a file inside the workspace, links resolved
            found = resolve_in_workspace(self.root, path, must_exist=True)
            full = self.root / found.relative_to(self.root)  # named as an edit names it
        except (V4codeError, ValueError):
            return
        if language is None or not full.is_file() or full.stat().st_size > MAX_WARM_BYTES:
            return
        client = self._client(language)
        if client is None or full.as_uri() in client.opened:
            return

        def show() -> None:
            if client.ready(time.monotonic() + WARM_WAIT):
                with contextlib.suppress(OSError):
                    text = full.read_text(encoding="utf-8", errors="replace")
                    client.sync(full, text, language.id_of(full))

        threading.Thread(target=show, name="v4code-lsp-warm", daemon=True).start()

    def _late(self, language: Language, client: LspClient) -> str:
        if self._stopped_at_start(language, self._slots[language.name]):
            return f"the {language.label} language server stopped as it started; it is off"
        if not client.alive:
            return f"the {language.label} language server stopped; no diagnostics this time"
        return f"{language.label} did not answer within {self.settings.timeout:g} s"

    def diagnostics(self, path: Path, cancel: CancelToken) -> Sequence[str]:
        """The current errors of one file (`calc.py:12: ...`); ToolError says why none can
        be had (no server for the file, one that did not answer in time). The workspace's
        root: the errors of every file a server has open (those checked so far)."""
        if path == self.root:
            return self._known_errors()
        rel = path.relative_to(self.root).as_posix()
        language = language_of(rel)
        if language is None:
            names = ", ".join(lang.name for lang in LANGUAGES)
            raise ToolError(f"No language server checks {rel} (servers run for {names} files).")
        client = self._client(language)
        if client is None:
            why = self._slots[language.name].off or "not running"
            raise ToolError(f"No {language.name} language server runs ({why}).")
        deadline = time.monotonic() + self.settings.timeout
        text = path.read_text(encoding="utf-8", errors="replace")
        found = _errors(client, path, text, language, deadline)
        if found is None:
            raise ToolError(self._late(language, client) + ".")
        return _capped([_line(rel, d) for d in found])

    def references(self, path: Path, line: int, name: str) -> list[tuple[str, int]] | None:
        """Where the symbol `name` defined at `line` (1-based) of `path` is used, as the
        server resolves it (type-aware: another class's method of the same name is not one
        of them); None when no server answers for the file within the bound. The file is
        shown to the server and its check awaited first: a server asked before it has
        looked at the file answers that nothing uses it."""
        rel = path.relative_to(self.root).as_posix()
        language = language_of(rel)
        client = None if language is None else self._client(language)
        if language is None or client is None:
            return None
        deadline = time.monotonic() + self.settings.timeout
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        at = name_position(text, line, name)
        if at is None or _errors(client, path, text, language, deadline) is None:
            return None
        from lsprotocol import types as lsp  # here: a second of imports, paid once a server runs

        params = lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=path.as_uri()),
            position=at,
            context=lsp.ReferenceContext(include_declaration=False),
        )
        answer = client.request("textDocument/references", params, deadline)
        return None if not isinstance(answer, list) else self._places(answer)

    def symbols(self, name: str, near: Sequence[Path]) -> list[tuple[str, int, str, str]] | None:
        """The definitions named exactly `name` the server knows anywhere in the workspace
        (`workspace/symbol`): (workspace-relative path, 1-based line of the name, kind such as
        "class", "function", "method", "variable", enclosing class or ""); None when no
        server answers within the bound. The first of `near` (files of the project) in a
        server's language is shown to it and its check awaited first: a server asked before
        its first analysis of the workspace knows of no symbol at all."""
        for path in near:
            language = language_of(path.relative_to(self.root).as_posix())
            if language is not None:
                break
        else:
            return None
        client = self._client(language)
        deadline = time.monotonic() + self.settings.timeout
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if client is None or _errors(client, path, text, language, deadline) is None:
            return None
        answer = client.request("workspace/symbol", {"query": name}, deadline)
        if not isinstance(answer, list):
            return None
        return sorted(found for item in answer if (found := self._symbol(item, name)))

    def _symbol(self, item: object, name: str) -> tuple[str, int, str, str] | None:
        """One `SymbolInformation` (or `WorkspaceSymbol`) named exactly `name` (servers
        match the query loosely) inside the workspace; None for anything else."""
        if not isinstance(item, dict) or item.get("name") != name:
            return None
        try:
            location = item["location"]
            where = self._inside(location["uri"])
            line = int(location["range"]["start"]["line"]) + 1
            kind = _SYMBOL_KINDS.get(int(item["kind"]), "variable")
        except (KeyError, TypeError, ValueError):  # no range (a lazy WorkspaceSymbol), or junk
            return None
        container = item.get("containerName")
        if where is None:
            return None
        return where, line, kind, container if isinstance(container, str) else ""

    def _inside(self, uri: str) -> str | None:
        """The workspace path a server's location names (`..` and links resolved, as every
        tool's path is), or None outside it: what v4code then reads there is the
        workspace's, whatever the server (the repository's own tsserver, say) answers."""
        try:
            real = resolve_in_workspace(self.root, lsp_uri_path(uri))
        except V4codeError:
            return None
        return relative_to_root(self.root, real)

    def _places(self, locations: list[object]) -> list[tuple[str, int]]:
        """(workspace-relative path, 1-based line) of each location inside the workspace,
        sorted, once each (a library's files outside it are left out)."""
        from lsprotocol import types as lsp

        from v4code.lsp.client import CONVERTER  # loaded already: a server answered

        out = set()
        for item in locations:
            try:
                found = CONVERTER.structure(item, lsp.Location)
                where = self._inside(found.uri)
            except Exception:  # noqa: BLE001 - a location that is not one is skipped
                continue
            if where is not None:
                out.add((where, found.range.start.line + 1))
        return sorted(out)

    def _known_errors(self) -> list[str]:
        lines = []
        for slot in self._slots.values():
            client = slot.client
            if client is None or not client.alive:
                continue
            for uri, (_, text) in sorted(client.opened.items()):
                path = Path(lsp_uri_path(uri))
                found = client.current(path, text) or []
                rel = path.relative_to(self.root).as_posix()
                lines += [_line(rel, d) for d in found if _is_error(d)]
        return _capped(lines)


_SYMBOL_KINDS: dict[int, str] = {
    5: "class",  # SymbolKind.Class
    11: "class",  # Interface
    23: "class",  # Struct
    10: "class",  # Enum
    12: "function",  # Function
    6: "method",  # Method
    9: "method",  # Constructor
    2: "module",  # Module
}
"""A server's symbol kinds (the protocol's numbers: its types module is a second of imports,
paid only once a server runs) as the syntax trees name them (the rest are "variable")."""


DEFINITION_LINES = 20
"""Lines after a definition's first (its decorators) searched for the name it defines."""


def name_position(text: str, line: int, name: str) -> lsp.Position | None:
    """Where `name` stands in the definition starting at `line` (1-based): after `def`,
    `class` (or the like) on that line or one of the next few, else its first mention
    there; the column counted in UTF-16 units, as the protocol counts by default."""
    import re

    from lsprotocol import types as lsp

    lines = text.splitlines()[line - 1 : line - 1 + DEFINITION_LINES]
    word = re.escape(name)
    defining = re.compile(rf"\b(?:def|class|func|fn|function|struct|interface|type|enum|trait)"
                          rf"\s+{word}(?![A-Za-z0-9_])")  # fmt: skip
    bare = re.compile(rf"(?<![A-Za-z0-9_]){word}(?![A-Za-z0-9_])")
    for pattern in (defining, bare):
        for offset, source in enumerate(lines):
            match = pattern.search(source)
            if match is not None:
                column = match.end() - len(name)
                units = len(source[:column].encode("utf-16-le")) // 2
                return lsp.Position(line=line - 1 + offset, character=units)
    return None


def lsp_uri_path(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


def _is_error(diagnostic: lsp.Diagnostic) -> bool:
    from lsprotocol import types as lsp

    return diagnostic.severity in (None, lsp.DiagnosticSeverity.Error)


def _errors(
    client: LspClient, path: Path, text: str, language: Language, deadline: float
) -> list[lsp.Diagnostic] | None:
    """The server's errors for `path` holding `text`; None if they did not come in time
    (or the server did not answer `initialize` by then). Asked for where the server answers
    that (the answer is the checked text's), else the last of the publications for the
    synced text that come within PUSH_QUIET of each other."""
    if not client.ready(deadline):
        return None
    if client.pulls(deadline):
        client.sync(path, text, language.id_of(path))
        current = client.pull(path, deadline)
    else:
        current = client.current(path, text)
        if current is None:
            seen = client.published_count(path)
            client.sync(path, text, language.id_of(path))
            settle = max(language.settle, PUSH_QUIET)
            current = client.diagnostics_after(path, seen, deadline, settle)
    if current is None:
        return None
    return [d for d in current if _is_error(d)]


def _line(path: str, diagnostic: lsp.Diagnostic) -> str:
    """`calc.py:12: message`, on one line and bounded, however the server wrote it."""
    message = diagnostic.message
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return f"{path}:{diagnostic.range.start.line + 1}: {one_line(message)}"


def _capped(lines: list[str]) -> list[str]:
    """At most MAX_ERRORS lines, and one saying how many more there were."""
    if len(lines) <= MAX_ERRORS:
        return lines
    return [*lines[:MAX_ERRORS], f"... and {len(lines) - MAX_ERRORS} more"]


def new_errors(
    path: str, before: Baseline, after: Baseline, first: Baseline | None = None
) -> list[str]:
    """The errors in `after` that `before` (or the session's `first` check of the file) did
    not have, as `calc.py:12: message` lines: see `v4code.lsp.known` for what counts as had."""
    return [_line(path, d) for d in unknown(before, after, first)]
