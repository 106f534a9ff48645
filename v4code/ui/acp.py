"""`v4code acp`: v4code as an Agent Client Protocol agent for editors (Zed, JetBrains).

The editor starts `v4code acp` and speaks JSON-RPC over its stdio through the official SDK
(`agent-client-protocol`, v4code's `acp` extra). Each ACP session is a v4code session opened
the way the API opens one (`api.open_in`: the same settings layers, trust, sandbox and secret
handling as the chat); its events become session updates (thinking, answer text, tool calls
with their diffs, the todo list as a plan) and its approvals become permission requests with
the chat's answers: allow once, always (this tool, or this command prefix), reject. Text sent
to the editor is scrubbed of the API key and secret environment values, as the chat's output.

The editor's choices (mode, plan mode, model, thinking) are session config options and modes
(`acp_config`), the chat's slash commands that make sense there are offered to it
(`acp_commands`), and its file system, when it offers one, is where files are read and approved
edits written (`acp_files`: v4code still decides, checkpoints and keeps secret files to
itself). Its terminal is not used: a command runs in v4code's sandbox, and an editor's terminal
would run it outside. Not yet: images and audio in prompts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import acp
from acp import schema

from v4code.events import (
    ErrorEvent,
    Event,
    PlanProposed,
    PlanUpdated,
    ReasoningDelta,
    TextDelta,
    ToolFinished,
    ToolStarted,
    jsonable,
)
from v4code.protocols import Approval, ApprovalRequest
from v4code.safety.redact import scrubbed
from v4code.textio import one_line
from v4code.ui import acp_commands, acp_config
from v4code.ui.headless import ScrubbedDeltas

if TYPE_CHECKING:
    from v4code.api import Session
    from v4code.safety.secret_files import SecretFiles

ALLOW_ONCE = "allow_once"
ALLOW_ALWAYS = "allow_always"
REJECT = "reject_once"

STOP_REASONS: dict[str, str] = {
    "done": "end_turn",
    "failed": "end_turn",
    "denied": "end_turn",
    "error": "end_turn",
    "limit": "max_turn_requests",
    "interrupted": "cancelled",
}
"""A turn's status as the ACP stop reason (a failure is told in the answer text)."""

TOOL_KINDS: dict[str, str] = {
    "read_file": "read",
    "list_files": "read",
    "outline": "read",
    "repo_map": "read",
    "grep": "search",
    "find_symbol": "search",
    "edit_file": "edit",
    "write_file": "edit",
    "apply_edits": "edit",
    "delete_file": "delete",
    "move_file": "move",
    "run_command": "execute",
    "update_plan": "think",
    "propose_plan": "think",
}

PLAN_STATUS = {"pending": "pending", "in_progress": "in_progress", "done": "completed"}
ADVERTISE_DELAY = 0.05  # seconds after session/new or load before the commands are offered
OUTPUT_CAP = 4000  # characters of a tool's result shown in the editor (the model has it all)


class AcpApprover:
    """The session's Approver: a permission request to the editor, from the turn's thread."""

    def __init__(self, agent: V4codeAgent, loop: asyncio.AbstractEventLoop) -> None:
        self.agent = agent
        self.loop = loop
        self.session_id = ""  # known once the session is open

    def decide(self, request: ApprovalRequest) -> Approval:
        from v4code.ui.approval import always_scope

        always = always_scope(request)
        asked = self.agent.ask_permission(self.session_id, request, always is not None)
        outcome = asyncio.run_coroutine_threadsafe(asked, self.loop).result()
        if outcome == ALLOW_ONCE:
            return Approval(True)
        if outcome == ALLOW_ALWAYS and always is not None:
            return Approval(True, remember=always)
        if outcome is None:  # the editor cancelled the prompt turn
            return Approval(False, "The user interrupted the turn.")
        return Approval(False)


