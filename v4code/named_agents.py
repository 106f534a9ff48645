"""Named agents: a child agent's role in a Markdown file, the user's and a trusted project's.

`<v4code home>/agents/NAME.md` and `.v4code/agents/NAME.md` (the project's only once the user
trusts the repository: `agent_folders`). Front matter between `---` lines sets `name`,
`description`, `model` and `tools` (a comma-separated list of tool names; without it the
child gets the read-only tools); the body is the agent's prompt. The model starts one with
the `task` tool's `agent` argument. The user's file wins a name both folders have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from v4code.prompt_files import front_matter, markdown_files

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

__all__ = ["NamedAgent", "agent_folders", "load_named_agents", "parse_agent"]


@dataclass(frozen=True)
class NamedAgent:
    name: str
    prompt: str
    description: str = ""
    model: str | None = None
    tools: tuple[str, ...] | None = None  # None: the read-only default
    source: str = "user"


def parse_agent(stem: str, text: str, source: str) -> NamedAgent | None:
    """An agent from its file's text; None when its name is not a valid one."""
    meta, body = front_matter(text)
    name = (meta.get("name") or stem).strip().lower()
    if not NAME_RE.match(name):
        return None
    listed = meta.get("tools", "").strip().strip("[]")
    tools = tuple(t.strip().strip("\"'") for t in listed.split(",") if t.strip()) or None
    return NamedAgent(
        name=name,
        prompt=body.strip(),
        description=" ".join(meta.get("description", "").split())[:200],
        model=meta.get("model") or None,
        tools=tools,
        source=source,
    )


def _read_folder(folder: Path, source: str) -> dict[str, NamedAgent]:
    found: dict[str, NamedAgent] = {}
    for stem, text in markdown_files(folder):
        agent = parse_agent(stem, text, source)
        if agent is not None:
            found[agent.name] = agent
    return found


def load_named_agents(folders: Iterable[tuple[Path, str]]) -> dict[str, NamedAgent]:
    """Every agent in `folders` ((folder, source) pairs, lowest precedence first) by name."""
    agents: dict[str, NamedAgent] = {}
    for folder, source in folders:
        agents.update(_read_folder(folder, source))
    return dict(sorted(agents.items()))


def agent_folders(project: Path | None = None) -> list[tuple[Path, str]]:
    """Where named agents come from: `project`, a repository's `.v4code/agents/` (only once
    the user trusts it: a prompt and a tool list are instructions to the model; the session's
    project layer gives None otherwise), then the user's own, which wins a name both have."""
    from v4code.config import user_home

    folders: list[tuple[Path, str]] = []
    if project is not None:
        folders.append((project, "project"))
    folders.append((user_home() / "agents", "user"))
    return folders
