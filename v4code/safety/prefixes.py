"""What an "always allow" for a command remembers: the program and the part that says what it
does (`python -m pytest`, `npm run test`, `cargo test`, `uv run pytest`), never less.

`PYTHONPATH=src python -m pytest -x` must not turn into "allow `PYTHONPATH=src python`", which
would approve any Python at all. So the command is parsed (tree-sitter-bash, as the
destructive-command guard does), environment assignments and wrappers that only change how the
program runs (`env`, `timeout 60`, `nice`, `nohup`, ...) are looked through, and the prefix is:

- for an interpreter, the module or script it runs (`python -m pytest`, `node build.js`); code
  given inline (`python -c`, `node -e`, `bash -c`) or on stdin has no prefix worth remembering;
- for a tool with subcommands, the subcommand (`git status`, `cargo test`, `npm run test`);
  a runner (`uv run`, `poetry run`, `npx`) adds the prefix of what it runs;
- otherwise the program alone (`pytest`, `ls`).

`sudo` and `doas` stay in the prefix: approving `make test` never approves `sudo make test`.
None means the command has no meaningful prefix: only a yes for this one command is offered.
So is a command holding a word that can make it run a program or read a configuration nobody
approved (`git -c core.fsmonitor=PROG status`, `make -f other.mk test`, `GIT_PAGER=PROG git
log`): `program_options.py` says which words those are, at every level of wrappers and runners.
"""

from __future__ import annotations

import re

from v4code.safety.program_options import loads_program, names_program
from v4code.safety.shell_words import (
    WRAPPERS,
    command_words,
    parser,
    program_name,
    unwrap,
    walk,
    word_value,
)

_PYTHON = re.compile(r"^(python|pypy)[0-9.]*$")
_PYTHON_VALUE_OPTIONS = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash"})
_INLINE = {
    "node": frozenset({"-e", "--eval", "-p", "--print", "-r", "--require", "--import"}),
    "ruby": frozenset({"-e", "-r"}),
    "perl": frozenset({"-e", "-E", "-M", "-m"}),
    "php": frozenset({"-r", "-B", "-R", "-E", "-F"}),
}
# Tools whose first plain word is a subcommand; values: global options that take an argument.
_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "git": frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"}),
    "npm": frozenset({"--prefix", "-w", "--workspace"}),
    "pnpm": frozenset({"-C", "--dir", "--filter", "-F"}),
    "yarn": frozenset({"--cwd"}),
    "bun": frozenset({"--cwd"}),
    "cargo": frozenset({"-C", "--manifest-path", "--config", "-Z"}),
    "go": frozenset(),
    "uv": frozenset({"--directory", "--project", "--python", "-p"}),
    "poetry": frozenset({"-C", "--directory", "-P", "--project"}),
    "pdm": frozenset({"-p", "--project"}),
    "hatch": frozenset({"-e", "--env"}),
    "pip": frozenset(),
    "pip3": frozenset(),
    "pipx": frozenset(),
    "docker": frozenset({"-H", "--host", "--context", "-c", "--config"}),
    "podman": frozenset(),
    "kubectl": frozenset({"-n", "--namespace", "--context"}),
    "gh": frozenset({"-R", "--repo"}),
    "dotnet": frozenset(),
    "rustup": frozenset(),
    "conda": frozenset(),
    "make": frozenset({"-C", "-f", "--file", "--directory", "-j", "--jobs"}),
    "just": frozenset({"-f", "--justfile", "-d", "--working-directory"}),
    "deno": frozenset(),
    "mvn": frozenset({"-f", "--file", "-P"}),
    "gradle": frozenset(),
    "./gradlew": frozenset(),
    "apt": frozenset(),
    "apt-get": frozenset(),
    "brew": frozenset(),
}
# (tool, subcommand) pairs that name a script or package: it belongs in the prefix.
_NAMED = frozenset(
    {
        ("npm", "run"), ("npm", "run-script"), ("npm", "exec"), ("pnpm", "run"),
        ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "run"), ("yarn", "dlx"), ("bun", "run"),
        ("bun", "x"), ("pipx", "run"), ("hatch", "run"), ("conda", "run"),
    }
)  # fmt: skip
# (tool, subcommand) pairs that run another command: its prefix follows theirs.
_RUNNERS = frozenset({("uv", "run"), ("poetry", "run"), ("pdm", "run"), ("uv", "tool")})
_PACKAGE_RUNNERS = frozenset({"npx", "uvx", "bunx", "pnpx"})
_PRIVILEGED = frozenset({"sudo", "doas"})


