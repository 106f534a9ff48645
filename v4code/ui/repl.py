"""`v4code` at a terminal: the session loop.

prompt-toolkit reads the person's input (multi-line, history per repository, completion of
slash commands and `@path`); each message runs one agent turn whose events `TurnView` renders
with rich; the person answers approvals through `ChatApprover`. `run_repl(input=, output=,
console=)` takes prompt-toolkit and rich seams, so tests drive it with `create_pipe_input()`,
`DummyOutput()` and a recording console.

Ctrl-C while a turn runs cancels the turn (a SIGINT handler sets the agent's cancel token; a
second Ctrl-C stops at once); at the prompt it clears the line, and on an empty line twice it
leaves, like Ctrl-D.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from v4code.cancel import CancelToken
from v4code.errors import V4codeError
from v4code.ui.interrupt import sigint_cancels

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.output import Output
    from rich.console import Console

    from v4code.agent import Agent
    from v4code.app import AgentSession
    from v4code.edits.checkpoints import CheckpointStore
    from v4code.events import Event
    from v4code.lsp.manager import LanguageServers
    from v4code.project_layer import SessionLayers
    from v4code.ui.approval import ChatApprover
    from v4code.ui.keys import KeyQuestion
    from v4code.ui.render import TurnView

PROMPT = "› "
PICKER_ROWS = 30


class Chat:
    def __init__(
        self,
        *,
        flags: dict[str, Any],
        input: Input | None = None,
        output: Output | None = None,
        console: Console | None = None,
    ) -> None:
        from prompt_toolkit import PromptSession
        from rich.console import Console

        from v4code.config import load_settings
        from v4code.ui.completion import ChatCompleter, FileIndex
        from v4code.ui.prompt_history import KeptHistory
        from v4code.ui.slash import choices_for, command_help
        from v4code.ui.toolbar import toolbar_text
        from v4code.workspace import workspace_root

        self.root = workspace_root()
        self.console = console or Console(highlight=False)
        self.layers = self._opening_layers(input, output)
        loaded = load_settings(self.root, flags, self.layers)
        self.settings = loaded.settings
        for notice in loaded.notices:
            self.say(f"v4code: {notice}", "yellow")
        self.terminal = input is None and sys.stdin.isatty()
        self.files = FileIndex(self.root)
        self.cancel = CancelToken()
        self._agent: Agent | None = None
        self._session: AgentSession | None = None
        self.view: TurnView | None = None  # the last turn's (for /thinking, /details)
        self.show_thinking = self.settings.show_thinking
        self.running = True
        completer = ChatCompleter(
            command_help(self.root, self.layers.project),
            lambda name: choices_for(self, name),
            self.files.files,
        )
        self.session: PromptSession[str] = PromptSession(
            history=KeptHistory(str(history_path(self.root))),
            input=input,
            output=output,
            multiline=True,
            key_bindings=_bindings(),
            completer=completer,
            complete_while_typing=True,
            bottom_toolbar=lambda: toolbar_text(self._agent),
            prompt_continuation=lambda width, line, wrap: " " * width,
        )
        self.asker: PromptSession[str] = PromptSession(input=input, output=output)
        self._io = (input, output)
        self._yes_no: KeyQuestion | None = None  # plan, attach a secret file: made when asked
        self.approver = self._approver(input, output)

    def _approver(self, input: Input | None, output: Output | None) -> ChatApprover:
        """Edits and commands put to the person, answered by one key of y, n, a."""
        from v4code.ui.approval import ChatApprover
        from v4code.ui.keys import KeyQuestion

        return ChatApprover(
            self.ask,
            self.console,
            before_ask=self._pause_view,
            after_ask=self._resume_view,
            cancel=self.cancel,
            ask_key=KeyQuestion("yna", input, output),
        )

    def _opening_layers(self, input: Input | None, output: Output | None) -> SessionLayers:
        """The trust question on start, then the config files and the project layer, read
        once for the settings and the session (its tools, prompts, servers, hooks)."""
        from v4code.project_layer import read_layers
        from v4code.ui.trust_prompt import ask_to_trust

        trust = ask_to_trust(self.root, self.console, input=input, output=output)
        return read_layers(self.root, trust)

    @property
    def agent(self) -> Agent:
        """The open session's agent; `open` sets it before the first prompt."""
        assert self._agent is not None, "no session is open yet"
        return self._agent

    @agent.setter
    def agent(self, agent: Agent) -> None:
        self._agent = agent

    # --- sessions ---------------------------------------------------------------------------

    def open(self, resume: str | None) -> None:
        """A new session (None), or an existing one continued ("" is the latest)."""
        from v4code.app import open_session
        from v4code.project_layer import read_layers
        from v4code.ui.render import history_renderables

        settings, mode, backend = self.settings, None, None
        if self._agent is not None:  # /clear and /resume keep the model, thinking and mode
            settings, mode, backend = self.agent.settings, self.agent.mode, self.agent.backend
            self.layers = read_layers(self.root)  # a new session reads the files anew
        session = open_session(
            settings,
            self.root,
            self.approver,
            resume=resume,
            backend=backend,
            cancel=self.cancel,
            meta={"frontend": "chat"},
            warm_up_map=True,  # indexed while the person types the first message
            layers=self.layers,
        )
        self.close()
        self._session = session
        self.agent = session.agent
        if mode is not None:
            self.agent.set_mode(mode)
        self.view = None
        if session.resumed:
            history = self.agent.conversation.history
            for item in history_renderables(history, describe=self.agent.describe):
                self.console.print(item)
            self.say(f"Resumed session {self.agent.session_id}.", "dim")
            from v4code.ui.plan_chat import after_resume

            after_resume(self)

    def close(self) -> None:
        """Stop what the open session runs in the background (the repo map's warm-up)."""
        if self._session is not None:
            self._session.close()

    def pick_session(self) -> str | None:
        from v4code.sessions import list_sessions
        from v4code.ui.session_list import first_prompt, session_rows

        files = [p for p in list_sessions(self.root, limit=PICKER_ROWS) if first_prompt(p)]
        if not files:
            self.say("There are no saved sessions in this repository yet.", "dim")
            return None
        rows = {row.split()[0]: row for row in session_rows(self.root, limit=PICKER_ROWS)}
        for i, path in enumerate(files, 1):
            self.say(f"{i:>3}  {rows.get(path.stem, path.stem)}")
        try:
            answer = self.ask(f"Resume which session? (1-{len(files)}, Enter for 1) ").strip()
        except (KeyboardInterrupt, EOFError):
            return None
        if not answer:
            return files[0].stem
        if answer.isdigit() and 1 <= int(answer) <= len(files):
            return files[int(answer) - 1].stem
        return answer  # an ID (or a unique prefix of one)

    @property
    def checkpoints(self) -> CheckpointStore:
        """The open session's checkpoint store (`/undo`, `/diff`)."""
        assert self._session is not None, "no session is open yet"
        return self._session.checkpoints

    @property
    def servers(self) -> LanguageServers | None:
        """The open session's language servers (`/lsp`); None with `diagnostics = false`."""
        return self._session.servers if self._session is not None else None

    # --- the loop ---------------------------------------------------------------------------

    def loop(self) -> int:
        with _typed_ahead_waits(self.terminal):
            return self._loop()

    def _loop(self) -> int:
        interrupts = 0
        while self.running:
            try:
                text = self.session.prompt(PROMPT)
            except KeyboardInterrupt:  # only on an empty line; a non-empty one is cleared
                interrupts += 1
                if interrupts >= 2:
                    break
                self.say("(Ctrl-C again or Ctrl-D to leave)", "dim")
                continue
            except EOFError:
                break
            interrupts = 0
            if text.strip():
                self.line(text)
        self._goodbye()
        return 0

    def line(self, text: str) -> None:
        """What one typed line asks for: a command or a turn. An error on the way (a path, a
        setting, a bug) is said in one line and the chat goes on: nothing typed ends it."""
        from v4code.textio import one_line
        from v4code.ui.slash import dispatch, is_command

        try:
            if is_command(text.strip()):
                dispatch(self, text.strip())
            else:
                self.turn(text)
        except V4codeError as exc:
            self.say(one_line(exc.message), "yellow")
        except Exception as exc:  # a bug must not end the session
            self.say(one_line(f"internal error: {type(exc).__name__}: {exc}"), "yellow")

    def turn(self, text: str, shown: str | None = None, answer_plans: bool = True) -> None:
        """One message as a turn; a plan it ends with is put to the person (`answer_plans`)."""
        from v4code.ui.completion import attach_mentions, meant_as_paths

        secret_blocks: list[str] = []
        unfound: list[str] = []
        message, attached = attach_mentions(
            text,
            self.root,
            settings=self.agent.settings,
            confirm=self._confirm_secret,
            secret_blocks=secret_blocks,
            unfound=unfound,
        )
        for block in secret_blocks:  # the model gets it; the session log does not
            self.agent.session.withhold_text(block)
        if attached:
            self.say("attached " + ", ".join(attached), "dim")
        missed = meant_as_paths(unfound, self.files.files()) if unfound else []
        if missed:  # a typo in a path: the message still goes, as the person wrote it
            words = ", ".join(f"@{w}" for w in missed)
            self.say(f"no such file here, not attached: {words} (sent as text)", "yellow")
        self.run_events(self.agent.submit(message))
        self.console.print()  # a blank line between a turn and the next prompt
        self.files.invalidate()
        if answer_plans and self.agent.plan.proposal is not None:
            from v4code.ui.plan_chat import answer_plan

            answer_plan(self)

    def run_events(self, events: Iterator[Event], summary: bool = True) -> None:
        """Render a stream of agent events; Ctrl-C cancels it, a second Ctrl-C stops it."""
        from v4code.ui.render import TurnView

        view = TurnView(
            self.console, show_thinking=self.show_thinking, shown_diffs=self.approver.shown_diffs
        )
        if summary:
            self.view = view
        self.cancel.reset()
        stopping = lambda: self.console.print("stopping…", style="yellow")  # noqa: E731
        with sigint_cancels(self.cancel, stopping):
            try:
                for event in events:
                    view.handle(event)
            except KeyboardInterrupt:
                self._abandon(events, view, "Stopped.")
            except Exception as exc:  # a bug must not end the session
                self._abandon(events, view, f"internal error: {type(exc).__name__}: {exc}")
            finally:
                view.close()

    def _abandon(self, events: Iterator[Event], view: TurnView, message: str) -> None:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        view.interrupted_tools()
        view.close()
        self.agent.close_pending("Interrupted by the user before this call finished.")
        self.say(message, "yellow")

    # --- small helpers ----------------------------------------------------------------------

    def _confirm_secret(self, path: str, why: str) -> bool:
        """Whether to attach a mentioned secret file: its content goes to the model."""
        self.say(f"{path} is {why}: its content would be sent to the model.", "bold yellow")
        try:
            return self.ask_key(f"Attach {path}? [y/N] ", default="n") == "y"
        except (KeyboardInterrupt, EOFError):
            return False

    def ask(self, question: str) -> str:
        return str(self.asker.prompt(question))

    def ask_key(self, question: str, default: str | None = None) -> str:
        """A yes-or-no question answered by one key (v4code.ui.keys): what is typed after
        the key is kept for the next prompt, not taken as part of the answer."""
        if self._yes_no is None:  # a prompt session is not free: most chats never ask
            from v4code.ui.keys import KeyQuestion

            self._yes_no = KeyQuestion("yn", *self._io)
        return self._yes_no(question, default)

    def say(self, text: str, style: str | None = None) -> None:
        """A line for the person, through the display sanitiser (textio.shown_lines): the
        chat's messages carry file names, server errors and MCP text."""
        from v4code.textio import shown_lines

        self.console.print(Text(shown_lines(text), style=style or ""))

    def _pause_view(self) -> None:
        if self.view is not None:
            self.view.pause()

    def _resume_view(self) -> None:
        if self.view is not None:
            self.view.resume()

    def _goodbye(self) -> None:
        if self._agent is not None and any(
            m.role == "user" for m in self._agent.conversation.history
        ):
            self.say(f"Session saved: v4code --resume {self.agent.session_id}", "dim")


