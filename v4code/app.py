"""Builds an Agent from settings: the one place frontends get their engine from."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.agent import Agent
from v4code.cancel import CancelToken
from v4code.config import AUTO, DEFAULT_BASE_URL, Settings, user_home
from v4code.conversation import Conversation
from v4code.errors import ConfigError, V4codeError
from v4code.instructions import build_system_prompt
from v4code.protocols import Approver, Backend
from v4code.safety.permissions import PermissionPolicy
from v4code.sessions import SessionData, SessionLog, find_session, read_session
from v4code.toolkit import ToolRegistry
from v4code.types import Message
from v4code.workspace import workspace_root

if TYPE_CHECKING:
    from v4code.edits.checkpoints import CheckpointStore
    from v4code.lsp.manager import LanguageServers
    from v4code.project_layer import ProjectLayer, SessionLayers
    from v4code.repomap.opening import OpeningMap
    from v4code.subagents import ChildPlan, PathClaims

__all__ = [
    "AgentSession",
    "child_agent",
    "give_agents",
    "load_registry",
    "make_backend",
    "open_session",
    "task_agent",
    "workspace_root",
]


def load_registry(
    root: Path, only: tuple[str, ...] | None = None, project: ProjectLayer | None = None
) -> ToolRegistry:
    """The bundled tools, plus `.v4code/tools/` once the user trusts the repository.

    A project tool is Python that runs on import, so it is never loaded from an untrusted
    repository (or through a linked directory, whose content trust does not cover).
    `project`: the session's project layer (else `root`'s, read now).
    """
    from v4code.assets import tools_dir
    from v4code.tool_cards import ToolCards

    # The bundled tools' modules are imported when the model first calls one of them.
    cards = ToolCards(user_home() / "cache" / "tool-cards.json")
    registry = ToolRegistry.load([tools_dir()], only=only, cards=cards)
    if project is None and (root / ".v4code" / "tools").is_dir():
        from v4code.project_layer import read_project_layer

        project = read_project_layer(root)
    if project is not None and project.tools is not None:
        for t in ToolRegistry.load([project.tools], only=only):
            registry.add(t)
    return registry


def offer_escalate(registry: ToolRegistry, settings: Settings) -> None:
    """Add the `escalate` tool (tools/auto/) to a session routed by `auto` (a resumed one
    too); every other session's tool list stays as it was."""
    from v4code.assets import tools_dir
    from v4code.routing import ESCALATE_TOOL

    if settings.model != AUTO:
        return
    found = ToolRegistry.load([tools_dir() / "auto"]).get(ESCALATE_TOOL)
    if found is not None and registry.get(ESCALATE_TOOL) is None:
        registry.add(found)


def _extensions(
    root: Path, policy: PermissionPolicy, layers: SessionLayers, settings: Settings
) -> dict[str, Any]:
    """MCP servers (started now, in the background) and hooks, as Agent arguments; the
    first request waits `mcp_startup_wait` for servers still starting, and a project's hooks
    run in the sandbox the commands run in."""
    mcp_wait = settings.mcp_startup_wait
    from v4code.hooks import load_hooks
    from v4code.mcp.config import load_servers

    before_apply: list[Any] = []
    found: dict[str, Any] = {}
    loaded = load_servers(root, layers)  # read once: the session gets what was checked here
    if loaded.servers:
        from v4code.mcp.client import ProjectConfinement
        from v4code.mcp.session import McpSession

        confine = ProjectConfinement(root, settings.sandbox, settings.sandbox_allow_read)
        mcp = McpSession(root, policy, user_home() / "logs", loaded, confine)
        before_apply.append(mcp.before_apply)
        found["tool_setup"] = functools.partial(mcp.install, wait=mcp_wait)
    hooks = load_hooks(
        root, layers, sandbox=settings.sandbox, allow_read=settings.sandbox_allow_read
    )
    if hooks is not None:
        before_apply.append(hooks.before_apply)
        found["hooks"] = hooks
    if before_apply:
        found["before_apply"] = before_apply
    return found


