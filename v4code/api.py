"""The Python API: open a session in a workspace, send it tasks, read its events, get a result.

A program drives v4code here as `v4code run` does (it is built on this module): the one
session path (`app.open_session`), the settings from the same layers (the options given
here are the command line's layer), the result `run -o json` prints. Approvals go to the
caller's `approve` callback; without one, whatever the permission mode would ask about is
denied, as in `v4code run`. The async form runs the session in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.cancel import CancelToken
from v4code.errors import ConfigError
from v4code.events import Event, Notice, TurnFinished
from v4code.protocols import Approval, ApprovalRequest, Approver
from v4code.ui.headless import PolicyApprover, RunResult, collect

if TYPE_CHECKING:
    import asyncio

    from v4code.agent import Agent
    from v4code.app import AgentSession
    from v4code.config import LoadedSettings, Settings
    from v4code.project_layer import SessionLayers

__all__ = [
    "Approval",
    "ApprovalRequest",
    "AsyncSession",
    "AsyncTurn",
    "Result",
    "Session",
    "Turn",
    "open_session",
    "open_session_async",
]

Result = RunResult
"""A task's outcome: `status`, `exit_code`, `final_message`, `files_changed`, `usage`
(tokens), `cost_usd`, `steps`, `session_id`, `denied`, ... (`to_dict()`: `run -o json`)."""

ApproveFn = Callable[[ApprovalRequest], "Approval | bool | Awaitable[Approval | bool]"]
"""Asked what the permission mode asks a person about (an edit's diff, a command): True or an
`Approval` allows, False denies. An async session may give a coroutine function."""


class _CallbackApprover:
    """The caller's `approve` as the session's Approver (called in the session's thread)."""

    def __init__(self, approve: ApproveFn) -> None:
        self.approve = approve
        self.loop: asyncio.AbstractEventLoop | None = None  # set by an async turn

    def decide(self, request: ApprovalRequest) -> Approval:
        import asyncio  # here, not at the top: `v4code run` never needs it
        import inspect

        answer = self.approve(request)
        if inspect.isawaitable(answer):
            if self.loop is None:
                raise ConfigError("an async approve callback needs open_session_async")
            answer = asyncio.run_coroutine_threadsafe(_awaited(answer), self.loop).result()
        if isinstance(answer, Approval):
            return answer
        return Approval(allowed=bool(answer), reason=None if answer else "Denied by the caller")


async def _awaited(answer: Awaitable[Approval | bool]) -> Approval | bool:
    return await answer


class Turn:
    """One task's events, in order, as the session yields them; `result()` once they end."""

    def __init__(self, agent: Agent, events: Iterator[Event], notices: tuple[str, ...]) -> None:
        self._events = events
        self._result = Result(session_id=agent.session_id, notices=list(notices))
        self._result.todo = [dict(item) for item in agent.plan.items]
        self._done = False

    def __iter__(self) -> Iterator[Event]:
        for event in self._events:
            collect(event, self._result)
            yield event
        self._done = True

    def result(self) -> Result:
        """The outcome; the events not read yet are read (and dropped) first."""
        if not self._done:
            for _ in self:
                pass
        return self._result


class Session:
    """An open session: `send` a task (events), `run` one (its result), `close` at the end."""

    def __init__(self, opened: AgentSession, loaded: LoadedSettings, cancel: CancelToken) -> None:
        self._opened = opened
        self.agent = opened.agent
        self.notices = loaded.notices
        """Settings left out (what `v4code run` says on stderr before it starts)."""
        self.cancel_token = cancel

    @property
    def id(self) -> str:
        """The session's id: `open_session(resume=id)` (or `v4code --resume id`) continues it."""
        return self.agent.session_id

    @property
    def settings(self) -> Settings:
        return self.agent.settings

    @property
    def resumed(self) -> bool:
        return self._opened.resumed

    def send(self, task: str, *, plan: bool = False, execute: bool = False) -> Turn:
        """Start `task`; iterate the Turn for its events. `plan`: plan mode (the plan is the
        answer); with `execute` the plan is carried out at once under the permission mode."""
        if not task.strip():
            raise ConfigError("no task given (the task is empty)")
        self.cancel_token.reset()
        events = _planned(self.agent, task, execute) if plan else self.agent.submit(task)
        return Turn(self.agent, events, self.notices)

    def run(self, task: str, *, plan: bool = False, execute: bool = False) -> Result:
        """`task` to its end: the result alone."""
        return self.send(task, plan=plan, execute=execute).result()

    def cancel(self) -> None:
        """Stop the task in progress (from another thread): its turn ends `interrupted`."""
        self.cancel_token.cancel()

    def close(self) -> None:
        self._opened.close()
        self.agent.session.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NO_PLAN = "the model ended without proposing a plan"


def _planned(agent: Agent, task: str, execute: bool) -> Iterator[Event]:
    """Plan mode's turn; with `execute`, a proposed plan is approved under the session's
    permission mode and carried out in a second turn (the todo list carries on)."""
    agent.start_planning()
    status = ""
    for event in agent.submit(task):
        if isinstance(event, TurnFinished):
            if event.status == "done" and agent.plan.proposal is None:
                event = yield from _without_plan(agent, event)
            status = event.status
        yield event
    if execute and status == "done" and agent.plan.proposal is not None:
        yield from agent.submit(agent.approve_plan())


def _without_plan(agent: Agent, finished: TurnFinished) -> Generator[Event, None, TurnFinished]:
    """A plan turn the model ended with an answer (or a question) and no plan: the task was a
    plan, so the turn failed (exit 1), with a notice; `plan: null` and exit 0 read as success
    to a script. The chat asks no such thing: there a person reads the answer."""
    said = f"{NO_PLAN}; its answer is the final message, and nothing was carried out"
    yield agent.record(Notice(said))
    return replace(finished, status="failed", reason=NO_PLAN)


def start(
    loaded: LoadedSettings,
    layers: SessionLayers,
    approver: Approver,
    *,
    resume: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Session:
    """A Session on settings already loaded (what `open_session` and `v4code run` share).
    `resume`: a session id, "" for the workspace's latest, None for a new session."""
    from v4code.app import open_session as open_agent
    from v4code.config import check_cost_limit

    check_cost_limit(loaded.settings)
    cancel = CancelToken()
    opened = open_agent(
        loaded.settings,
        layers.project.root,
        approver,
        resume=resume,
        cancel=cancel,
        meta=meta,
        layers=layers,
    )
    return Session(opened, loaded, cancel)


API_SOURCE = "open_session argument"
"""Where an API caller's options come from, as errors name it: never a command line."""


def open_session(
    workspace: str | Path | None = None,
    *,
    model: str | None = None,
    profile: str | None = None,
    permission_mode: str | None = None,
    max_steps: int | None = None,
    max_cost: float | None = None,
    max_time: float | None = None,
    thinking: bool | None = None,
    effort: str | None = None,
    approve: ApproveFn | None = None,
    resume: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Session:
    """Open a session in `workspace` (its git top level; default: the current directory).

    The options are the command line's layer over the config files (`settings`: any other
    setting by name). `resume`: a session id to continue. A bad option raises a
    `V4codeError` (`ConfigError`) before anything is written.
    """
    given = {
        "model": model,
        "profile": profile,
        "permission_mode": permission_mode,
        "max_steps": max_steps,
        "max_cost": max_cost,
        "max_time": max_time,
        "thinking": thinking,
        "effort": effort,
    }
    flags = {**(settings or {}), **{k: v for k, v in given.items() if v is not None}}
    if flags.get("effort") is not None and str(flags["effort"]).lower() == "none":
        flags.update(thinking=False, effort=None)
    start_dir = Path(workspace).expanduser() if workspace is not None else None
    chosen = None if approve is None else _CallbackApprover(approve)
    return open_in(
        start_dir, flags, chosen, resume=resume, meta={"frontend": "api"}, source=API_SOURCE
    )


def open_in(
    workspace: Path | None,
    flags: dict[str, Any],
    approver: Approver | None,
    *,
    resume: str | None,
    meta: dict[str, Any],
    source: str = "command line",
) -> Session:
    """A Session in `workspace`'s git top level (None: the current directory's) on the
    config files under `flags` (the top layer; `source` names it in errors, as the caller
    gave it); without an `approver`, whatever the permission mode would ask about is denied.
    The API's and an editor's way in."""
    from v4code.config import load_settings
    from v4code.project_layer import read_layers
    from v4code.workspace import workspace_root

    if workspace is not None and not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory")
    layers = read_layers(workspace_root(workspace))
    loaded = load_settings(layers.project.root, flags, layers, flags_source=source)
    if approver is None:
        approver = PolicyApprover(loaded.settings.permission_mode)
    return start(loaded, layers, approver, resume=resume, meta=meta)


# --- async (asyncio is imported where it is used: `v4code run` starts without it) ---------

_END = object()


class AsyncTurn:
    """One task's events as an async iterator; the session runs in a worker thread."""

    def __init__(self, turn: Turn, session: Session) -> None:
        import asyncio

        self._turn = turn
        self._session = session
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._ended = False
        approver = session.agent.pipeline.approver
        if isinstance(approver, _CallbackApprover):
            approver.loop = self._loop
        self._thread = threading.Thread(target=self._work, name="v4code-turn", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        put = self._loop.call_soon_threadsafe
        try:
            for event in self._turn:
                put(self._queue.put_nowait, event)
        except BaseException as exc:  # handed to the caller's loop, raised there
            put(self._queue.put_nowait, exc)
        put(self._queue.put_nowait, _END)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        import asyncio

        if self._ended:
            raise StopAsyncIteration
        try:
            item = await self._queue.get()
        except asyncio.CancelledError:
            self._session.cancel()  # the caller's task was cancelled: so is the turn
            raise
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        return item  # type: ignore[return-value]

    async def result(self) -> Result:
        """The outcome, once the turn's events ended (the rest are read and dropped)."""
        import asyncio

        async for _ in self:
            pass
        await asyncio.to_thread(self._thread.join)
        return self._turn.result()


class AsyncSession:
    """The async form of Session: `async for event in session.send(task)`."""

    def __init__(self, session: Session) -> None:
        self.sync = session

    @property
    def id(self) -> str:
        return self.sync.id

    def send(self, task: str, *, plan: bool = False, execute: bool = False) -> AsyncTurn:
        return AsyncTurn(self.sync.send(task, plan=plan, execute=execute), self.sync)

    async def run(self, task: str, *, plan: bool = False, execute: bool = False) -> Result:
        return await self.send(task, plan=plan, execute=execute).result()

    def cancel(self) -> None:
        """Stop the task in progress: its turn ends `interrupted`."""
        self.sync.cancel()

    async def close(self) -> None:
        import asyncio

        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_session_async(workspace: str | Path | None = None, **options: Any) -> AsyncSession:
    """`open_session`'s options; the session opens in a worker thread."""
    import asyncio

    return AsyncSession(await asyncio.to_thread(open_session, workspace, **options))