def _bindings() -> KeyBindings:
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.apply_completion(state.current_completion)
        elif buffer.document.text_before_cursor.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @kb.add("tab")
    def _tab(event: KeyPressEvent) -> None:
        complete_or_insert(event.current_buffer)

    @kb.add("escape", "enter")
    @kb.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt())

    return kb


def complete_or_insert(buffer: Buffer) -> None:
    """Tab: a single completion goes straight into the line (no menu, so one Enter sends),
    several open the menu or move through it, as prompt-toolkit's own Tab does. The menu
    opened while typing is no reason to ask the person to pick the only choice in it."""
    from itertools import islice

    from prompt_toolkit.completion import CompleteEvent

    state = buffer.complete_state
    if state is not None and state.complete_index is not None:
        buffer.complete_next()  # already moving through the menu
        return
    completer = buffer.completer
    event = CompleteEvent(completion_requested=True)
    # Two say "several": the rest are the menu's to find, not this key's to count.
    found = list(islice(completer.get_completions(buffer.document, event), 2)) if completer else []
    if len(found) == 1:
        buffer.apply_completion(found[0])
    elif state is not None:
        buffer.complete_next()
    else:
        buffer.start_completion(insert_common_part=True)


def history_path(root: Path) -> Path:
    """Prompt history per repository, next to its sessions' folder name."""
    from v4code.config import user_home
    from v4code.sessions import sessions_dir

    path = user_home() / "history" / sessions_dir(root).name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextlib.contextmanager
