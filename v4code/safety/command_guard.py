"""Recognises commands that destroy work, so they always need a person's yes.

The command is parsed with tree-sitter-bash, never matched with regexes: quoting, line
continuations, `&&` / `;` / `||` lists, pipelines, subshells, `$(...)`, `bash -c '...'`,
`eval`, and wrappers (`env X=1`, `sudo`, `nice`, `timeout`, `xargs`) are looked through, so
`sudo env A=1 bash -c "git reset --hard"` is seen as `git reset --hard`. A command that cannot
be parsed cannot be checked, which is itself a reason to ask.

`classify()` answers with the first finding (a reason a person can read) or None. It judges
paths against the workspace root (`~`, `/` and `..` included) and follows `cd` within the
command. `dirty` is whether the working tree has uncommitted changes; None (unknown) counts as
dirty, since discarding changes is only harmless when there are none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from v4code.safety.shell_words import (
    command_words,
    node_text,
    parser,
    program_name,
    unwrap,
    walk,
    word_value,
)

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["GuardFinding", "classify"]

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash", "busybox"})
_INTERPRETERS = frozenset({"python", "python3", "perl", "ruby", "node", "php"})
_DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "xh"})
_SOURCERS = frozenset({"eval", "source", "."})
_MAX_DEPTH = 8

_WHOLE_TREE = frozenset({".", "./", ":/", ":/.", "*", "./*", ":(top)"})


@dataclass(frozen=True)
class GuardFinding:
    """Why a command needs a person's approval whatever the permission mode says."""

    reason: str
    command: str = ""  # the part of the command line that was flagged

    def __str__(self) -> str:
        return self.reason


def classify(command: str, root: Path, dirty: bool | None = None) -> GuardFinding | None:
    """The first reason `command` needs approval in every mode, or None when it does not."""
    checker = _Checker(Path(os.path.realpath(root)), dirty)
    try:
        return checker.script(command, 0)
    except _Unparsable as exc:
        return GuardFinding(
            f"the command could not be parsed as a shell command ({exc}), so it cannot be "
            "checked for destructive effects; it needs approval",
            command,
        )


class _Unparsable(Exception):
    pass


def _short_flags(args: list[str]) -> set[str]:
    """Single-letter options, combined ones split (`-rf` gives r and f), up to `--`."""
    found: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            found.update(arg[1:])
    return found


def _long_flags(args: list[str]) -> set[str]:
    found: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--"):
            found.add(arg.split("=", 1)[0])
    return found


def _operands(args: list[str]) -> list[str]:
    out: list[str] = []
    rest = False
    for arg in args:
        if rest or not arg.startswith("-") or arg == "-":
            out.append(arg)
        elif arg == "--":
            rest = True
    return out


def _has_downloader(node: Node) -> bool:
    for sub in walk(node):
        if sub.type == "command":
            name = sub.child_by_field_name("name")
            if name is not None and program_name(word_value(name)) in _DOWNLOADERS:
                return True
    return False


