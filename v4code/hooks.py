"""Lifecycle hooks: the user's commands around tool calls and at the end of each turn.

`[hooks]` in config.toml (the user's; a project's only once trusted) lists shell commands for
`before_tool`, `after_tool` and `turn_end`. Each gets a JSON description of the event on stdin
and runs in the workspace with a time limit. A `before_tool` command that exits with code 2
vetoes the call: its stderr is the reason the model sees. Any other failure is shown as a
notice and the session goes on: a hook never hangs or ends a session.

A project's hooks run only while the repository is still trusted as it was: its trust covers
the scripts they run (`sh scripts/hook.sh`), and the model can rewrite those during the session
(an edit needs no command). Each run looks again (a stat per file when nothing changed); once
the trust is gone, the project's hooks stop for the session and a notice says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from v4code.errors import ConfigError, ToolError
from v4code.events import jsonable

if TYPE_CHECKING:
    from v4code.cancel import CancelToken
    from v4code.events import TurnFinished
    from v4code.project_layer import SessionLayers
    from v4code.protocols import Proposal
    from v4code.safety.process import Captured
    from v4code.toolkit import Invocation, ToolContext
    from v4code.types import ToolCall, ToolResult

EVENTS = ("before_tool", "after_tool", "turn_end")
DEFAULT_TIMEOUT = 30.0
VETO_EXIT = 2
MAX_REASON = 2000


class HookedSession(Protocol):
    """What a hook's event reads of the running agent: its session and the turn's cancel
    token (its time limit bounds the hooks too)."""

    @property
    def session_id(self) -> str: ...

    @property
    def cancel(self) -> CancelToken: ...


@dataclass(frozen=True)
class HookConfinement:
    """The user's sandbox settings, as a project's hooks run under them."""

    sandbox: bool = True
    allow_read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hook:
    event: str
    command: str
    source: str  # "user" or "project"


def _hooks_in(data: dict[str, Any], path: Path, source: str) -> tuple[list[Hook], float | None]:
    table = data.get("hooks")
    if table is None:
        return [], None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [hooks] must be a table")
    found: list[Hook] = []
    timeout: float | None = None
    for key, value in table.items():
        if key == "timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{path}: hooks.timeout must be a positive number of seconds")
            timeout = float(value)
            continue
        if key not in EVENTS:
            raise ConfigError(f"{path}: unknown hook {key!r} (known: {', '.join(EVENTS)}, timeout)")
        commands = [value] if isinstance(value, str) else value
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise ConfigError(f"{path}: hooks.{key} must be a command or a list of commands")
        found.extend(Hook(key, c, source) for c in commands if c.strip())
    return found, timeout


class Hooks:
    """The hooks of one session; each event method returns notices for the person."""

    def __init__(
        self,
        root: Path,
        hooks: list[Hook],
        timeout: float = DEFAULT_TIMEOUT,
        confine: HookConfinement | None = None,
    ) -> None:
        self.root = root
        self.hooks = hooks
        self.timeout = timeout
        self.confine = confine or HookConfinement()
        self.untrusted_note: str | None = None  # said once, when the project's hooks stop

    def for_child(self) -> Hooks:
        """The hooks a child agent runs: every call's (`before_tool` is the parent's
        before-apply seam already, `after_tool` runs here), not `turn_end`, which is the
        session's turn; a trust revoked in either is revoked in both."""
        return _ChildHooks(self)

    def _runnable(self, event: str) -> list[Hook]:
        """The hooks for `event`: the user's, and the project's while it is still trusted."""
        wanted = [h for h in self.hooks if h.event == event]
        if any(h.source == "project" for h in wanted):
            from v4code.safety.trust import is_trusted

            if not is_trusted(self.root):
                self.hooks = [h for h in self.hooks if h.source != "project"]
                self.untrusted_note = (
                    "this repository's .v4code/ or a script its hooks run changed during the "
                    "session: its hooks no longer run (run `v4code trust` after reading it)"
                )
                wanted = [h for h in wanted if h.source != "project"]
        return wanted

    def _run(
        self, event: str, payload: dict[str, Any], cancel: CancelToken | None = None
    ) -> list[tuple[Hook, int | None, str]]:
        body = json.dumps(jsonable({"event": event, "cwd": str(self.root), **payload}))
        results: list[tuple[Hook, int | None, str]] = []
        for hook in self._runnable(event):
            try:
                done = self._start(hook, event, body, cancel)
            except OSError as exc:
                results.append((hook, None, f"could not start: {exc.strerror or exc}"))
                continue
            err = done.stderr.decode("utf-8", "replace").strip()[:MAX_REASON]
            if done.timed_out and cancel is not None and cancel.out_of_time:
                results.append((hook, None, "stopped: the time limit ran out"))
            elif done.timed_out:
                results.append((hook, None, f"stopped after {self.timeout:g} s"))
            elif done.cancelled:
                results.append((hook, None, "interrupted"))
            else:
                results.append((hook, done.returncode, err))
        return results

    def _start(self, hook: Hook, event: str, body: str, cancel: CancelToken | None) -> Captured:
        """One hook's run: a project's in the sandbox (see the module's docstring)."""
        from v4code.safety.process import capture_process, command_env
        from v4code.safety.sandbox import SandboxUnavailable, confined

        sandbox = hook.source == "project" and self.confine.sandbox
        argv = ["/bin/sh", "-c", hook.command]
        try:
            with confined(
                argv, self.root, sandbox=sandbox, allow_read=self.confine.allow_read
            ) as run:
                return capture_process(
                    run,
                    cwd=self.root,
                    timeout=self.timeout,
                    cancel=cancel,
                    env=command_env(V4CODE_HOOK_EVENT=event),
                    stdin=body.encode(),
                )
        except SandboxUnavailable as exc:  # said as a hook that could not start
            raise OSError(f"the sandbox cannot start here: {exc}") from exc

    def _notices(self, event: str, payload: dict[str, Any], agent: HookedSession) -> list[str]:
        """Run `event`'s hooks under the turn's cancel token (its time limit bounds them): the
        line saying the project's hooks stopped, if they just did, then each failure."""
        results = self._run(event, payload, agent.cancel)
        note, self.untrusted_note = self.untrusted_note, None
        return ([] if note is None else [note]) + self._failures(event, results)

    @staticmethod
    def _failures(event: str, results: list[tuple[Hook, int | None, str]]) -> list[str]:
        notes = []
        for hook, code, err in results:
            if code == 0:
                continue
            how = f"exit code {code}" if code is not None else err
            detail = f": {err.splitlines()[-1]}" if code is not None and err else ""
            notes.append(f"{event} hook `{hook.command}` failed ({how}){detail}")
        return notes

    def before_apply(
        self, invocation: Invocation, proposal: Proposal, ctx: ToolContext
    ) -> str | None:
        """The pipeline's before-apply seam: exit code 2 vetoes the call with stderr as reason."""
        if not any(h.event == "before_tool" for h in self.hooks):
            return None
        payload: dict[str, Any] = {"tool": invocation.tool.name, "arguments": invocation.args}
        preview = proposal.preview()
        if preview.command:
            payload["command"] = preview.command
        for hook, code, err in self._run("before_tool", payload, ctx.cancel):
            if code == VETO_EXIT:
                reason = err or f"the hook `{hook.command}` refused it"
                raise ToolError(f"Blocked by a before_tool hook: {reason}")
        return None

    def after_tool(
        self,
        agent: HookedSession,
        call: ToolCall,
        args: dict[str, Any] | None,
        result: ToolResult,
    ) -> list[str]:
        if not any(h.event == "after_tool" for h in self.hooks):
            return []
        payload = {
            "session_id": agent.session_id,
            "tool": call.name,
            "arguments": args,
            "is_error": result.is_error,
            "result": result.text[:10_000],
        }
        return self._notices("after_tool", payload, agent)

    def turn_end(self, agent: HookedSession, finished: TurnFinished) -> list[str]:
        if not any(h.event == "turn_end" for h in self.hooks):
            return []
        payload = {
            "session_id": agent.session_id,
            "status": finished.status,
            "files_changed": list(finished.files_changed),
            "final_message": finished.final_text[:10_000],
        }
        return self._notices("turn_end", payload, agent)


class _ChildHooks(Hooks):
    """`Hooks.for_child`: the parent's hooks, asked through the parent (its trust state)."""

    def __init__(self, parent: Hooks) -> None:
        super().__init__(parent.root, parent.hooks, parent.timeout, parent.confine)
        self._parent = parent

    def _runnable(self, event: str) -> list[Hook]:
        return [] if event == "turn_end" else self._parent._runnable(event)


def load_hooks(
    root: Path,
    layers: SessionLayers | None = None,
    *,
    sandbox: bool = True,
    allow_read: tuple[str, ...] = (),
) -> Hooks | None:
    """The user's hooks, then a trusted project's; None when there are none. `layers`: the
    session's config files, read when it opened (else read now); `sandbox`, `allow_read`:
    the user's sandbox settings, which a project's hooks run under."""
    from v4code.config import session_layers

    layers = session_layers(root, layers)
    hooks, timeout = _hooks_in(layers.user.table(), layers.user.path, "user")
    project = layers.project.config
    more, _ = _hooks_in(project.table(), project.path, "project")
    hooks.extend(more)
    if not hooks:
        return None
    return Hooks(root, hooks, timeout or DEFAULT_TIMEOUT, HookConfinement(sandbox, allow_read))