def permission_options(always: bool, request: ApprovalRequest) -> list[schema.PermissionOption]:
    options = [schema.PermissionOption(option_id=ALLOW_ONCE, name="Allow once", kind="allow_once")]
    if always:
        from v4code.safety.permissions import command_prefix

        what = request.tool if request.command is None else f"`{command_prefix(request.command)}`"
        name = f"Always allow {what} this session"
        options.append(
            schema.PermissionOption(option_id=ALLOW_ALWAYS, name=name, kind="allow_always")
        )
    options.append(schema.PermissionOption(option_id=REJECT, name="Reject", kind="reject_once"))
    return options


class V4codeAgent:
    """The ACP agent side: sessions by id, each a v4code Session; one prompt turn at a time."""

    def __init__(self, flags: dict[str, Any]) -> None:
        self.flags = flags
        self.client: Any = None  # the SDK's connection to the editor (acp.Client)
        self.sessions: dict[str, Session] = {}
        self.scrubs: dict[str, Callable[[str], str]] = {}
        self.deltas: dict[str, ScrubbedDeltas] = {}
        self.secret_rules: dict[str, SecretFiles] = {}  # one per session: it remembers names
        self.busy: set[str] = set()  # sessions with a prompt turn running
        self.pending: dict[str, dict[str, str]] = {}  # options chosen during a turn
        self.capabilities: Any = None  # what the editor offers (its fs methods)
        self._last_call: dict[str, str] = {}  # the latest tool call's id, by session
        self._tasks: set[asyncio.Task[None]] = set()  # updates sent after an answer

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: Any = None,
        client_info: Any = None,
        **_: Any,
    ) -> schema.InitializeResponse:
        from v4code import __version__

        self.capabilities = client_capabilities
        return schema.InitializeResponse(
            protocol_version=min(protocol_version, acp.PROTOCOL_VERSION),
            agent_capabilities=schema.AgentCapabilities(
                load_session=True,
                prompt_capabilities=schema.PromptCapabilities(embedded_context=True),
            ),
            agent_info=schema.Implementation(name="v4code", title="v4code", version=__version__),
            auth_methods=[],
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        return None  # the API key comes from v4code's own settings, as in the chat

    async def new_session(
        self, cwd: str, mcp_servers: Any = None, **_: Any
    ) -> schema.NewSessionResponse:
        session = await self._open(cwd, None)
        self._later(self._advertise(session.id))
        return schema.NewSessionResponse(
            session_id=session.id,
            modes=acp_config.modes(session.agent),
            config_options=acp_config.config_options(session.agent),
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> schema.LoadSessionResponse:
        session = await self._open(cwd, session_id)
        await self._replay(session)
        self._later(self._advertise(session.id))
        return schema.LoadSessionResponse(
            modes=acp_config.modes(session.agent),
            config_options=acp_config.config_options(session.agent),
        )

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def set_session_mode(
        self, session_id: str, mode_id: str, **_: Any
    ) -> schema.SetSessionModeResponse:
        """A permission mode (or plan mode) for the rest of the session: the `mode` option."""
        await self._choose(session_id, acp_config.MODE, mode_id)
        return schema.SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> schema.SetSessionConfigOptionResponse:
        """The mode, the model or the thinking (`acp_config`)."""
        await self._choose(session_id, config_id, value)
        options = acp_config.config_options(
            self._session(session_id).agent, self.pending.get(session_id)
        )
        return schema.SetSessionConfigOptionResponse(config_options=options)

    async def _choose(self, session_id: str, key: str, value: object) -> None:
        """One option set; chosen while a prompt runs, it applies once that turn ends (the
        turn's thread owns the agent until then). The editor is told the new state."""
        agent = self._session(session_id).agent
        refused = acp_config.check(agent, key, value)
        if refused is not None:
            raise acp.RequestError.invalid_params({"message": refused})
        if session_id in self.busy:
            self.pending.setdefault(session_id, {})[key] = str(value)
        else:
            acp_config.apply(agent, key, str(value))
        await self._tell_options(session_id, mode=key == acp_config.MODE)

    async def _tell_options(self, session_id: str, *, mode: bool) -> None:
        agent = self._session(session_id).agent
        chosen = self.pending.get(session_id, {})
        options = acp_config.config_options(agent, chosen)
        updates: list[Any] = [
            schema.ConfigOptionUpdate(session_update="config_option_update", config_options=options)
        ]
        if mode:
            current = chosen.get(acp_config.MODE, acp_config.current_mode(agent))
            updates.append(
                schema.CurrentModeUpdate(
                    session_update="current_mode_update", current_mode_id=current
                )
            )
        for update in updates:
            await self.client.session_update(session_id=session_id, update=update)

    async def _open(self, cwd: str, resume: str | None) -> Session:
        """A v4code session in `cwd`'s workspace: the settings layers, trust and checks of
        every start (`api.open_in`); a bad setting or an unknown id is a JSON-RPC error."""
        from v4code.api import open_in

        approver = AcpApprover(self, asyncio.get_running_loop())
        meta = {"frontend": "acp"}
        try:
            session = await asyncio.to_thread(
                open_in, Path(cwd), self.flags, approver, resume=resume, meta=meta
            )
        except Exception as exc:  # a V4codeError or a failed open: one line to the editor
            raise acp.RequestError.invalid_params({"message": one_line(str(exc))}) from exc
        from v4code.safety.redact import redactor
        from v4code.safety.secret_files import SecretFiles

        approver.session_id = session.id
        self._share_files(session)
        self.sessions[session.id] = session
        self.scrubs[session.id] = scrub = redactor(session.settings.api_key)
        self.deltas[session.id] = ScrubbedDeltas(scrub)
        self.secret_rules[session.id] = SecretFiles(
            session.agent.root, session.settings.secret_files
        )
        return session

    def _share_files(self, session: Session) -> None:
        """The editor's file reads and writes, where it offers them (`acp_files`)."""
        fs = getattr(self.capabilities, "fs", None)
        can_read = bool(getattr(fs, "read_text_file", False))
        can_write = bool(getattr(fs, "write_text_file", False))
        if not (can_read or can_write):
            return
        from v4code.ui.acp_files import EditorFiles

        files = EditorFiles(
            self.client,
            asyncio.get_running_loop(),
            session.id,
            session.agent.root,
            session.settings.secret_files,
            can_read=can_read,
            can_write=can_write,
        )
        session.agent.give_files(files)

    async def _replay(self, session: Session) -> None:
        """A loaded session's conversation, sent again as updates (what ACP asks of a load)."""
        for message in session.agent.conversation.history:
            role, content = message.role, message.content
            if not content:
                continue
            if role == "user":
                update: Any = acp.update_user_message_text(content)
            elif role == "assistant":
                update = acp.update_agent_message_text(content)
            else:
                continue
            update = scrubbed_update(update, self.scrubs[session.id])
            await self.client.session_update(session_id=session.id, update=update)

    def _session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise acp.RequestError.invalid_params({"message": f"no session {session_id}"})
        return session

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> schema.PromptResponse:

        session = self._session(session_id)
        secret: list[str] = []
        task = prompt_text(prompt, secret, self.secret_rules[session_id])
        for block in secret:  # the model gets it; the session log does not
            session.agent.session.withhold_text(block)
        if not task.strip():
            raise acp.RequestError.invalid_params({"message": "the prompt has no text"})
        if session_id in self.busy:
            raise acp.RequestError.invalid_request({"message": "a prompt is already running"})
        self.busy.add(session_id)
        try:
            status = await self._prompt_turns(session, task)
        finally:
            self.busy.discard(session_id)
            for key, value in self.pending.pop(session_id, {}).items():
                acp_config.apply(session.agent, key, value)
        return schema.PromptResponse(stop_reason=STOP_REASONS.get(status, "end_turn"))  # type: ignore[arg-type]

    async def _prompt_turns(self, session: Session, task: str) -> str:
        """The prompt's turns: a slash command's answer, else the task (or, while a proposed
        plan waits, the person's answer to it: yes, else why not); a plan proposed in plan
        mode is put to the person and, on their yes, carried out in the same prompt."""
        agent = session.agent
        command = acp_commands.parse(task)
        if command is not None:
            answer = await asyncio.to_thread(acp_commands.run, agent, *command)
            if answer.text:
                await self._say(session.id, answer.text)
            if command[0] == "plan":  # plan mode on or off: the editor's picker follows
                await self._tell_options(session.id, mode=True)
            if answer.task is None:
                return "done"
            task = answer.task
        elif agent.plan.proposal is not None:
            yes = task.strip().lower() in ("y", "yes")
            task = agent.approve_plan() if yes else agent.reject_plan(task)
        status, proposed = await self._turn(session, task)
        while status == "done" and proposed and agent.plan.proposal is not None:
            if not await self._ask_plan(session.id, proposed, agent.mode):
                break  # it waits: the next prompt answers it (yes, or why not)
            task = agent.approve_plan()
            await self._tell_options(session.id, mode=True)
            status, proposed = await self._turn(session, task)
        return status

    async def _turn(self, session: Session, task: str) -> tuple[str, str]:
        """One turn streamed to the editor: its status, and the id of the call that
        proposed a plan in it ("" if none did)."""
        from v4code.api import AsyncSession

        proposed = ""
        turn = AsyncSession(session).send(task)
        async for event in turn:
            if isinstance(event, PlanProposed):
                proposed = self._last_call.get(session.id, "")
            if isinstance(event, ToolStarted):
                self._last_call[session.id] = event.call.id
            for update in self.updates(session.id, event):
                await self.client.session_update(session_id=session.id, update=update)
        return (await turn.result()).status, proposed

    async def _ask_plan(self, session_id: str, call_id: str, mode: str) -> bool:
        """The chat's question after a proposed plan, as a permission request on the call
        that proposed it: carry it out under the permission mode, or not yet."""
        call = schema.ToolCallUpdate(
            tool_call_id=call_id, title="Carry out this plan?", kind="think", status="completed"
        )
        options = [
            schema.PermissionOption(
                option_id=ALLOW_ONCE, name=f"Yes, carry it out ({mode})", kind="allow_once"
            ),
            schema.PermissionOption(
                option_id=REJECT, name="No: say why in your next message", kind="reject_once"
            ),
        ]
        response = await self.client.request_permission(
            session_id=session_id, tool_call=call, options=options
        )
        outcome = response.outcome
        return outcome.outcome != "cancelled" and str(outcome.option_id) == ALLOW_ONCE

    async def _say(self, session_id: str, text: str) -> None:
        update = scrubbed_update(acp.update_agent_message_text(text), self.scrubs[session_id])
        await self.client.session_update(session_id=session_id, update=update)

    async def _advertise(self, session_id: str) -> None:
        """The slash commands the editor may offer, once the answer that names the session
        is out (the SDK writes it after the handler returns; an update for a session the
        editor does not know yet could be dropped)."""
        await asyncio.sleep(ADVERTISE_DELAY)
        update = schema.AvailableCommandsUpdate(
            session_update="available_commands_update",
            available_commands=acp_commands.advertised(),
        )
        with contextlib.suppress(Exception):  # the editor went away meanwhile: nothing to tell
            await self.client.session_update(session_id=session_id, update=update)

    async def cancel(self, session_id: str, **_: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancel()

    def updates(self, session_id: str, event: Event) -> list[Any]:
        """The session updates one v4code event becomes (none for most bookkeeping events),
        scrubbed whole; streamed text is scrubbed across chunks, what it held back sent
        before the rest."""
        scrub = self.scrubs[session_id]
        shown: list[Any] = []
        for each in self.deltas[session_id].events(event):
            if isinstance(each, ToolFinished):
                each = self._withheld(session_id, each)
            made = update(each)
            if made is not None:
                streamed = isinstance(each, (TextDelta, ReasoningDelta))  # scrubbed already
                shown.append(made if streamed else scrubbed_update(made, scrub))
        return shown

    def _withheld(self, session_id: str, event: ToolFinished) -> ToolFinished:
        """A call that named a secret file shows the editor a placeholder for its output, as
        the session log keeps one: an editor may keep its threads, and the file's content is
        the model's (the person allowed it), not a record's."""
        from v4code.safety.secret_files import PLACEHOLDER

        rule = self.secret_rules[session_id]
        paths = event.summary.paths if event.summary is not None else ()
        if not any(rule.check(path) for path in paths):
            return event
        return dataclasses.replace(
            event, result=dataclasses.replace(event.result, text=PLACEHOLDER)
        )

    async def ask_permission(
        self, session_id: str, request: ApprovalRequest, always: bool
    ) -> str | None:
        """The option the editor chose (None: the prompt turn was cancelled)."""
        call = schema.ToolCallUpdate(
            tool_call_id=request.call.id,
            title=_title(request.tool, request.args, self._label(session_id, request)),
            kind=TOOL_KINDS.get(request.tool, "other"),  # type: ignore[arg-type]
            status="pending",
            content=approval_content(request) or None,
            raw_input=jsonable(request.args),
        )
        call = scrubbed_update(call, self.scrubs[session_id])
        response = await self.client.request_permission(
            session_id=session_id,
            tool_call=call,
            options=permission_options(always, request),
        )
        outcome = response.outcome
        return None if outcome.outcome == "cancelled" else str(outcome.option_id)

    def _label(self, session_id: str, request: ApprovalRequest) -> str | None:
        """The call's one-line label as the tool call showed it (`edit calc.py`), so the
        permission card does not replace it with the raw arguments."""
        tool = self.sessions[session_id].agent.registry.get(request.tool)
        return tool.summarise(request.args).label if tool is not None else None

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()


def _attached_secret(uri: str, body: str, rule: SecretFiles | None) -> bool:
    """Whether an attachment is a secret file: its text, or its `file://` path as the
    session's secret-file rule checks any tool's path (`..` and links resolved, so
    `settings.txt` linked to `.env` is one), else the last part of its address."""
    import urllib.parse

    from v4code.safety.secret_files import secret_in_text, secret_reason

    if secret_in_text(body):
        return True
    parts = urllib.parse.urlsplit(uri)
    path = urllib.parse.unquote(parts.path) if parts.scheme == "file" else ""
    if path and rule is not None:
        return rule.check(path) is not None
    globs = rule.globs if rule is not None else ()
    return secret_reason(uri.rsplit("/", 1)[-1], globs=globs) is not None


def prompt_text(
    blocks: list[Any],
    secret: list[str] | None = None,
    rule: SecretFiles | None = None,
) -> str:
    """The task: the text blocks, then embedded resources (files the editor attached) with
    their names; images and audio are not advertised, so not expected. An attachment is the
    repository's text: framed as an `@` mention's, so it cannot end its block, and one that
    is a secret file (by name, content or the session's `rule`, the user's globs included)
    goes into `secret`, for the session log to leave out (the person attached it: the model gets it)."""
    from v4code.ui.completion import file_block

    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            uri, body = str(block.resource.uri), str(block.resource.text)
            parts.append(file_block("uri", uri, body))
            if secret is not None and _attached_secret(uri, body, rule):
                secret.append(parts[-1].strip())
        elif kind == "resource_link":
            parts.append(f"\n(see {one_line(str(block.uri))})")
    return "".join(parts)


def _title(tool: str, args: dict[str, Any] | None, label: str | None) -> str:
    if label:
        return one_line(label)
    shown = ", ".join(f"{k}={v!r}" for k, v in (args or {}).items() if isinstance(v, (str, int)))
    return one_line(f"{tool} {shown}"[:200])


def scrubbed_update(update: Any, scrub: Callable[[str], str]) -> Any:
    """A message to the editor with every string in it scrubbed (its text, diffs, title, the
    tool's arguments, the todo list): whatever field carries the model's words, no key."""
    return type(update).model_validate(scrubbed(update.model_dump(by_alias=True), scrub))


def tool_started(event: ToolStarted) -> Any:
    label = event.summary.label if event.summary is not None else None
    locations = (
        [schema.ToolCallLocation(path=p) for p in event.summary.paths] if event.summary else []
    )
    return acp.start_tool_call(
        event.call.id,
        _title(event.call.name, event.args, label),
        kind=TOOL_KINDS.get(event.call.name, "other"),  # type: ignore[arg-type]
        status="in_progress",
        locations=locations or None,
        raw_input=jsonable(event.args),
    )


def tool_finished(event: ToolFinished) -> Any:
    failed = event.denied or event.result.is_error
    text = event.result.text
    if len(text) > OUTPUT_CAP:
        text = text[:OUTPUT_CAP] + f"\n… ({len(event.result.text) - OUTPUT_CAP} more characters)"
    label = event.summary.label if event.summary is not None else None
    return acp.update_tool_call(
        event.call.id,
        title=one_line(label) if label else None,
        status="failed" if failed else "completed",
        content=[acp.tool_content(acp.text_block(text))] if text else None,
    )


def approval_content(request: ApprovalRequest) -> list[Any]:
    """What the editor shows with the question: each file's change as a diff, or the command."""
    if request.preview.texts:
        return [
            acp.tool_diff_content(path, after or "", before)
            for path, before, after in request.preview.texts
        ]
    if request.command is not None:
        where = f" (in {request.cwd})" if request.cwd else ""
        sandbox = "sandboxed" if request.sandboxed else "not sandboxed"
        text = f"$ {request.command}\n{sandbox}{where}"
        if request.guard_reason:
            text += f"\n{request.guard_reason}"
        return [acp.tool_content(acp.text_block(text))]
    if request.note:
        return [acp.tool_content(acp.text_block(request.note))]
    return []


def update(event: Event) -> Any:
    """One event as a session update, or None (to be scrubbed before it is sent)."""
    if isinstance(event, ReasoningDelta):
        return acp.update_agent_thought_text(event.text)
    if isinstance(event, TextDelta):
        return acp.update_agent_message_text(event.text)
    if isinstance(event, ToolStarted):
        return tool_started(event)
    if isinstance(event, ToolFinished):
        return tool_finished(event)
    if isinstance(event, (PlanUpdated, PlanProposed)):
        return plan_update(event.items)
    if isinstance(event, ErrorEvent):
        return acp.update_agent_message_text(f"\n\nv4code: {event.message}")
    return None


def plan_update(items: tuple[dict[str, str], ...]) -> Any:
    return acp.update_plan(
        acp.plan_entry(
            item.get("step", ""),
            status=PLAN_STATUS.get(item.get("status", ""), "pending"),  # type: ignore[arg-type]
        )
        for item in items
    )


STDIO_LIMIT = 50 * 1024 * 1024  # one JSON-RPC line may carry a large file the editor attached


async def _protocol_streams() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """stdin and a private copy of stdout for JSON-RPC alone; file descriptor 1 itself then
    points at stderr, so a stray print or a program that inherits it cannot corrupt the
    protocol (the editor shows stderr as the agent's log)."""
    from acp.stdio import stdio_streams

    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = protocol_out  # what the SDK connects, this once
    try:
        return await stdio_streams(limit=STDIO_LIMIT)
    finally:
        sys.stdout = sys.stderr


async def serve(flags: dict[str, Any]) -> None:
    """Answer the editor on stdin/stdout until it closes the connection."""
    agent = V4codeAgent(flags)
    reader, writer = await _protocol_streams()
    try:
        await acp.run_agent(agent, writer, reader)  # type: ignore[arg-type]
    finally:
        await asyncio.to_thread(agent.close)