def make_backend(settings: Settings) -> Backend:
    api_key = settings.api_key
    if not api_key:
        if settings.dialect == "deepseek" and settings.base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ConfigError(
                "No DeepSeek API key. Set DEEPSEEK_API_KEY (export DEEPSEEK_API_KEY=sk-...) or put "
                f'api_key = "sk-..." in {user_home() / "config.toml"}; get a key at '
                "https://platform.deepseek.com/api_keys."
            )
        api_key = "none"  # local engines accept any key
    from v4code.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(
        base_url=settings.base_url,
        api_key=api_key,
        dialect=settings.dialect,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        retry_base_delay=settings.retry_base_delay,
        retry_max_delay=settings.retry_max_delay,
        transport=settings.transport,
    )


def task_agent(
    settings: Settings,
    root: Path,
    approver: Approver,
    registry: ToolRegistry,
    *,
    system_prompt: str,
    meta: dict[str, Any],
    backend: Backend,
    cancel: CancelToken | None = None,
) -> Agent:
    """An Agent for one fixed task that edits nothing (a review of a diff chunk): a new
    session log (`meta` as its header), the settings' permission mode, and none of a
    session's extras (checkpoints, MCP servers, hooks, a repo map in the first message)."""
    conversation, log = _created(settings, root, system_prompt, meta)
    return Agent(
        settings=settings,
        backend=backend,
        registry=registry,
        root=root,
        conversation=conversation,
        session=log,
        approver=approver,
        policy=_policy(settings, root),
        checkpoints=None,
        cancel=cancel,
    )


@dataclass
class AgentSession:
    """What open_session returns: an Agent wired to its session log, and whether that log was
    a saved session continued (`resumed`) rather than a new one."""

    agent: Agent
    resumed: bool
    checkpoints: CheckpointStore
    """Where the agent's edits and commands are recorded (what `/undo` and `/diff` read)."""
    opening_map: OpeningMap | None = None
    """The first message's repo map (a new session's), perhaps being indexed in the background."""
    servers: LanguageServers | None = None
    """The session's language servers (started when first asked), None with `diagnostics` off."""

    def close(self) -> None:
        """Stop what the session runs in the background (the repo map's warm-up, the
        language servers)."""
        if self.opening_map is not None:
            self.opening_map.close()
        if self.servers is not None:
            self.servers.close()


def _with_repo_map(settings: Settings, root: Path) -> OpeningMap | None:
    """The first message's hook: the task, then a repo map for it (v4code.repomap.opening)."""
    if settings.repo_map_tokens <= 0:
        return None
    from v4code.repomap.opening import OpeningMap

    return OpeningMap(root, settings.repo_map_tokens, secret_files=settings.secret_files)


def _warm_up_commands(settings: Settings, root: Path) -> None:
    """Start the once-per-process checks the first command waits for (can bubblewrap start
    here, which host sockets to hide) in the background now, so they overlap the start-up."""
    if settings.permission_mode == "read-only":
        return  # no command will run
    if PermissionPolicy(settings.permission_mode).sandbox_commands and settings.sandbox:
        from v4code.safety.sandbox import warm_up

        warm_up(root)
    else:
        from v4code.safety.isolation import warm_up as warm_up_isolation

        warm_up_isolation()


