"""What the model is told about the project: the system prompt and the AGENTS.md files.

The root AGENTS.md and nested ones (as far as the budget goes) are read once, into the static
system prompt. A nested one that did not fit, or appeared later, comes with the first tool
result that touches a path under its folder (`NestedInstructions`), once per session: the
prompt itself must not change within a session (DeepSeek's prefix cache).
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.assets import load_prompt
from v4code.conversation import Conversation
from v4code.errors import WorkspaceError
from v4code.types import ToolResult
from v4code.workspace import relative_to_root, resolve_in_workspace

if TYPE_CHECKING:
    from v4code.project_layer import ProjectLayer

INSTRUCTION_FILES = ("AGENTS.md",)
MAX_INSTRUCTIONS_CHARS = 40_000


def instruction_files(root: Path) -> list[Path]:
    """AGENTS.md at the root first, then nested ones (tracked or not ignored), shallow first."""
    from v4code.repo.files import list_files

    try:
        listed = list_files(root).files
    except Exception:  # no git and an unreadable tree: the root file alone
        listed = []
    nested = sorted(
        (p for p in listed if p.rsplit("/", 1)[-1] in INSTRUCTION_FILES and "/" in p),
        key=lambda p: (p.count("/"), p),
    )
    return [root / n for n in INSTRUCTION_FILES if (root / n).is_file()] + [
        root / p for p in nested
    ]


def read_instructions(root: Path, rel: str, limit: int) -> str | None:
    """An AGENTS.md's text (stripped, at most `limit` characters), or None unless it is a
    regular file inside the workspace: a cloned repository's AGENTS.md that links to
    ~/.ssh/id_rsa is not instructions, and a pipe would never end."""
    try:
        real = resolve_in_workspace(root, rel, must_exist=True)
        if not real.is_file():
            return None
        with open(real, "rb") as handle:
            data = handle.read(4 * limit)  # at most four bytes a character
    except (OSError, WorkspaceError):
        return None
    return data.decode("utf-8", "replace")[:limit].strip()


def project_instructions(root: Path) -> str:
    """AGENTS.md files as prompt sections; a nested one applies to files below its folder.

    They are read once, when the session starts, into the static system prompt: reading them
    later (when a file there is touched) would change the prompt prefix and lose the cache.
    """
    parts = []
    budget = MAX_INSTRUCTIONS_CHARS
    for path in instruction_files(root):
        rel = path.relative_to(root).as_posix()
        text = read_instructions(root, rel, budget)
        if text is None:
            continue
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        scope = f" — for files under {folder}/" if folder else ""
        parts.append(f"\n# Project instructions ({rel}){scope}\n\n{text}\n")
        budget -= len(text)
        if budget <= 0:
            break
    return "".join(parts)


# A nested AGENTS.md that is not in the system prompt (the budget was spent, or it appeared
# after the session started) cannot be added there: the prompt must not change within a session
# (DeepSeek's prefix cache). Instead, the first time a tool touches a path under its folder, it
# is appended to that tool's result, once per session. The markers below let a resumed (or
# compacted) conversation know which files the model has already been given.
NESTED_HEADER = "[Project instructions from {path}, for the files under {folder}/]"
NESTED_SEEN = re.compile(r"^\[Project instructions from (\S+), for the files under ", re.M)
SYSTEM_SEEN = re.compile(r"^# Project instructions \((\S+)\)", re.M)


def nested_instruction_files(root: Path, rel_paths: list[str]) -> list[str]:
    """Workspace-relative AGENTS.md files of the folders containing `rel_paths` (a folder
    counts as containing itself), below the root, outermost first."""
    found: list[str] = []
    for rel in rel_paths:
        if rel in ("", ".") or rel.startswith(".."):
            continue
        target = root / rel
        folder = rel if target.is_dir() else os.path.dirname(rel)
        parts = [p for p in folder.split("/") if p]
        for depth in range(1, len(parts) + 1):
            candidate = "/".join(parts[:depth]) + "/" + INSTRUCTION_FILES[0]
            if candidate not in found and (root / candidate).is_file():
                found.append(candidate)
    return found


def nested_instructions_text(root: Path, files: list[str]) -> str:
    parts = []
    for rel in files:
        text = read_instructions(root, rel, MAX_INSTRUCTIONS_CHARS)
        if text is None:
            continue
        header = NESTED_HEADER.format(path=rel, folder=os.path.dirname(rel))
        parts.append(f"\n\n{header}\n{text}")
    return "".join(parts)


def build_system_prompt(root: Path, project: ProjectLayer | None = None) -> str:
    """The session's system prompt; a trusted project's `prompts/system.md` from `project`
    (the session's layer), else from `root`'s layer read now."""
    if project is None:
        from v4code.project_layer import read_project_layer

        project = read_project_layer(root)
    is_git = (root / ".git").exists()
    return (
        load_prompt(
            "system",
            project,
            workspace=str(root),
            platform=f"{platform.system()} {platform.release()}",
            git="yes" if is_git else "no",
            instructions=project_instructions(root),
        ).rstrip()
        + "\n"
    )


def instructions_seen(conversation: Conversation) -> set[str]:
    """AGENTS.md files already given to the model: in the system prompt or a tool result."""
    seen = set(SYSTEM_SEEN.findall(conversation.system.content or ""))
    for m in conversation.history:
        if m.role == "tool" and m.content and "[Project instructions from " in m.content:
            seen.update(NESTED_SEEN.findall(m.content))
    return seen


class NestedInstructions:
    """Adds the AGENTS.md of subfolders a call touched to its result, the first time only."""

    def __init__(self, root: Path, conversation: Conversation) -> None:
        self.root = root
        self.conversation = conversation
        self._seen: set[str] | None = None  # read from the conversation when first needed

    def forget(self) -> None:
        """After compaction the history is new: what the model was given is read again."""
        self._seen = None

    def attach(self, paths: Iterable[str], result: ToolResult) -> tuple[ToolResult, list[str]]:
        """The result with the new instructions appended, and the files they came from."""
        rels = []
        for path in paths:
            try:
                rels.append(relative_to_root(self.root, resolve_in_workspace(self.root, path)))
            except (WorkspaceError, OSError):  # the workspace check raises the former
                continue
        if not rels:
            return result, []
        if self._seen is None:
            self._seen = instructions_seen(self.conversation)
        new = [f for f in nested_instruction_files(self.root, rels) if f not in self._seen]
        if not new:
            return result, []
        self._seen.update(new)
        return replace(result, text=result.text + nested_instructions_text(self.root, new)), new
