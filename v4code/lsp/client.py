"""One language server process, spoken to in JSON-RPC over its stdin and stdout.

A small client on `lsprotocol`'s types (the parameters are built and read as lsprotocol
classes; only the framing is written here) and threads: a tool call is synchronous, and
every wait is bounded by the caller's deadline, so a server that hangs, floods or prints
garbage costs a turn at most that bound. A reader thread takes the server's messages:
answers go to whoever waits for them, `textDocument/publishDiagnostics` is kept per file,
and the server's own requests get an answer (its settings for `workspace/configuration`,
plain acceptance for the rest; a registration of pull diagnostics is noted).

A file's diagnostics are asked for (`textDocument/diagnostic`, "pull") when the server
offers that: the answer speaks of the text just synced, checked. A pushed publication can
speak of the new version before its check is done (pyright publishes a changed file's old
errors under the new version, then the checked ones), so for a server that only pushes the
last of a quick series is taken (see `diagnostics_after`).
A server whose output cannot be parsed is treated as dead (`alive` turns False), as is one
whose process ended; the caller decides whether to start another.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lsprotocol import types as lsp
from lsprotocol.converters import get_converter

__all__ = ["CONVERTER", "FileDiagnostics", "LspClient", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
"""A message longer than this is garbage (or a flood): the server is treated as dead."""

POLL = 0.2
"""Seconds between looks at whether the server's process ended (its pipe may outlive it)."""
REGISTER_WAIT = 1.0
"""Seconds after its `initialize` answer a server has to register pull diagnostics (it does
so once it hears `initialized`) before the client takes it for one that only pushes."""
SERVER_CANCELLED = -32802
"""The error a server answers a request with when a change made it drop the work (ask again)."""

CONVERTER = get_converter()
"""The protocol's types to and from JSON: one for every server (building it takes a while)."""


@dataclass
class FileDiagnostics:
    """What the server last published for one file, and how many times it has published."""

    items: list[lsp.Diagnostic] = field(default_factory=list)
    version: int | None = None
    count: int = 0


