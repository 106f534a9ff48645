"""`v4code` in a terminal: prompt-toolkit input, rich output, approvals, slash commands.

`run_interactive(input=, output=, console=)` takes prompt-toolkit and rich seams so tests drive
it with `create_pipe_input()` and a recording console.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from v4code.config import user_home
from v4code.errors import V4codeError
from v4code.protocols import Approval, ApprovalRequest

COMMANDS = {
    "/help": "show this help",
    "/model": "/model NAME: switch model (no name: show it)",
    "/think": "/think on|off|low|high|max: thinking and effort",
    "/thinking": "show the last turn's full thinking",
    "/details": "show the full output of the last turn's tool calls",
    "/mode": "/mode read-only|ask|auto-edit|full-auto",
    "/diff": "what this session changed",
    "/undo": "undo the last edit batch of this session",
    "/cost": "tokens and cost of this session",
    "/compact": "summarise older turns to free context",
    "/clear": "start a new session",
    "/sessions": "list this repository's sessions",
    "/resume": "/resume ID: continue another session",
    "/init": "write an AGENTS.md for this repository",
    "/exit": "leave",
}
MODES = ("read-only", "ask", "auto-edit", "full-auto")
MENTION = re.compile(r"(?<![\w/])@([\w./-]+)")
MAX_ATTACH = 100_000


def _history_path(root: Path) -> Path:
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    path = user_home() / "history" / f"{root.name or 'root'}-{digest}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def attach_mentions(text: str, root: Path) -> str:
    """`@path` mentions of workspace files get the file attached to the message."""
    from v4code.workspace import resolve_in_workspace

    parts = [text]
    seen: set[str] = set()
    for match in MENTION.finditer(text):
        rel = match.group(1).rstrip(".,;:")
        if rel in seen:
            continue
        try:
            path = resolve_in_workspace(root, rel, must_exist=True)
        except (V4codeError, OSError):
            continue
        if not path.is_file():
            continue
        seen.add(rel)
        body = path.read_bytes()[:MAX_ATTACH].decode("utf-8", "replace")
        parts.append(f'\n\n<file path="{rel}">\n{body}\n</file>')
    return "".join(parts)


class ChatApprover:
    """Asks the person: y(es) / n(o, with an optional reason) / a(lways this session)."""

    def __init__(self, ask: Callable[[str], str], console: Any) -> None:
        self.ask = ask
        self.console = console
        self.shown_diffs: set[str] = set()

    def decide(self, request: ApprovalRequest) -> Approval:
        from rich.text import Text

        from v4code.ui.interactive_render import diff_renderable

        if request.diff is not None:
            files = ", ".join(f["path"] for f in request.files)
            self.console.print(Text(f"Proposed edit: {files}", style="bold"))
            if request.diff:
                self.console.print(diff_renderable(request.diff))
                self.shown_diffs.add(request.diff)
            question, always = "Apply? [y]es / [n]o / [a]lways for this tool: ", "tool"
        else:
            sandbox = "sandboxed" if request.sandboxed else "not sandboxed"
            self.console.print(
                Text(f"Run `{request.command}` in {request.cwd} ({sandbox})", style="bold")
            )
            question, always = "Run? [y]es / [n]o / [a]lways for this command prefix: ", "prefix"
        while True:
            answer = self.ask(question).strip().lower()
            if answer in ("y", "yes"):
                return Approval(True)
            if answer in ("a", "always"):
                return Approval(True, remember=always)
            if answer in ("n", "no", ""):
                reason = self.ask("Reason for the model (optional): ").strip()
                return Approval(False, reason=reason or None)


class Chat:
    def __init__(
        self,
        *,
        flags: dict[str, Any],
        input: Any = None,
        output: Any = None,
        console: Any = None,
        on_agent: Callable[[Any], None] | None = None,
    ) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from rich.console import Console

        from v4code.config import load_settings
        from v4code.workspace import workspace_root

        self.root = workspace_root()
        self.flags = {**flags, "permission_mode": flags.get("permission_mode") or None}
        self.settings = load_settings(
            self.root, {k: v for k, v in self.flags.items() if v}
        ).settings
        self.console = console or Console(highlight=False)
        self.session = PromptSession(
            history=FileHistory(str(_history_path(self.root))),
            input=input,
            output=output,
            multiline=True,
            key_bindings=self._bindings(),
            completer=self._completer(),
            bottom_toolbar=self._toolbar,
        )
        self.asker = PromptSession(input=input, output=output)
        self.on_agent = on_agent
        self.agent: Any = None
        self.printer: Any = None
        self.running = True
        self._file_cache: list[str] | None = None

    # --- set-up -------------------------------------------------------------------------

    def open(self, resume: str | None) -> None:
        from v4code.app import open_session

        settings = self.settings
        if not self.flags.get("permission_mode"):
            settings = (
                settings.replace(permission_mode="ask")
                if settings.permission_mode == "ask"
                else settings
            )
        approver = self.approver = ChatApprover(lambda q: self.asker.prompt(q), self.console)
        session = open_session(
            settings, self.root, approver, resume=resume, meta={"frontend": "chat"}
        )
        self.agent = session.agent
        if self.on_agent:
            self.on_agent(self.agent)
        if session.resumed:
            from v4code.ui.interactive_render import history_renderables

            for item in history_renderables(self.agent.conversation.history):
                self.console.print(item)
            self.console.print(f"[dim]resumed session {self.agent.session_id}[/dim]")

    def _bindings(self) -> Any:
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()

        @kb.add("enter")
        def _submit(event: Any) -> None:
            buffer = event.current_buffer
            if buffer.text.endswith("\\"):
                buffer.delete_before_cursor(1)
                buffer.insert_text("\n")
            else:
                buffer.validate_and_handle()

        @kb.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        return kb

    def _completer(self) -> Any:
        from prompt_toolkit.completion import Completer, Completion

        chat = self

        class ChatCompleter(Completer):
            def get_completions(self, document: Any, complete_event: Any) -> Iterable[Completion]:
                word = document.get_word_before_cursor(WORD=True)
                if word.startswith("/") and document.text_before_cursor.lstrip() == word:
                    for name in COMMANDS:
                        if name.startswith(word):
                            yield Completion(name, -len(word), display_meta=COMMANDS[name])
                elif word.startswith("@"):
                    for rel in chat._files():
                        if rel.startswith(word[1:]):
                            yield Completion("@" + rel, -len(word))

        return ChatCompleter()

    def _files(self) -> list[str]:
        from v4code.repo.files import list_files

        if self._file_cache is None:
            try:
                self._file_cache = list_files(self.root).files[:5000]
            except (OSError, V4codeError):
                self._file_cache = []
        return self._file_cache

    def _toolbar(self) -> str:
        if self.agent is None:
            return ""
        s = self.agent.settings
        think = f"think {s.effort or 'on'}" if s.thinking else "think off"
        used = self.agent.last_prompt_tokens / max(s.context_window, 1)
        from v4code.pricing import format_cost

        return f" {s.model} · {think} · {self.agent.policy.mode} · context {used:.0%} · {format_cost(self.agent.total_cost)}"

    # --- the loop -----------------------------------------------------------------------

    def loop(self) -> int:
        interrupts = 0
        while self.running:
            try:
                text = self.session.prompt("› ")
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts >= 2:
                    break
                self.console.print("[dim](Ctrl-C again or Ctrl-D to leave)[/dim]")
                continue
            except EOFError:
                break
            interrupts = 0
            text = text.strip()
            if not text:
                continue
            if text.startswith("/"):
                self.command(text)
            else:
                self.turn(attach_mentions(text, self.root))
        return 0

    def turn(self, text: str) -> None:
        from v4code.ui.interactive_render import EventPrinter

        printer = EventPrinter(
            self.console,
            show_thinking=self.printer.show_thinking if self.printer else False,
            approved_diffs=self.approver.shown_diffs,
        )
        self.printer = printer
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: self.agent.cancel.cancel())
        try:
            for event in self.agent.submit(text):
                printer.handle(event)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    # --- slash commands -----------------------------------------------------------------

    def command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        handler = getattr(self, "cmd_" + name[1:].replace("-", "_"), None)
        if name not in COMMANDS or handler is None:
            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean {close[0]}?" if close else " /help lists the commands."
            self.console.print(f"Unknown command {name}.{hint}", markup=False)
            return
        handler(arg)

    def cmd_help(self, arg: str) -> None:
        for name, text in COMMANDS.items():
            self.console.print(f"{name:<10} {text}", markup=False)
        self.console.print(
            "Enter sends; Alt+Enter or a trailing \\ adds a line; @path attaches a file.",
            markup=False,
        )

    def cmd_exit(self, arg: str) -> None:
        self.running = False

    def cmd_model(self, arg: str) -> None:
        if arg:
            self.agent.settings = self.agent.settings.replace(model=arg)
        self.console.print(f"model: {self.agent.settings.model}", markup=False)

    def cmd_think(self, arg: str) -> None:
        s = self.agent.settings
        if arg == "off":
            s = s.replace(thinking=False)
        elif arg == "on":
            s = s.replace(thinking=True)
        elif arg in ("low", "high", "max"):
            s = s.replace(thinking=True, effort=arg)
        else:
            self.console.print("usage: /think on|off|low|high|max", markup=False)
            return
        self.agent.settings = s
        self.console.print(
            f"thinking {'off' if not s.thinking else s.effort or 'on'}", markup=False
        )

    def cmd_thinking(self, arg: str) -> None:
        text = self.printer.last_reasoning if self.printer else ""
        self.console.print(text or "(no thinking in the last turn)", style="dim", markup=False)

    def cmd_details(self, arg: str) -> None:
        results = self.printer.results if self.printer else []
        if not results:
            self.console.print("(no tool calls in the last turn)", style="dim", markup=False)
        for line, text in results:
            self.console.print(line)
            self.console.print(text, markup=False, highlight=False)

    def cmd_mode(self, arg: str) -> None:
        if arg not in MODES:
            self.console.print(f"usage: /mode {'|'.join(MODES)}", markup=False)
            return
        self.agent.policy.mode = arg
        self.console.print(f"permission mode: {arg}", markup=False)

    def _store(self) -> Any:
        from v4code.edits.checkpoints import CheckpointStore

        return CheckpointStore(user_home() / "checkpoints")

    def cmd_undo(self, arg: str) -> None:
        report = self._store().undo_last(self.root, self.agent.session_id)
        self.console.print(report.render(), markup=False)

    def cmd_diff(self, arg: str) -> None:
        batches = self._store().list_batches(self.root, self.agent.session_id)
        if not batches:
            self.console.print("This session has not changed any file.", markup=False)
            return
        for batch in batches:
            self.console.print(f"{batch.id}  {batch.tool}  {', '.join(batch.paths)}", markup=False)
        done = _git_diff(self.root)
        if done:
            from v4code.ui.interactive_render import diff_renderable

            self.console.print(diff_renderable(done))

    def cmd_cost(self, arg: str) -> None:
        from v4code.pricing import format_cost

        u = self.agent.total_usage
        self.console.print(
            f"{u.prompt_tokens:,} in ({u.cache_hit_share:.0%} cached), {u.completion_tokens:,} out "
            f"({u.reasoning_tokens:,} thinking): {format_cost(self.agent.total_cost)}",
            markup=False,
        )

    def cmd_compact(self, arg: str) -> None:
        from v4code.ui.interactive_render import EventPrinter

        printer = EventPrinter(self.console)
        for event in self.agent.compact():
            printer.handle(event)

    def cmd_clear(self, arg: str) -> None:
        self.open(None)
        self.console.print(f"new session {self.agent.session_id}", markup=False)

    def cmd_sessions(self, arg: str) -> None:
        from v4code.ui.session_list import session_rows

        for row in session_rows(self.root):
            self.console.print(row, markup=False)

    def cmd_resume(self, arg: str) -> None:
        try:
            self.open(arg or "")
        except V4codeError as exc:
            self.console.print(exc.message, markup=False)

    def cmd_init(self, arg: str) -> None:
        self.turn(
            "Write an AGENTS.md at the repository root for coding agents working here: what the "
            "project is, its layout, how to install, run and test it, and its conventions. Read "
            "the code and configuration first; keep it short and factual."
        )


def _git_diff(root: Path) -> str:
    import subprocess

    done = subprocess.run(["git", "diff", "--no-color"], cwd=root, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def run_interactive(
    *,
    continue_: bool,
    resume: str | None,
    flags: dict[str, Any],
    input: Any = None,
    output: Any = None,
    console: Any = None,
    on_agent: Callable[[Any], None] | None = None,
) -> int:
    chat = Chat(flags=flags, input=input, output=output, console=console, on_agent=on_agent)
    if continue_:
        resume = ""
    elif resume == "":
        resume = _pick(chat)
    chat.open(resume)
    threading.Thread(target=_warm, args=(chat.agent.backend,), daemon=True).start()
    return chat.loop()


def _pick(chat: Chat) -> str | None:
    from v4code.sessions import list_sessions
    from v4code.ui.session_list import session_rows

    files = list_sessions(chat.root)
    if not files:
        return None
    for i, row in enumerate(session_rows(chat.root), 1):
        chat.console.print(f"{i:>3}  {row}", markup=False)
    answer = chat.asker.prompt("Resume which session? (number, Enter for the latest) ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(files):
        return files[int(answer) - 1].stem
    return ""


def _warm(backend: Any) -> None:
    """While the person types: import the SDK and build its client (TLS set-up included),
    which together cost most of a second and would otherwise delay the first answer."""
    transport = getattr(backend, "transport", None)
    if callable(transport):
        try:
            transport()
        except Exception:  # the first request reports any real problem
            pass
