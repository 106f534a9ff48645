"""Custom slash commands: a prompt file per command, the user's and a trusted project's.

`<v4code home>/commands/NAME.md` and `.v4code/commands/NAME.md` (only once the repository is
trusted; the user's file wins a name both have). The file is a prompt template: `$ARGUMENTS`
is replaced by what follows `/NAME` (without it, the arguments are appended). Optional front
matter between `---` lines sets `description`, `model` and `thinking` (on, off, low, high, max).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.prompt_files import front_matter, markdown_files

if TYPE_CHECKING:
    from v4code.project_layer import ProjectLayer

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
THINKING = ("on", "off", "low", "high", "max")


@dataclass(frozen=True)
class CustomCommand:
    name: str  # without the slash
    template: str
    description: str = ""
    model: str | None = None
    thinking: str | None = None
    source: str = "user"

    def expand(self, arguments: str) -> str:
        arguments = arguments.strip()
        if "$ARGUMENTS" in self.template:
            return self.template.replace("$ARGUMENTS", arguments).strip()
        return f"{self.template.strip()}\n\n{arguments}".strip()

    def thinking_choice(self) -> tuple[bool, str | None] | None:
        """(thinking, effort) as the front matter sets them, None when it does not; the chat
        and `run` read it alike. An effort of None keeps the configured one."""
        if self.thinking is None:
            return None
        effort = self.thinking if self.thinking in ("low", "high", "max") else None
        return self.thinking != "off", effort

    @property
    def help(self) -> str:
        what = self.description or f"custom command ({self.source})"
        return f"{what} [{self.source}]" if self.description else what


def parse_command(name: str, text: str, source: str) -> CustomCommand:
    """A command from its file's text; front matter is `key: value` lines between `---`."""
    meta, body = front_matter(text)
    thinking = meta.get("thinking", "").lower() or None
    if thinking in ("true", "yes"):
        thinking = "on"
    elif thinking in ("false", "no"):
        thinking = "off"
    return CustomCommand(
        name=name,
        template=body.strip() + "\n",
        description=meta.get("description", "")[:200],
        model=meta.get("model") or None,
        thinking=thinking if thinking in THINKING else None,
        source=source,
    )


def _read_folder(folder: Path, source: str) -> dict[str, CustomCommand]:
    return {
        name: parse_command(name, text, source)
        for name, text in markdown_files(folder)
        if NAME_RE.match(name)
    }


def load_custom_commands(
    root: Path, reserved: frozenset[str] = frozenset(), project: ProjectLayer | None = None
) -> dict[str, CustomCommand]:
    """Every custom command by name; names in `reserved` (built-in commands) are skipped.
    `project`: the session's project layer (else `root`'s, read now)."""
    from v4code.home import user_home

    layer = project if project is not None else _layer(root)
    commands: dict[str, CustomCommand] = {}
    folder = layer.commands
    if folder is not None:
        commands.update(_read_folder(folder, "project"))
    commands.update(_read_folder(user_home() / "commands", "user"))
    return {name: c for name, c in sorted(commands.items()) if name not in reserved}


def _layer(root: Path) -> ProjectLayer:
    from v4code.project_layer import read_project_layer

    return read_project_layer(root)


def untrusted_notice(root: Path, name: str, project: ProjectLayer | None = None) -> str | None:
    """Why `/NAME` is not a command when the repository ships `.v4code/commands/NAME.md` but
    is not trusted (or changed since): the user learns what to do instead of "no command".
    `project`: the session's project layer (else `root`'s, read now if the file is there)."""
    path = root / ".v4code" / "commands" / f"{name.lower()}.md"
    if not NAME_RE.match(name.lower()) or not path.is_file():
        return None
    if (project if project is not None else _layer(root)).trusted:
        return None
    return (
        f"/{name.lower()} is this repository's own command (.v4code/commands/{name.lower()}.md), "
        "and v4code does not use a repository's .v4code/ folder until you trust it: "
        "read it, then run `v4code trust` here"
    )
