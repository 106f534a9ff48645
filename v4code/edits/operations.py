"""What the edit tools compute: ChangeSets, built in memory from the files as they are now.

Nothing here writes. Each function reads the current files (as the editor has them when one
shares its view, `files`: the text the person sees, unsaved changes included), applies the
model's request to their text, and returns a ChangeSet for the agent to show, approve and apply (`apply.py`), or
raises ToolError with a message the model can act on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from v4code.edits.changeset import ChangeSet, FileChange
from v4code.edits.indent import default_style
from v4code.edits.match import MatchError, MatchResult, find_match
from v4code.edits.textfile import TextDoc, decode, new_doc
from v4code.errors import ToolError
from v4code.tool_context import EditorFiles
from v4code.workspace import relative_to_root, resolve_for_edit

MAX_REPORTED_FAILURES = 5


@dataclass(frozen=True)
class Edit:
    """One replacement the model asked for."""

    path: str
    old_string: str
    new_string: str
    replace_all: bool = False


@dataclass
class _File:
    rel: str
    before: bytes | None
    mode: int | None
    doc: TextDoc
    text: str | None  # None: the file does not exist (yet)
    results: list[MatchResult] = field(default_factory=list)
    created: bool = False


def _stat_file(
    path: Path, rel: str, files: EditorFiles | None = None
) -> tuple[bytes | None, int | None]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, None
    if stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{rel} is a directory, not a file.")
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"{rel} is not a regular file.")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise ToolError(f"{rel} cannot be read (permission denied).") from None
    shown = files.read(path, data) if files is not None else None
    return (data if shown is None else shown), stat.S_IMODE(st.st_mode)


def _resolve(root: Path, path: str) -> Path:
    """Every path an edit tool writes or removes: inside the workspace and not protected."""
    from v4code.config import user_home

    return resolve_for_edit(root, path, homes=(user_home(),))


def _load(root: Path, path: str, files: EditorFiles | None = None) -> _File:
    real = _resolve(root, path)
    rel = relative_to_root(root, real)
    data, mode = _stat_file(real, rel, files)
    if data is None:
        return _File(rel, None, None, new_doc(), None)
    doc = decode(data, rel)
    return _File(rel, data, mode, doc, doc.text)


def edit_text(doc: TextDoc, text: str, edit: Edit, label: str) -> MatchResult:
    """One edit on a document's text, the model's strings put in the file's conventions."""
    old = doc.normalise_input(edit.old_string)
    new = doc.normalise_input(edit.new_string)
    return find_match(
        text,
        old,
        new,
        replace_all=edit.replace_all,
        label=label,
        fallback_style=default_style(label),
        parses=parser_for(label),
    )