class _Checker:
    def __init__(self, root: Path, dirty: bool | None) -> None:
        self.root = root
        self.dirty = dirty
        self.cwd: Path | None = root

    # --- traversal ------------------------------------------------------------------

    def script(self, text: str, depth: int) -> GuardFinding | None:
        if depth > _MAX_DEPTH:
            raise _Unparsable("shells nested too deeply")
        tree = parser().parse(text.encode("utf-8", "surrogateescape"))
        if tree.root_node.has_error:
            raise _Unparsable("a syntax error")
        for node in walk(tree.root_node):
            finding = None
            if node.type == "pipeline":
                finding = self.pipeline(node)
            elif node.type == "command":
                finding = self.command(node, depth)
            if finding is not None:
                return finding
        return None

    def pipeline(self, node: Node) -> GuardFinding | None:
        stages = [c for c in node.children if c.is_named]
        for i, stage in enumerate(stages[1:], start=1):
            command = stage if stage.type == "command" else None
            if command is None:
                for sub in walk(stage):
                    if sub.type == "command":
                        command = sub
                        break
            if command is None:
                continue
            words = unwrap(command_words(command))
            downloaded = any(_has_downloader(s) for s in stages[:i])
            if words and downloaded and _reads_code_from_stdin(words):
                return GuardFinding(
                    f"it pipes a download straight into `{program_name(words[0])}`, running code "
                    "from the network unseen",
                    node_text(node),
                )
        return None

    def command(self, node: Node, depth: int) -> GuardFinding | None:
        words = unwrap(command_words(node))
        if not words:
            return None
        name = program_name(words[0])
        args = words[1:]
        shown = node_text(node)
        if name in _SHELLS or name in _SOURCERS:
            scope = node.parent if node.parent is not None else node
            if scope.type != "redirected_statement":
                scope = node
            if _has_downloader(scope):
                return GuardFinding(f"`{name}` runs code downloaded from the network unseen", shown)
            inner = _inline_script(name, args)
            if inner is not None:
                return self.script(inner, depth + 1)
            return None
        if name == "cd":
            self.cd(args)
            return None
        check = getattr(self, "check_" + name.replace("-", "_").replace(".", "_"), None)
        if check is not None:
            reason: str | None = check(args)
        elif name.startswith("mkfs") or name in ("mke2fs", "mkswap", "wipefs"):
            reason = f"`{name}` formats a file system, erasing what is on it"
        else:
            reason = None
        return GuardFinding(reason, shown) if reason else None

    def cd(self, args: list[str]) -> None:
        operands = _operands(args)
        target = operands[0] if operands else "~"
        self.cwd = self.resolve(target)

    # --- paths ----------------------------------------------------------------------

    def resolve(self, target: str) -> Path | None:
        """Where `target` points (globs cut at their first wild part); None when unknowable."""
        if (
            target.startswith(("$", "`"))
            or target.startswith("~")
            and not (target == "~" or target.startswith("~/"))
        ):
            return None
        if target == "~" or target.startswith("~/"):
            home = os.environ.get("HOME")
            if not home:
                return None
            target = home + target[1:]
        parts = []
        for part in target.split("/"):
            if any(ch in part for ch in "*?[$`"):
                break
            parts.append(part)
        base = "/".join(parts) if parts else "."
        if target.startswith("/") and not base:
            base = "/"
        if os.path.isabs(base):
            path = Path(os.path.normpath(base))
        elif self.cwd is None:
            return None
        else:
            path = Path(os.path.normpath(self.cwd / base))
        try:
            parent = Path(os.path.realpath(path.parent))
        except OSError:  # `/proc/1/root/...` as root: unknowable, never a crash
            return None
        return parent / path.name if path.name else parent

    def danger(self, target: str) -> str | None:
        """Why removing `target` recursively is destructive, or None when it is contained."""
        path = self.resolve(target)
        if path is None:
            return f"`{target}`, a path that cannot be worked out before the command runs"
        if path == self.root:
            return "the whole workspace"
        if self.root in path.parents:
            return None
        if path in self.root.parents or path == Path("/"):
            return f"`{target}`, which contains the workspace"
        return f"`{target}`, outside the workspace"

    # --- programs -------------------------------------------------------------------

    def check_rm(self, args: list[str]) -> str | None:
        if not ({"r", "R"} & _short_flags(args) or "--recursive" in _long_flags(args)):
            return None
        targets = _operands(args)
        if not targets or "--xargs" in args:
            return "`rm -r` of paths read from input (which paths cannot be known in advance)"
        for target in targets:
            why = self.danger(target)
            if why is not None:
                return f"`rm -r` would delete {why}"
        return None

    def check_find(self, args: list[str]) -> str | None:
        starts: list[str] = []
        for arg in args:
            if arg.startswith(("-", "(", "!")) or arg in ("(", "!"):
                break
            starts.append(arg)
        deletes = "-delete" in args or any(
            a in ("-exec", "-execdir", "-ok", "-okdir")
            and i + 1 < len(args)
            and program_name(args[i + 1]) in ("rm", "shred", "unlink")
            for i, a in enumerate(args)
        )
        if not deletes:
            return None
        narrowed = any(
            a in ("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename")
            for a in args
        )
        for start in starts or ["."]:
            why = self.danger(start)
            if why is None:
                continue
            if why == "the whole workspace" and narrowed:
                continue
            return f"`find ... -delete` would delete files in {why}"
        return None

    def check_dd(self, args: list[str]) -> str | None:
        for arg in args:
            if arg.startswith("of=/dev/") and arg not in ("of=/dev/null", "of=/dev/stdout"):
                return f"`dd {arg}` writes straight onto a device"
        return None

    def _recursive_outside(self, name: str, args: list[str], skip_first: bool) -> str | None:
        if not ("R" in _short_flags(args) or "--recursive" in _long_flags(args)):
            return None
        operands = _operands(args)
        if skip_first and not any(a.startswith("--reference") for a in args):
            operands = operands[1:]
        for target in operands:
            why = self.danger(target)
            if why is not None and why != "the whole workspace":
                return f"`{name} -R` would change {why}"
        return None

    def check_chmod(self, args: list[str]) -> str | None:
        return self._recursive_outside("chmod", args, skip_first=True)

    def check_chown(self, args: list[str]) -> str | None:
        return self._recursive_outside("chown", args, skip_first=True)

    def check_chgrp(self, args: list[str]) -> str | None:
        return self._recursive_outside("chgrp", args, skip_first=True)

    def check_git(self, args: list[str]) -> str | None:
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
        if i >= len(args):
            return None
        sub, rest = args[i], args[i + 1 :]
        short, long = _short_flags(rest), _long_flags(rest)
        discards = (
            "the working tree has uncommitted changes"
            if self.dirty
            else ("the working tree may have uncommitted changes")
        )
        if sub == "reset" and "--hard" in long:
            return "`git reset --hard` throws away uncommitted changes"
        if sub == "clean" and ("f" in short or "--force" in long):
            if "n" in short or "--dry-run" in long:
                return None
            return "`git clean -f` deletes untracked files, which git cannot bring back"
        if sub in ("checkout", "restore") and self.dirty is not False:
            operands = _operands(rest)
            whole = any(op in _WHOLE_TREE for op in operands)
            if sub == "checkout":
                forced = "f" in short or "--force" in long
                if whole or (forced and not operands):
                    return f"`git checkout {' '.join(rest)}` overwrites local edits and {discards}"
            else:
                staged_only = ("S" in short or "--staged" in long) and not (
                    "W" in short or "--worktree" in long
                )
                if whole and not staged_only:
                    return f"`git restore {' '.join(rest)}` overwrites local edits and {discards}"
        if sub == "push":
            if "f" in short or long & {"--force", "--force-with-lease", "--force-if-includes"}:
                return "`git push --force` can overwrite commits on the remote"
            if "--mirror" in long:
                return "`git push --mirror` can overwrite or delete refs on the remote"
            if "d" in short or "--delete" in long:
                return "`git push --delete` deletes a branch on the remote"
            for ref in _operands(rest)[1:]:
                if ref.startswith("+"):
                    return f"`git push {ref}` force-pushes, overwriting commits on the remote"
                if ref.startswith(":"):
                    return f"`git push {ref}` deletes a branch on the remote"
        deleting = "d" in short or "--delete" in long
        forced = "f" in short or "--force" in long
        if sub == "branch" and ("D" in short or (deleting and forced)):
            return "`git branch -D` deletes a branch even if its commits are not merged"
        if sub == "stash" and rest and rest[0] in ("drop", "clear"):
            return f"`git stash {rest[0]}` discards stashed changes for good"
        return None


def _inline_script(name: str, args: list[str]) -> str | None:
    """The script a shell runs from `-c`, or the text `eval` runs."""
    if name == "eval":
        return " ".join(args)
    if name in _SOURCERS:
        return None
    takes_c = False
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            takes_c = True
            continue
        if arg in ("-o", "+o", "-O", "+O"):
            continue
        if arg.startswith(("-", "+")):
            continue
        if i > 0 and args[i - 1] in ("-o", "+o", "-O", "+O"):
            continue
        return arg if takes_c else None
    return None


def _reads_code_from_stdin(words: list[str]) -> bool:
    """A shell or interpreter with no script of its own runs whatever comes on stdin."""
    name = program_name(words[0])
    if name not in _SHELLS and name not in _INTERPRETERS:
        return False
    args = words[1:]
    if name in _SHELLS:
        if "c" in _short_flags(args):
            return False
        if "s" in _short_flags(args):
            return True
    else:
        if any(a in ("-c", "-m", "-e", "-E", "-r") for a in args):
            return False
    operands = [a for a in _operands(args)]
    return not operands or operands[0] == "-"
