"""Tab completion for the chat prompt (slash commands, their arguments, `@path`) and the
attachment of mentioned files to the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from v4code.errors import V4codeError
from v4code.textio import code_fence, is_binary, one_line

if TYPE_CHECKING:
    from v4code.config import Settings

MENTION = re.compile(r"(?<![\w/@])@([\w./~+-]+)")
MAX_ATTACH_CHARS = 100_000
_CLOSING_TAG = re.compile(r"</\s*file\b", re.IGNORECASE)
MAX_LISTED = 500
MAX_COMPLETIONS = 50


class FileIndex:
    """The workspace's files (git-aware), listed once and refreshed after each turn."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: list[str] | None = None

    def files(self) -> list[str]:
        if self._files is None:
            from v4code.repo.files import list_files

            try:
                self._files = list_files(self.root).files
            except (OSError, V4codeError):
                self._files = []
        return self._files

    def invalidate(self) -> None:
        self._files = None


def path_candidates(files: list[str], query: str) -> list[str]:
    """Files and folders for `@query`: prefix matches first, then name and substring matches."""
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in files if "/" in p})
    dirs = sorted({d for p in dirs for d in _parents(p)})
    everything = dirs + files
    q = query.lower()
    if not q:
        top = [p for p in everything if p.count("/") - p.endswith("/") == 0]
        return top[:MAX_COMPLETIONS]
    prefix = [p for p in everything if p.lower().startswith(q)]
    seen = set(prefix)
    name = [p for p in files if p not in seen and p.rsplit("/", 1)[-1].lower().startswith(q)]
    seen.update(name)
    inside = [p for p in files if p not in seen and q in p.lower()]
    return (prefix + name + inside)[:MAX_COMPLETIONS]


def _parents(directory: str) -> list[str]:
    parts = directory.rstrip("/").split("/")
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


class ChatCompleter(Completer):
    """`/` at the start completes commands (then their arguments); `@` completes paths."""

    def __init__(
        self,
        commands: dict[str, str],
        choices: Callable[[str], list[str]],
        files: Callable[[], list[str]],
    ) -> None:
        self.commands = commands
        self.choices = choices
        self.files = files

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        before = document.text_before_cursor
        if before.startswith("/") and "\n" not in before:
            name, space, arg = before.partition(" ")
            if not space:
                for command, help_text in self.commands.items():
                    if command.startswith(name):
                        yield Completion(command, -len(name), display_meta=one_line(help_text))
                return
            if " " in arg:
                return
            for choice in self.choices(name):
                if choice.startswith(arg):
                    yield Completion(choice, -len(arg), display=one_line(choice))  # a server's id
            return
        word = document.get_word_before_cursor(WORD=True)
        if word.startswith("@"):
            for path in path_candidates(self.files(), word[1:]):
                yield Completion("@" + path, -len(word), display=one_line(path))


def attach_mentions(
    text: str,
    root: Path,
    *,
    settings: Settings | None = None,
    confirm: Callable[[str, str], bool] | None = None,
    secret_blocks: list[str] | None = None,
    unfound: list[str] | None = None,
) -> tuple[str, list[str]]:
    """The message with each mentioned workspace file (or folder listing) attached, and
    the paths attached. Mentions of anything outside the workspace are left as text.

    A secret file (.env, a private key: safety/secret_files.py) is attached only when
    `confirm(path, why)` says yes (or the user's `allow_secrets` setting is on), as a read
    by the model would be asked about; otherwise the message says it was left out. The
    blocks of secret files that were attached are added to `secret_blocks`, for the caller
    to keep out of the session log. A mention that names no file here (`@dataclass`, a
    typo, a path outside the workspace) stays text and is added to `unfound`."""
    from v4code.safety.secret_files import SecretFiles
    from v4code.workspace import relative_to_root, resolve_in_workspace

    secrets = SecretFiles(root, settings.secret_files if settings is not None else ())
    allow_all = settings is not None and settings.allow_secrets

    parts = [text]
    attached: list[str] = []
    for match in MENTION.finditer(text):
        asked = match.group(1).rstrip(".,;:!?)")
        try:
            path = resolve_in_workspace(root, asked, must_exist=True)
        except (V4codeError, OSError):
            if unfound is not None and asked not in unfound:
                unfound.append(asked)
            continue
        rel = relative_to_root(root, path)
        if rel in attached or rel == ".":
            continue
        found = secrets.check(asked) or secrets.check(rel)
        if found is not None and path.is_file() and not allow_all:
            allowed = confirm is not None and confirm(rel, found[1])
            if not allowed:
                parts.append(
                    f'\n\n<file path="{_attribute(rel)}">(a secret file: not attached)</file>'
                )
                continue
        block = _attachment(root, path, rel)
        if block:
            attached.append(rel)
            parts.append(block)
            if found is not None and secret_blocks is not None:
                secret_blocks.append(block.strip())
    return "".join(parts), attached


def meant_as_paths(unfound: Iterable[str], files: Collection[str]) -> list[str]:
    """The `@` words that named no file but look like a path, so the person hears that
    nothing was attached: a word with a `/` (`@src/nothere.py`, `@../x`), or one ending in a
    suffix some file here has (`@nothere.py` where there are `.py` files). `@dataclass`,
    `@property` or `@app.route` (no file here ends in `.route`) are words, said nothing of."""
    suffixes = {PurePosixPath(f).suffix.lower() for f in files} - {""}
    return [w for w in unfound if "/" in w or PurePosixPath(w).suffix.lower() in suffixes]


def _attachment(root: Path, path: Path, rel: str) -> str:
    if path.is_dir():
        from v4code.repo.files import list_files

        try:
            files = list_files(root, path).files
        except (OSError, V4codeError):
            return ""
        listed = "\n".join(map(one_line, files[:MAX_LISTED]))  # a name cannot add a line
        more = f"\n… {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
        return f'\n\n<directory path="{_attribute(rel)}">\n{listed}{more}\n</directory>'
    if not path.is_file():
        return ""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if is_binary(data):
        return f'\n\n<file path="{_attribute(rel)}">(binary file, {len(data):,} bytes)</file>'
    body = data[:MAX_ATTACH_CHARS].decode("utf-8", "replace")
    if len(data) > MAX_ATTACH_CHARS:
        body += f"\n… cut at {MAX_ATTACH_CHARS:,} of {len(data):,} bytes; read_file has the rest"
    return file_block("path", rel, body)


def file_block(attribute: str, name: str, body: str) -> str:
    """A file's text as a `<file>` block of the person's message (an `@` mention, a file an
    editor attached): its name on one line, quotes escaped, and a body holding `</file>`
    fenced, so neither can end the block and speak as the person."""
    body = body.rstrip("\n")
    if _CLOSING_TAG.search(body):
        fence = code_fence(body)
        body = f"{fence}\n{body}\n{fence}"
    return f'\n\n<file {attribute}="{_attribute(name)}">\n{body}\n</file>'


def _attribute(rel: str) -> str:
    """A path as the value of the tag's attribute: on one line, its quotes escaped, so a file
    name cannot end the tag or start a line of the user's message."""
    return one_line(rel).replace("&", "&amp;").replace('"', "&quot;")