def command_prefix(command: str) -> str | None:
    """The prefix an "always allow" of `command` remembers, or None when it has none."""
    parsed = _simple_command(command)
    if parsed is None:
        return None
    words, assigned = parsed
    unwrapped = unwrap(words)
    if not unwrapped or (len(unwrapped) > 1 and unwrapped[1] == "--xargs"):
        return None
    stripped = words[: len(words) - len(unwrapped)]
    assigned += [w.split("=", 1)[0] for w in stripped if "=" in w and not w.startswith("-")]
    if any(loads_program(name) for name in assigned) or _wrapper_names_program(stripped):
        return None
    privileged = any(program_name(w) in _PRIVILEGED for w in stripped)
    prefix = _program_prefix(unwrapped, depth=0)
    if prefix is None:
        return None
    return f"sudo {prefix}" if privileged else prefix


def _simple_command(command: str) -> tuple[list[str], list[str]] | None:
    """The words of a command line that is one simple command, and the names of the
    variables it assigns before it (left out of the words)."""
    tree = parser().parse(command.encode("utf-8", "surrogateescape"))
    if tree.root_node.has_error:
        return None
    commands = [n for n in walk(tree.root_node) if n.type == "command"]
    if len(commands) != 1:
        return None
    assigned = [
        word_value(child).split("=", 1)[0]
        for child in commands[0].children
        if child.type == "variable_assignment"
    ]
    return command_words(commands[0]), assigned


def _wrapper_names_program(stripped: list[str]) -> bool:
    """Whether a wrapper's own options (`env -S`, `sudo -s`) run something of their own."""
    wrapper = ""
    for word in stripped:
        if not word.startswith("-") and program_name(word) in (*WRAPPERS, "timeout"):
            wrapper = program_name(word)
        elif names_program(wrapper, [word]) is not None:
            return True
    return False


def _program_prefix(words: list[str], depth: int) -> str | None:
    if not words or depth > 4:
        return None
    program, args = words[0], words[1:]
    name = program_name(program)
    if _PYTHON.match(name):
        return _python(program, args)
    if name in _SHELLS or name in _INLINE:
        if names_program(name, args) is not None:
            return None
        return _script(program, args, _INLINE.get(name, frozenset({"-c", "-s"})))
    if name in _PACKAGE_RUNNERS:
        package = _first_plain(args, frozenset())
        if package is None or names_program(name, args) is not None:
            return None
        return f"{program} {args[package]}"
    takes = _SUBCOMMANDS.get(name) or _SUBCOMMANDS.get(program)
    if takes is None and name not in _SUBCOMMANDS and program not in _SUBCOMMANDS:
        return None if names_program(name, args) is not None else program
    at = _first_plain(args, takes or frozenset())
    if names_program(name, args, at) is not None:
        return None
    if at is None:
        return program
    sub, rest = args[at], args[at + 1 :]
    if (name, sub) in _RUNNERS:
        inner = _skip_options(rest)
        if not inner:
            return f"{program} {sub}"
        inner_prefix = _program_prefix(inner, depth + 1)
        return None if inner_prefix is None else f"{program} {sub} {inner_prefix}"
    if (name, sub) in _NAMED:
        target = _first_plain(rest, frozenset())
        return f"{program} {sub}" if target is None else f"{program} {sub} {rest[target]}"
    return f"{program} {sub}"


def _python(program: str, args: list[str]) -> str | None:
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-m") and not arg.startswith("--"):
            module = arg[2:] or (args[i + 1] if i + 1 < len(args) else "")
            rest = args[i + 1 :] if arg[2:] else args[i + 2 :]
            if not module or names_program(module, rest) is not None:
                return None  # what the module is told can name another program
            return f"{program} -m {module}"
        if arg in ("-c", "-") or (arg.startswith("-c") and not arg.startswith("--")):
            return None  # inline code or stdin: nothing worth remembering
        if arg in _PYTHON_VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if names_program(program_name(arg), args[i + 1 :]) is not None:
            return None
        return f"{program} {arg}"  # a script
    return None  # an interactive interpreter


def _script(program: str, args: list[str], inline: frozenset[str]) -> str | None:
    for arg in args:
        if arg in inline or arg == "-" or any(arg.startswith(o + "=") for o in inline):
            return None
        if not arg.startswith("-"):
            return f"{program} {arg}"
    return None


def _first_plain(args: list[str], takes: frozenset[str]) -> int | None:
    """The index of the first word that is not an option (nor an option's value)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return i + 1 if i + 1 < len(args) else None
        if arg in takes:
            i += 2
        elif arg.startswith("-") or arg.startswith("+"):
            i += 1
        else:
            return i
    return None


def _skip_options(args: list[str]) -> list[str]:
    at = _first_plain(args, frozenset({"--with", "--python", "-p", "--group", "--extra"}))
    return [] if at is None else args[at:]