def _python_parses(text: str) -> bool:
    import ast
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
        try:
            compile(text, "<edit>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


def parser_for(path: str) -> Callable[[str], bool] | None:
    """A syntax check for the file's language, where one is at hand (Python)."""
    return _python_parses if path.endswith((".py", ".pyi")) else None


def apply_to_bytes(data: bytes, edits: Sequence[Edit], label: str = "the file") -> bytes:
    """Apply edits to one file's bytes in memory (what the tools do, without the filesystem)."""
    doc = decode(data, label)
    text = doc.text
    for edit in edits:
        text = edit_text(doc, text, edit, label).text
    return doc.encode(text, label)


def _apply_one(state: _File, edit: Edit) -> None:
    new = state.doc.normalise_input(edit.new_string)
    if state.text is None:
        if edit.old_string:
            raise ToolError(
                f"{state.rel} does not exist. To create it, use write_file (or edit_file with "
                "an empty old_string)."
            )
        state.text = new
        state.created = True
        state.results.append(MatchResult(new, 1, "create", ((1, new.count("\n") + 1),)))
        return
    if edit.old_string == "":
        if state.text.strip():
            raise ToolError(
                f"old_string is empty, but {state.rel} already has content. Give the exact text "
                "to replace (with a few lines around the place to insert at), or use write_file "
                "to replace the whole file."
            )
        if edit.new_string == state.text:
            raise MatchError("old_string and new_string are identical.", "invalid")
        state.results.append(MatchResult(new, 1, "create", ((1, new.count("\n") + 1),)))
        state.text = new
        return
    result = edit_text(state.doc, state.text, edit, state.rel)
    state.results.append(result)
    state.text = result.text


def prepare_edits(
    root: Path, edits: Sequence[Edit], tool: str, files: EditorFiles | None = None
) -> ChangeSet:
    """Validate every edit in memory, in order (several per file apply in sequence)."""
    if not edits:
        raise ToolError("No edits given.")
    states: dict[str, _File] = {}
    failures: list[str] = []
    many = len(edits) > 1
    for number, edit in enumerate(edits, 1):
        try:
            rel = relative_to_root(root, _resolve(root, edit.path))
            state = states.get(rel) or _load(root, edit.path, files)
            states[rel] = state
            _apply_one(state, edit)
        except ToolError as exc:
            where = f"Edit {number} of {len(edits)} ({edit.path})" if many else f"{edit.path}"
            failures.append(f"{where}: {exc}")
    if failures:
        shown = failures[:MAX_REPORTED_FAILURES]
        if len(failures) > len(shown):
            shown.append(f"... and {len(failures) - len(shown)} more failed edits.")
        tail = (
            "No file was changed: apply_edits applies all of its edits or none. Fix the failed "
            "edits and send the whole batch again."
            if many
            else "The file was not changed."
        )
        raise ToolError("\n\n".join([*shown, tail]))
    return _changeset(states.values(), tool)


def _changeset(states: Iterable[_File], tool: str) -> ChangeSet:
    changes: list[FileChange] = []
    parts: list[str] = []
    for state in states:
        assert state.text is not None
        after = state.doc.encode(state.text, state.rel)
        if after == state.before:
            continue
        changes.append(FileChange(state.rel, state.before, after, state.mode, state.mode))
        parts.append(_describe(state))
    if not changes:
        raise ToolError("The edits leave every file exactly as it is; nothing to do.")
    return ChangeSet(tuple(changes), " ".join(parts), tool=tool)


def _describe(state: _File) -> str:
    if state.created:
        return f"Created {state.rel} ({_lines(_count_lines(state.text or ''))})."
    total = sum(r.count for r in state.results)
    where = ", ".join(_span_text(s) for r in state.results for s in r.spans)
    notes = sorted({r.note for r in state.results if r.note})
    text = f"Edited {state.rel} ({total} replacement{'s' if total != 1 else ''}, {where}"
    if notes:
        text += "; " + "; ".join(notes)
    return text + ")."


def _span_text(span: tuple[int, int]) -> str:
    first, count = span
    if count == 0:
        return f"removed at line {first}"
    if count == 1:
        return f"line {first}"
    return f"lines {first}-{first + count - 1}"


def _lines(n: int) -> str:
    return f"{n} line{'' if n == 1 else 's'}"


def _count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


# ---------------------------------------------------------------------------------------------
# whole files


def prepare_write(
    root: Path,
    path: str,
    content: str,
    tool: str = "write_file",
    files: EditorFiles | None = None,
) -> ChangeSet:
    """Create a file, or replace an existing file's whole content (keeping its conventions)."""
    state = _load(root, path, files)
    if state.before is None:
        after = content.encode("utf-8")
        summary = f"Created {state.rel} ({_lines(_count_lines(content))})."
        change = FileChange(state.rel, None, after, None, None)
        return ChangeSet((change,), summary, tool=tool)
    assert state.text is not None
    text = state.doc.normalise_input(content)
    if state.text and text:  # keep the final-newline state of the existing file
        if state.text.endswith("\n") and not text.endswith("\n"):
            text += "\n"
        elif not state.text.endswith("\n") and text.endswith("\n"):
            text = text[:-1]
    after = state.doc.encode(text, state.rel)
    if after == state.before:
        raise ToolError(f"{state.rel} already has exactly this content; nothing to do.")
    summary = (
        f"Rewrote {state.rel} ({_lines(_count_lines(text))}; it had {_count_lines(state.text)})."
    )
    change = FileChange(state.rel, state.before, after, state.mode, state.mode)
    return ChangeSet((change,), summary, tool=tool)


def _existing_regular(
    root: Path, path: str, verb: str, files: EditorFiles | None
) -> tuple[str, bytes, int]:
    lexical = Path(path).expanduser()
    lexical = lexical if lexical.is_absolute() else Path(root) / lexical
    if lexical.is_symlink():
        raise ToolError(f"{path} is a symbolic link; v4code {verb} regular files only.")
    real = _resolve(root, path)
    rel = relative_to_root(root, real)
    data, mode = _stat_file(real, rel, files)
    if data is None or mode is None:
        raise ToolError(f"{rel} does not exist.")
    return rel, data, mode


def prepare_move(
    root: Path, src: str, dst: str, tool: str = "move_file", files: EditorFiles | None = None
) -> ChangeSet:
    """A move is a deletion plus a creation with the same bytes and mode."""
    rel_src, data, mode = _existing_regular(root, src, "moves", files)
    real_dst = _resolve(root, dst)
    rel_dst = relative_to_root(root, real_dst)
    if rel_dst == rel_src:
        raise ToolError(f"{src} and {dst} are the same file.")
    if os.path.lexists(real_dst):
        raise ToolError(
            f"{rel_dst} already exists; v4code does not overwrite a file by moving another onto "
            "it. Delete it first or choose another destination."
        )
    for parent in real_dst.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ToolError(f"{relative_to_root(root, parent)} is a file, not a directory.")
            break
    changes = (
        FileChange(rel_src, data, None, mode, None),
        FileChange(rel_dst, None, data, None, mode),
    )
    return ChangeSet(changes, f"Moved {rel_src} to {rel_dst}.", tool=tool)


def prepare_delete(
    root: Path, path: str, tool: str = "delete_file", files: EditorFiles | None = None
) -> ChangeSet:
    rel, data, mode = _existing_regular(root, path, "deletes", files)
    size = _lines(_count_lines(data.decode("latin-1"))) if data else "empty"
    change = FileChange(rel, data, None, mode, None)
    return ChangeSet((change,), f"Deleted {rel} ({size}).", tool=tool)