def _typed_ahead_waits(terminal: bool) -> Iterator[None]:
    """For the whole chat: keys typed while a turn runs (or between a turn's end and the next
    prompt) are not echoed into the output but wait for the prompt, Enter included. With
    echo off the text does not mix with the answer; with CR kept as CR (no ICRNL) an Enter
    typed ahead reaches the prompt as Enter, which sends the message, not as Ctrl-J, which
    would only start a new line; with the line discipline off (no ICANON) every key waits as
    the byte it is, so a Ctrl-D typed as a turn ends reaches the prompt as Ctrl-D instead of
    being taken by the terminal as an end-of-file nobody reads. Ctrl-C still interrupts
    (ISIG stays). prompt-toolkit puts the terminal in raw mode for each prompt and back in
    this state after it; the terminal's own state returns when the chat ends."""
    if not terminal:
        yield
        return
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[0] &= ~termios.ICRNL
        quiet[3] &= ~(termios.ECHO | termios.ICANON)
        quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def run_repl(
    *,
    continue_: bool = False,
    resume: str | None = None,
    flags: dict[str, Any] | None = None,
    input: Input | None = None,
    output: Output | None = None,
    console: Console | None = None,
    plan: bool = False,
) -> int:
    """The interactive session (in plan mode from the start with `plan`); the exit code."""
    chat = Chat(flags=flags or {}, input=input, output=output, console=console)
    if continue_:
        resume = ""
    elif resume == "":
        resume = chat.pick_session()
    try:
        chat.open(resume)
    except V4codeError as exc:
        if not continue_:
            raise
        chat.say(f"{exc.message}; starting a new session.", "dim")
        chat.open(None)
    if plan:
        chat.agent.start_planning()
    threading.Thread(target=_warm, args=(chat.agent,), daemon=True).start()
    if not chat.agent.conversation.history:
        _banner(chat)
    try:
        return chat.loop()
    finally:
        chat.close()


def _banner(chat: Chat) -> None:
    s = chat.agent.settings
    chat.say(
        f"v4code · {s.model} · {_mode(chat.agent)} · {chat.root}\n"
        "/help for commands, @path attaches a file, Ctrl-D leaves.",
        "dim",
    )


def _mode(agent: Agent) -> str:
    if agent.plan.planning:
        return f"plan mode (reads only until you approve; then {agent.mode} mode)"
    return f"{agent.mode} mode"


def _warm(agent: Agent) -> None:
    """While the person types: import the SDK and build its client (most of a second), and
    the modules the first answer needs, so Enter is not followed by a pause."""
    with contextlib.suppress(Exception):  # the first request reports any real problem
        agent.warm_up()
        import rich.live  # noqa: F401
        import rich.markdown  # noqa: F401
        import rich.syntax  # noqa: F401