def open_session(
    settings: Settings,
    root: Path,
    approver: Approver,
    *,
    resume: str | None = None,
    backend: Backend | None = None,
    registry: ToolRegistry | None = None,
    cancel: CancelToken | None = None,
    system_prompt: str | None = None,
    meta: dict[str, Any] | None = None,
    warm_up_map: bool = False,
    layers: SessionLayers | None = None,
) -> AgentSession:
    """A new session, or an existing one continued with its exact history (cache prefix).

    `warm_up_map`: start indexing for the first message's repo map now, in the background
    (the chat, where the person is still typing it); `AgentSession.close` stops it.
    `layers`: the config files and project layer the settings came from (else read now):
    the project's tools, prompts, MCP servers and hooks come from the same reading.
    """
    from v4code.config import session_layers
    from v4code.edits.checkpoints import session_store

    _warm_up_commands(settings, root)  # first: it overlaps all that follows
    layers = session_layers(root, layers)
    checkpoints = session_store(root)  # a batch a crash left half applied is rolled back
    backend = backend or make_backend(settings)
    registry = registry if registry is not None else load_registry(root, project=layers.project)
    if resume is not None:
        data = read_session(find_session(root, resume or None))
        conversation, log = _reopened(data, settings)
    else:
        system = system_prompt or build_system_prompt(root, layers.project)
        info = {"model": settings.model, "base_url": settings.base_url, **(meta or {})}
        conversation, log = _created(settings, root, system, info)
    policy = _policy(settings, root)
    extensions = _extensions(root, policy, layers, settings)
    opening_map = None if resume is not None else _with_repo_map(settings, root)
    agent = Agent(
        settings=settings,
        backend=backend,
        registry=registry,
        root=root,
        conversation=conversation,
        session=log,
        approver=approver,
        policy=policy,
        checkpoints=checkpoints,
        cancel=cancel,
        first_message=opening_map,
        **extensions,
    )
    if resume is not None:
        _resume_state(agent, data, checkpoints)
    _session_tools(agent, layers)  # before the first turn fixes the tool list
    if opening_map is not None and warm_up_map:
        opening_map.warm_up()
    servers = _language_servers(agent)
    return AgentSession(agent, resume is not None, checkpoints, opening_map, servers)


def _language_servers(agent: Agent) -> LanguageServers | None:
    """Language servers for the session (none runs until a file of its language is checked):
    the `diagnostics` tool's seam, and an observer that adds an edit's new errors to its
    result. Their commands come from the user's settings only (`lsp_*` never from a
    repository); with `diagnostics = false` there are none."""
    settings = agent.settings
    if not settings.diagnostics:
        return None
    from v4code.lsp.manager import LanguageServers, ServerSettings
    from v4code.lsp.observer import DiagnosticsObserver
    from v4code.lsp.servers import configured_commands

    commands = configured_commands(settings)
    servers = LanguageServers(
        agent.root,
        ServerSettings(
            commands,
            sandbox=settings.sandbox,
            timeout=settings.diagnostics_timeout,
            allow_read=tuple(settings.sandbox_allow_read),
            secret_files=tuple(settings.secret_files),
        ),
    )
    observer = DiagnosticsObserver(servers)
    agent.pipeline.after_apply.append(observer.after_apply)
    agent.watchers.append(observer.watch)
    agent.child_watchers.append(observer.watch_child)
    agent.give_diagnostics(servers)
    return servers


def _reopened(data: SessionData, settings: Settings) -> tuple[Conversation, SessionLog]:
    """A saved session's exact history and its log, opened to append to."""
    if data.system is None:
        raise V4codeError(f"session {data.session_id} has no system message; it cannot be resumed")
    conversation = Conversation(data.system, data.messages[1:])
    return conversation, SessionLog.reopen(data.path, data.session_id, settings.api_key)


def _created(
    settings: Settings, root: Path, system_prompt: str, header: dict[str, Any]
) -> tuple[Conversation, SessionLog]:
    """A new session's conversation and log (`header` its first record), the system message
    written first."""
    system = Message(role="system", content=system_prompt)
    log = SessionLog.create(root, header, settings.api_key)
    log.message(system)
    return Conversation(system), log


def _policy(settings: Settings, root: Path) -> PermissionPolicy:
    """A session's permission policy, as its settings say."""
    return PermissionPolicy(
        settings.permission_mode, root=root, allow_destructive=settings.allow_destructive
    )


def _resume_state(agent: Agent, data: SessionData, checkpoints: CheckpointStore) -> None:
    """What a continued session carries on with: pending calls of a crashed session answered
    before the next request, the notes, the todo list, plan mode, a plan awaiting its answer."""
    from v4code.edits.journal_note import pending_call_note
    from v4code.notes import restore
    from v4code.sessions import finished_children, resume_state

    rolled = checkpoints.interrupted_batches(agent.root, agent.session_id)
    agent.close_pending(pending_call_note(rolled[-1:]))
    restore(agent, resume_state(data), data.pending_notes)
    agent.plan.restore(data.events)
    agent.subagents = finished_children(data)  # `/cost` lists them after a resume too


