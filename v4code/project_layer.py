"""What a session reads once, when it opens: the user's config file and the repository's
`.v4code/` as one project layer.

The layer holds the trust state computed then (safety/trust.py: content-hashed, links
refused), the project's config.toml exactly as it was hashed, and where the project's tools,
prompts, custom commands and agents are. Every loader (settings, tools, prompts, MCP servers,
hooks, custom commands) takes it instead of asking for the trust again, so a start hashes the
folder once and parses each config file once, and all of them agree on one answer. A
`.v4code/` that appears during the session changes nothing until the next one; what reads
or runs the project's files later (a custom command, a hook, an MCP server's restart) asks
again whether the repository is still trusted (`rechecked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from v4code.home import user_config_path
from v4code.safety.trust import TrustState, project_dir, trust_state
from v4code.toml_tables import TomlFile, read_toml_file


@dataclass(frozen=True)
class ProjectLayer:
    """A repository's `.v4code/` as the session opened with it."""

    root: Path
    trust: TrustState
    config: TomlFile
    """The project's config.toml when trusted (as hashed); empty otherwise."""
    notices: tuple[str, ...] = ()
    """Why the project's settings are left out, one line each (untrusted, a linked file)."""

    @property
    def trusted(self) -> bool:
        return self.trust.trusted

    def folder(self, name: str) -> Path | None:
        """`.v4code/NAME/` of a repository trusted when the session opened; None otherwise or
        when it is not a plain folder (trust does not cover what a linked folder holds)."""
        if not self.trusted:
            return None
        path = project_dir(self.root) / name
        return path if path.is_dir() and not path.is_symlink() else None

    @property
    def tools(self) -> Path | None:
        return self.folder("tools")

    @property
    def prompts(self) -> Path | None:
        return self.folder("prompts")

    @property
    def commands(self) -> Path | None:
        return self.folder("commands")

    @property
    def agents(self) -> Path | None:
        """Where a trusted repository's named agents live (v4code.named_agents)."""
        return self.folder("agents")

    def prompt(self, name: str) -> Path | None:
        """The project's `prompts/NAME.md` (a plain file, not a link), if trusted."""
        folder = self.prompts
        path = folder / f"{name}.md" if folder is not None else None
        return path if path is not None and path.is_file() and not path.is_symlink() else None

    def rechecked(self) -> ProjectLayer:
        """This layer for a read later in the session (a custom command typed in the chat):
        the same while the repository is still trusted, untrusted from the moment it is not.
        A repository not trusted when the session opened stays unused until the next one."""
        if not self.trusted:
            return self
        state = trust_state(self.root)
        if state.trusted:
            return self
        return ProjectLayer(self.root, state, TomlFile(self.config.path), self.notices)


def read_project_layer(root: Path, trust: TrustState | None = None) -> ProjectLayer:
    """The layer of `root`: `trust` when the caller just computed it (the chat's question),
    else computed now, once."""
    state = trust if trust is not None else trust_state(root)
    empty = TomlFile(project_dir(root) / "config.toml")
    if state.notice is not None:
        return ProjectLayer(root, state, empty, (state.notice,))
    if not state.trusted:
        return ProjectLayer(root, state, empty)
    if empty.path.is_symlink():
        notice = f"{empty.path} is a symbolic link: ignored; use a plain file"
        return ProjectLayer(root, state, empty, (notice,))
    return ProjectLayer(root, state, state.config or empty)


@dataclass(frozen=True)
class SessionLayers:
    """The files a session's settings come from, each read once when it opens."""

    user: TomlFile
    project: ProjectLayer


def read_layers(root: Path, trust: TrustState | None = None) -> SessionLayers:
    """The user's config file and `root`'s project layer, read now."""
    return SessionLayers(read_toml_file(user_config_path()), read_project_layer(root, trust))
