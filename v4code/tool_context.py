"""What a running tool may use: the workspace, the session's rules and a few seams; never the key.

Every tool gets the same context, a repository's own tools (once trusted) included, and such a
tool runs inside v4code's process. So the context holds exactly what tools read, each as a
typed field fixed when the session opens (`ToolContext.for_session`): the secret-file rules,
the scrubber for tool output (a `SealedRedactor`, which holds no key), the command timeout, the
paths a sandboxed command may read, where the helper programs live. Not the settings, not the
API key, not the agent.

The seams later features plug in are small Protocols here, None until something provides them:
`agents` starts a child agent on a brief (the wiring's `subagents.SubagentRunner`; a child's
own context has none, so a child starts no child), `diagnostics` asks a language server about
a file, `files` is an editor's view of the workspace's files (`v4code acp`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from v4code.cancel import CancelToken
from v4code.safety.programs import find_program
from v4code.safety.redact import sealed_redactor
from v4code.workspace import resolve_in_workspace

if TYPE_CHECKING:
    from v4code.config import Settings

__all__ = [
    "Checkpoints",
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_OUTPUT_CAP",
    "DiagnosticsSource",
    "EditorFiles",
    "Scrub",
    "SubagentStarter",
    "ToolContext",
]

DEFAULT_OUTPUT_CAP = 30_000
DEFAULT_COMMAND_TIMEOUT = 120  # Settings.command_timeout's default

Scrub = Callable[[str], str]
"""Text -> the same text with every known secret (the key, secret variables) replaced."""


class SubagentStarter(Protocol):
    """Starts a child agent on a brief and returns its report (a tool that hands part of its
    work on); the child stops when `cancel` does. `agent` names a named agent (None: the
    default, read-only one); `child` is the id of the call that starts it, which names the
    child in the events and the session log. Raises ToolError for a name that is not known."""

    def start(
        self, brief: str, cancel: CancelToken, *, agent: str | None = None, child: str = ""
    ) -> str: ...


class DiagnosticsSource(Protocol):
    """The session's language servers (`v4code.lsp.LanguageServers`): a workspace file's
    current errors (`path` absolute), a line each (`calc.py:12: "totl" is not defined`),
    ToolError saying why there are none to give (no server for the file, one that did not
    answer in time); and where a symbol is used, for `find_symbol`."""

    def diagnostics(self, path: Path, cancel: CancelToken) -> Sequence[str]: ...

    def references(self, path: Path, line: int, name: str) -> Sequence[tuple[str, int]] | None:
        """Where the symbol `name` defined at `line` (1-based) of `path` is used, as the
        server resolves it (workspace-relative path, 1-based line); None when no server
        answers for the file within the bound (the caller falls back to the syntax tree)."""
        ...

    def symbols(
        self, name: str, near: Sequence[Path]
    ) -> Sequence[tuple[str, int, str, str]] | None:
        """The definitions named exactly `name` the server knows in the workspace: (path,
        1-based line, kind, enclosing class or ""); None when no server answers in time.
        `near`: project files (absolute), the first in a server's language shown to it."""
        ...


class EditorFiles(Protocol):
    """An editor's view of workspace files (an ACP client's `fs/*` methods): its text of a
    file, unsaved changes included, and a write through it, so its buffers and undo follow
    the agent's edits. Only the bytes cross: which path (inside the workspace, not
    protected), whether a secret file may be read, the approval and the checkpoint were
    decided by v4code before. `read` gets the file's bytes on disk and answers the editor's
    (None: use the disk's); `write` answers whether the editor wrote it (False: v4code
    writes it itself). Either says None / False for a file it will not share (a secret
    one, one not plain UTF-8 text) or when the editor does not answer."""

    def read(self, path: Path, disk: bytes) -> bytes | None: ...

    def write(self, path: Path, before: bytes | None, after: bytes) -> bool: ...


class Checkpoints(Protocol):
    """The store a tool context carries for proposals that apply themselves (edit batches)
    and for snapshots (`v4code.edits.checkpoints.CheckpointStore`); the tool core and the loop
    pass it through knowing only where it lives, so neither imports the edits it records."""

    directory: Path


def _scrub_environment() -> Scrub:
    return sealed_redactor(None)  # the secret variables that are set; no key was given


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may use. The agent builds one per session (`for_session`) and
    hands each call a copy with the turn's cancel token and whether commands are sandboxed."""

    root: Path
    cancel: CancelToken = field(default_factory=CancelToken)
    checkpoints: Checkpoints | None = None
    sandbox: bool = False
    session_id: str = ""
    call_id: str = ""  # the call being run (a child agent is named after it)
    output_cap: int = DEFAULT_OUTPUT_CAP
    command_timeout: int = DEFAULT_COMMAND_TIMEOUT
    sandbox_allow_read: tuple[str, ...] = ()  # paths under $HOME a sandboxed command may read
    secret_files: tuple[str, ...] = ()  # the user's globs of more secret files
    allow_secrets: bool = False  # secret files are read without asking
    scrub: Scrub = field(default_factory=_scrub_environment, repr=False)
    snapshot_max_files: int | None = None  # None: the snapshot's own limits
    snapshot_max_changed_bytes: int | None = None
    agents: SubagentStarter | None = None
    diagnostics: DiagnosticsSource | None = None
    files: EditorFiles | None = None  # the editor's view of the files (None: the disk's)

    @classmethod
    def for_session(
        cls, root: Path, settings: Settings, *, checkpoints: Checkpoints | None = None
    ) -> ToolContext:
        """The context of one session, from its settings: what tools read, and not the key
        (it only seals the scrubber)."""
        return cls(
            root=root,
            checkpoints=checkpoints,
            output_cap=settings.output_cap,
            command_timeout=settings.command_timeout,
            sandbox_allow_read=tuple(settings.sandbox_allow_read),
            secret_files=tuple(settings.secret_files),
            allow_secrets=settings.allow_secrets,
            scrub=sealed_redactor(settings.api_key),
        )

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        return resolve_in_workspace(self.root, path, must_exist=must_exist)

    def viewed(self, path: Path, disk: bytes) -> bytes:
        """A file's content as the person sees it: the editor's text when an editor shares
        it (unsaved changes included), else the bytes on disk."""
        shown = self.files.read(path, disk) if self.files is not None else None
        return disk if shown is None else shown

    def program(self, name: str) -> str | None:
        """Where the helper program `name` (bash, rg, git) lives: found once per process on
        PATH, never a copy inside the workspace (safety/programs.py); None if there is none."""
        return find_program(name, self.root)