# --- child agents (the `task` tool) ------------------------------------------------------

NOT_FOR_CHILDREN = frozenset({"task", "propose_plan", "update_plan", "escalate"})
"""A child starts no children (depth 1), keeps no plan of the session's and does not
escalate the session's model."""


def _session_tools(agent: Agent, layers: SessionLayers) -> None:
    """The tools only some sessions get: `escalate` for `auto`, children for `task`."""
    offer_escalate(agent.registry, agent.settings)
    give_agents(agent, layers.project.agents)


def give_agents(agent: Agent, project_agents: Path | None = None) -> None:
    """Let the agent's `task` tool start children: named agents from the user's agents
    folder and `project_agents` (a trusted repository's `.v4code/agents/`, from the session's
    project layer, which says None for an untrusted one)."""
    if "task" not in agent.registry.names():
        return
    from v4code.named_agents import agent_folders, load_named_agents
    from v4code.subagents import AgentsSeam, SubagentRunner

    named = load_named_agents(agent_folders(project_agents))
    if named and not any(m.role == "user" for m in agent.conversation.history):
        listed = "; ".join(f"{a.name}: {a.description or 'no description'}" for a in named.values())
        agent.notes.append(f"Named agents the task tool can start (its `agent`): {listed}.")
    runner = SubagentRunner(agent, lambda plan, claims: child_agent(agent, plan, claims), named)
    agent.give_agents(AgentsSeam(runner), owner=runner)  # the context holds no path to the key


def child_agent(parent: Agent, plan: ChildPlan, claims: PathClaims) -> Agent:
    """A child of `parent` for one brief: a fresh conversation, its own model, tools and
    backend connection; the parent's permission mode, hooks (not `turn_end`), checkpoints and
    session log (its records tagged as the child's); approvals asked through the parent."""
    from v4code.assets import load_prompt
    from v4code.subagents import RelayedApprover

    settings = plan.settings
    # the parent's system prompt first: the same prefix, so the children's requests share
    # one prompt cache
    prompt = (parent.conversation.system.content or "") + "\n" + load_prompt("subagent")
    if plan.prompt:
        prompt += f"\n## Your role: {plan.name}\n\n{plan.prompt}\n"
    log = parent.session.for_child(plan.child)
    log.write({"type": "meta", "name": plan.name, "model": settings.model})
    system = Message(role="system", content=prompt)
    log.message(system)
    p = parent.policy
    policy = PermissionPolicy(
        p.mode,
        allowed_tools=p.allowed_tools,  # an "always" answered to one agent holds for all
        allowed_prefixes=p.allowed_prefixes,
        root=parent.root,
        allow_destructive=p.allow_destructive,
        planning=p.planning,
    )
    child = Agent(
        settings=settings,
        backend=make_backend(settings),  # a connection of its own: children run at once
        registry=_child_tools(parent.registry, plan.tools),
        root=parent.root,
        conversation=Conversation(system),
        session=log,
        approver=RelayedApprover(parent.relay, parent.pipeline.approver),
        policy=policy,
        checkpoints=parent.checkpoints,
        before_apply=[claims.hook(plan.child, plan.name), *parent.pipeline.before_apply],
        after_apply=parent.pipeline.after_apply,  # the parent's language servers, shared
        hooks=parent.hooks.for_child() if parent.hooks is not None else None,
    )
    child.give_diagnostics(parent.diagnostics_source)
    child.watchers += parent.child_watchers  # e.g. the diagnostics of the child's own edits
    return child


def _child_tools(parent: ToolRegistry, names: tuple[str, ...] | None) -> ToolRegistry:
    """The parent's read tools, or the tools a named agent lists (never `task`)."""
    if names is None:
        return ToolRegistry(
            t for t in parent if t.risk == "read" and t.name not in NOT_FOR_CHILDREN
        )
    unknown = [n for n in names if parent.get(n) is None]
    if unknown:
        from v4code.errors import ToolError

        raise ToolError(f"The agent lists tools that do not exist: {', '.join(unknown)}.")
    return ToolRegistry(t for n in names if n not in NOT_FOR_CHILDREN and (t := parent.get(n)))