class LspClient:
    """A started server: `initialize` is sent at once, the answer awaited by `ready()`."""

    def __init__(
        self,
        argv: Sequence[str],
        root: Path,
        env: Mapping[str, str],
        configuration: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = root
        self.configuration = dict(configuration or {})  # section -> settings, for its asking
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a pipe nobody reads would block a chatty server
            cwd=root,
            env=dict(env),
            start_new_session=True,
        )
        self._lock = threading.Condition()
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._abandoned: set[int] = set()  # requests given up on: their late answers dropped
        self._dead = False
        self._ready = False
        self._ready_at = 0.0  # monotonic time of the `initialize` answer
        self._pull = False  # the server answers `textDocument/diagnostic`
        self.published: dict[str, FileDiagnostics] = {}
        self.pulled: dict[str, tuple[int, list[lsp.Diagnostic]]] = {}  # uri -> (version, items)
        self.opened: dict[str, tuple[int, str]] = {}  # uri -> (version, text) the server has
        self._init_id = self._next_id = 1  # known before the reader can see the answer
        reader = threading.Thread(target=self._read_loop, name="v4code-lsp-reader", daemon=True)
        reader.start()
        init = {"jsonrpc": "2.0", "id": self._init_id, "method": "initialize"}
        self._write(init | _params(self._initialize_params()))

    # --- lifecycle ------------------------------------------------------------------------

    def _initialize_params(self) -> Any:
        uri = self.root.as_uri()
        params = lsp.InitializeParams(
            process_id=None,  # the server lives in a PID namespace of its own
            root_uri=uri,
            workspace_folders=[lsp.WorkspaceFolder(uri=uri, name=self.root.name)],
            capabilities=lsp.ClientCapabilities(
                text_document=lsp.TextDocumentClientCapabilities(
                    publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(
                        version_support=True
                    ),
                    # dynamic: pyright offers pull diagnostics only to a client that can
                    # take their registration
                    diagnostic=lsp.DiagnosticClientCapabilities(dynamic_registration=True),
                    synchronization=lsp.TextDocumentSyncClientCapabilities(),
                ),
                workspace=lsp.WorkspaceClientCapabilities(configuration=True),
            ),
        )
        return CONVERTER.unstructure(params)

    @property
    def alive(self) -> bool:
        return not self._dead and self._proc.poll() is None

    @property
    def answered(self) -> bool:
        """Whether it ever answered `initialize`: one that stops before has not started at
        all (a missing toolchain, a sandbox it cannot run in), and will not the next time."""
        return self._ready

    @property
    def exit_code(self) -> int | None:
        return self._proc.poll()

    def ready(self, deadline: float) -> bool:
        """Whether the server answered `initialize` (waiting until `deadline`, monotonic)."""
        with self._lock:
            while not self._ready and not self._dead:
                left = deadline - time.monotonic()
                if left <= 0 or self._proc.poll() is not None:
                    return False
                self._lock.wait(min(left, POLL))
            return self._ready

    def pulls(self, deadline: float) -> bool:
        """Whether the server answers `textDocument/diagnostic`: said in its `initialize`
        answer, or registered once it heard `initialized` (waited for up to REGISTER_WAIT
        after that answer, and never past `deadline`)."""
        if not self.ready(deadline):
            return False
        with self._lock:
            until = min(deadline, self._ready_at + REGISTER_WAIT)
            while not self._pull and not self._dead:
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return self._pull

    def close(self, grace: float = 1.0) -> None:
        """Ask the server to shut down, then end its process group whatever it answered."""
        from v4code.safety.process import stop_group

        if self.alive and self._ready:
            asked = self._send_request("shutdown", None)
            self._wait_answer(asked, time.monotonic() + grace)
            self.notify("exit", None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(grace)  # a server ends by itself on `exit`
        stop_group(self._proc.pid, grace, self._proc)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    # --- documents ------------------------------------------------------------------------

    def sync(self, path: Path, text: str, language: str) -> None:
        """Make the server's copy of `path` hold `text` (open it, or replace its content)."""
        with self._sync_lock:  # the turn's thread and a warm-up may both sync
            self._sync(path.as_uri(), text, language)

    def _sync(self, uri: str, text: str, language: str) -> None:
        known = self.opened.get(uri)
        if known is not None and known[1] == text:
            return
        version = 1 if known is None else known[0] + 1
        self.opened[uri] = (version, text)  # first: the answer may come before notify returns
        with self._lock:  # a change may alter other files' errors (an import): ask again
            self.pulled.clear()
        if known is None:
            item = lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            self.notify("textDocument/didOpen", lsp.DidOpenTextDocumentParams(text_document=item))
        else:
            change = lsp.TextDocumentContentChangeWholeDocument(text=text)
            doc = lsp.VersionedTextDocumentIdentifier(uri=uri, version=version)
            params = lsp.DidChangeTextDocumentParams(text_document=doc, content_changes=[change])
            self.notify("textDocument/didChange", params)

    def current(self, path: Path, text: str) -> list[lsp.Diagnostic] | None:
        """What the server published for `path` if it already holds `text` and has
        published for that version; None otherwise (sync and wait then)."""
        uri = path.as_uri()
        known = self.opened.get(uri)
        with self._lock:
            pulled = self.pulled.get(uri)
            if known is not None and known[1] == text and pulled and pulled[0] == known[0]:
                return list(pulled[1])
            found = self.published.get(uri)
            if known is None or known[1] != text or found is None or found.count == 0:
                return None
            if found.version is not None and found.version < known[0]:
                return None
            return list(found.items)

    def pull(self, path: Path, deadline: float) -> list[lsp.Diagnostic] | None:
        """The server's diagnostics for the text of `path` last synced, asked for
        (`textDocument/diagnostic`) and kept per version until any file changes or the
        server says they are out of date; None when no answer came by
        `deadline` (the request is then cancelled) or the server failed it. A request the
        server dropped because the file changed meanwhile is asked again."""
        uri = path.as_uri()
        version = self.opened.get(uri, (0, ""))[0]
        with self._lock:
            cached = self.pulled.get(uri)
            if cached is not None and cached[0] == version:
                return list(cached[1])
        params = {"textDocument": {"uri": uri}}
        while True:
            answer = self._wait_answer(
                self._send_request("textDocument/diagnostic", params), deadline
            )
            if answer is None or not _cancelled(answer) or time.monotonic() >= deadline:
                break
        items = _report_items(answer)
        if items is None:
            return None
        with self._lock:
            if self.opened.get(uri, (0, ""))[0] == version:
                self.pulled[uri] = (version, items)
        return list(items)

    def published_count(self, path: Path) -> int:
        with self._lock:
            found = self.published.get(path.as_uri())
            return 0 if found is None else found.count

    def diagnostics_after(
        self, path: Path, seen: int, deadline: float, settle: float = 0.0
    ) -> list[lsp.Diagnostic] | None:
        """The diagnostics published for `path` after the `seen`-th publication and for the
        version last synced, waiting until `deadline`; None if none came in time. With
        `settle`, later publications within that many seconds of each other replace it (a
        server that publishes a file's diagnostics in stages: syntax first, then types)."""
        uri = path.as_uri()
        want = self.opened.get(uri, (None, ""))[0]
        with self._lock:
            while True:
                found = self.published.get(uri)
                fresh = found is not None and found.count > seen
                if fresh and found is not None and _covers(found.version, want):
                    return self._settled(found, settle, deadline)
                left = deadline - time.monotonic()
                if left <= 0 or self._dead or self._proc.poll() is not None:
                    return None
                self._lock.wait(min(left, POLL))

    def _settled(
        self, found: FileDiagnostics, settle: float, deadline: float
    ) -> list[lsp.Diagnostic]:
        """`found`'s items once no publication for the file came for `settle` seconds (or
        at `deadline`, whichever is first); the lock is held by the caller."""
        count = found.count
        quiet_until = min(time.monotonic() + settle, deadline)
        while True:
            left = quiet_until - time.monotonic()
            if left <= 0 or self._dead:
                return list(found.items)
            self._lock.wait(left)
            if found.count != count:
                count = found.count
                quiet_until = min(time.monotonic() + settle, deadline)

    # --- the wire -------------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, **_params(params)})

    def request(self, method: str, params: Any, deadline: float) -> Any:
        """The server's answer to a request (`textDocument/references`, ...), as JSON; None
        when none came by `deadline` (monotonic), the server failed it, or it is not ready."""
        if not self.ready(deadline):
            return None
        answer = self._wait_answer(self._send_request(method, params), deadline)
        return None if answer is None else answer.get("result")

    def _send_request(self, method: str, params: Any) -> int:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        self._write({"jsonrpc": "2.0", "id": ident, "method": method, **_params(params)})
        return ident

    def _wait_answer(self, ident: int, deadline: float) -> dict[str, Any] | None:
        """The answer to request `ident` (the whole message: `result` or `error`); None by
        `deadline`, when the request is cancelled and its late answer will be dropped."""
        with self._lock:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self._dead or self._proc.poll() is not None:
                    self._abandoned.add(ident)
                    break
                self._lock.wait(min(left, POLL))
            else:
                return self._answers.pop(ident)
        if self.alive:
            self.notify("$/cancelRequest", {"id": ident})
        return None

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        stdin = self._proc.stdin
        with self._write_lock:
            try:
                assert stdin is not None
                stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                stdin.flush()
            except (OSError, ValueError):
                self._mark_dead()

    def _mark_dead(self) -> None:
        with self._lock:
            self._dead = True
            self._lock.notify_all()

    def _read_loop(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            while True:
                message = _read_message(stdout)
                if message is None:
                    break
                self._dispatch(message)
        except Exception:  # noqa: BLE001 - garbage on stdout: the server is no use any more
            pass
        self._mark_dead()

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if isinstance(method, str) and "id" in message:  # the server asks something
            with self._lock:
                if method == "client/registerCapability" and _registers_pull(message):
                    self._pull = True
                    self._lock.notify_all()
                if method == "workspace/diagnostic/refresh":  # what was pulled is out of date
                    self.pulled.clear()
            answer = _answer(message, self.configuration)
            self._write({"jsonrpc": "2.0", "id": message["id"], "result": answer})
            return
        if method == "textDocument/publishDiagnostics":
            self._take_diagnostics(message.get("params"))
            return
        ident = message.get("id")
        if isinstance(ident, int) and method is None:
            if ident == self._init_id:
                self.notify("initialized", lsp.InitializedParams())
            with self._lock:
                if ident == self._init_id:
                    self._ready = "error" not in message
                    self._dead = self._dead or not self._ready
                    self._ready_at = time.monotonic()
                    self._pull = self._pull or _offers_pull(message.get("result"))
                elif ident in self._abandoned:
                    self._abandoned.discard(ident)
                else:
                    self._answers[ident] = message
                self._lock.notify_all()

    def _take_diagnostics(self, raw: object) -> None:
        """Keep a publication for a file the server was shown; others (a whole workspace's,
        a flood) are dropped unread, so they cost no parsing."""
        uri = raw.get("uri") if isinstance(raw, dict) else None
        if uri not in self.opened:
            return
        try:
            params = CONVERTER.structure(raw, lsp.PublishDiagnosticsParams)
        except Exception:  # noqa: BLE001 - one bad message is skipped, not fatal
            return
        with self._lock:
            found = self.published.setdefault(params.uri, FileDiagnostics())
            found.items, found.version = list(params.diagnostics), params.version
            found.count += 1
            self._lock.notify_all()


def _covers(published: int | None, synced: int | None) -> bool:
    """Whether a publication for version `published` speaks of the `synced` text (a server
    that does not say which version it checked is taken at its word)."""
    return published is None or synced is None or published >= synced


def _offers_pull(result: object) -> bool:
    """Whether an `initialize` answer names a `diagnosticProvider` (pull diagnostics)."""
    capabilities = result.get("capabilities") if isinstance(result, dict) else None
    return isinstance(capabilities, dict) and bool(capabilities.get("diagnosticProvider"))


def _registers_pull(request: dict[str, Any]) -> bool:
    """Whether a `client/registerCapability` request registers `textDocument/diagnostic`."""
    params = request.get("params")
    found = params.get("registrations") if isinstance(params, dict) else None
    return any(
        isinstance(r, dict) and r.get("method") == "textDocument/diagnostic"
        for r in (found if isinstance(found, list) else [])
    )


def _cancelled(answer: dict[str, Any]) -> bool:
    error = answer.get("error")
    return isinstance(error, dict) and error.get("code") == SERVER_CANCELLED


def _report_items(answer: dict[str, Any] | None) -> list[lsp.Diagnostic] | None:
    """The diagnostics of a full document report; None for an error or anything else."""
    result = None if answer is None else answer.get("result")
    items = result.get("items") if isinstance(result, dict) else None
    if not isinstance(items, list):
        return None
    try:
        return [CONVERTER.structure(item, lsp.Diagnostic) for item in items]
    except Exception:  # noqa: BLE001 - an answer that is not a report: as if none came
        return None


def _params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        params = CONVERTER.unstructure(params)
    return {"params": params}


def _answer(request: dict[str, Any], configuration: Mapping[str, Any]) -> Any:
    """What the client says to a server's request: its settings for each item
    `workspace/configuration` asks about, and plain acceptance for everything else."""
    if request.get("method") == "workspace/configuration":
        items = (request.get("params") or {}).get("items") or []
        return [_setting(item, configuration) for item in items]
    return None


def _setting(item: object, configuration: Mapping[str, Any]) -> Any:
    """The settings of the section an item asks about: `basedpyright`, or a dotted one
    (`basedpyright.analysis`, which older basedpyright asks for) read inside it; nothing
    for a section the client has no settings for."""
    section = item.get("section") if isinstance(item, dict) else None
    if not isinstance(section, str) or not section:
        return None
    found: Any = configuration
    for part in section.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    return found


def _read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """One framed message, None at the end of the stream; ValueError for garbage."""
    length = -1
    while True:
        line = stream.readline(4096)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if not 0 <= length <= MAX_MESSAGE_BYTES:
        raise ValueError(f"bad message length {length}")
    body = stream.read(length)
    if len(body) < length:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message that is not an object")
    return message
