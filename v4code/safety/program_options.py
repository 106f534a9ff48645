"""Words that make a command run a program or read a configuration nobody approved.

"Always allow `git status`" means git's status, not `git -c core.fsmonitor=PROG status`, which
runs PROG. Many tools take such words: an option naming a program (`go test -exec=`,
`rg --pre`, `tar --to-command`), a configuration file or setting that can name one
(`make -f`, `cargo --config`, `ssh -o ProxyCommand=`), a package to fetch and run
(`npx --package=`, `uvx --from=`), a variable override a recipe runs (`make SHELL=...`), or a
subcommand whose job is to run or configure programs (`git config`, `git bisect run`). A
remembered prefix never covers a command holding one: it is asked every time.

Two parts decide: a table per program of such options and subcommands (the short options and
names no general rule can guess), and a general rule for every program: an option whose name
says it takes a program, a command, a configuration or a plugin (`--exec`, `--config-file`,
`--script-shell`, `--plugin`, `--pager`, ...). A false alarm costs one question; a miss runs a
program the person never saw.

sed and awk take their script as an argument, and a script can run a program: sed's `e`
command and `s///e` flag, awk's `system()`, its pipes and gawk's `@load`; or write any file
(sed's `w`, awk's `print >`), `~/.bashrc` included when the command runs outside the sandbox. "Always allow `sed`"
(how a model reads a few lines) therefore never covers a script that does, nor a script file
the approval never showed (`-f`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["loads_program", "names_program"]


@dataclass(frozen=True)
class _Rule:
    """What in one program's words can name a program or a configuration."""

    anywhere: frozenset[str] = frozenset()  # options, wherever they stand
    before: frozenset[str] = frozenset()  # global options, only before the subcommand
    after: dict[str, frozenset[str]] = field(default_factory=dict)  # per subcommand
    subcommands: frozenset[str] = frozenset()  # subcommands that run or set programs
    assignments: bool = False  # `NAME=value` arguments override what recipes run


def _f(*words: str) -> frozenset[str]:
    return frozenset(words)


_CONFIG_SUBCOMMAND = _f("config")
# Rules several names share (a program and its other name or wrapper).
_UV = _Rule(
    anywhere=_f(
        "--from", "--with", "--with-editable", "--with-requirements", "-p", "--python",
        "--index", "--index-url", "--extra-index-url", "-f", "--find-links",
    )
)  # fmt: skip
_MAKE = _Rule(
    anywhere=_f(
        "-f", "--file", "--makefile", "-C", "--directory", "-I", "--include-dir", "-E", "--eval"
    ),
    assignments=True,
)  # fmt: skip
_GRADLE = _Rule(
    anywhere=_f(
        "-I", "--init-script", "-c", "-b", "--build-file", "-D", "-P", "-g",
        "--gradle-user-home", "-p", "--project-dir",
    )
)  # fmt: skip
_VI = _Rule(anywhere=_f("-c", "--cmd", "-S", "-u", "-s"))
_TABLE: dict[str, _Rule] = {
    "git": _Rule(
        before=_f("-c", "-C", "--git-dir", "--work-tree", "-p", "--paginate"),
        after={
            "clone": _f("-c", "-u", "--template"),
            "init": _f("--template"),
            "fetch": _f("--upload-pack"),
            "pull": _f("--upload-pack"),
            "ls-remote": _f("--upload-pack"),
            "push": _f("--receive-pack", "--exec"),
            "archive": _f("--exec", "--remote"),
            "rebase": _f("-x"),
            "difftool": _f("-x", "-t", "--tool", "--extcmd"),
            "mergetool": _f("-t", "--tool"),
            "grep": _f("-O", "--open-files-in-pager"),
            "log": _f("--ext-diff", "--textconv", "--output"),
            "diff": _f("--ext-diff", "--textconv", "--output"),
            "show": _f("--ext-diff", "--textconv", "--output"),
            "format-patch": _f("-o", "--output-directory"),
            "submodule": _f("foreach"),
            "bisect": _f("run"),
        },
        subcommands=_f("config", "filter-branch", "filter-repo", "daemon", "instaweb", "var"),
    ),
    "go": _Rule(anywhere=_f("-overlay", "-modfile", "-vettool"), subcommands=_f("env")),
    "cargo": _Rule(anywhere=_f("-Z", "--manifest-path"), before=_f("-C")),
    "rustc": _Rule(anywhere=_f("-C", "--codegen", "-Z")),
    "npm": _Rule(anywhere=_f("-c", "--call", "-p", "--package"), subcommands=_CONFIG_SUBCOMMAND),
    "pnpm": _Rule(anywhere=_f("-c", "--package"), subcommands=_CONFIG_SUBCOMMAND),
    "yarn": _Rule(anywhere=_f("-p", "--package"), subcommands=_CONFIG_SUBCOMMAND),
    "bun": _Rule(anywhere=_f("-p", "--package", "-r", "--preload")),
    "npx": _Rule(anywhere=_f("-p", "--package", "-c", "--call")),
    "pnpx": _Rule(anywhere=_f("-p", "--package", "-c")),
    "bunx": _Rule(anywhere=_f("-p", "--package")),
    "uvx": _UV,
    "uv": _UV,
    "pip": _Rule(subcommands=_CONFIG_SUBCOMMAND),
    "pip3": _Rule(subcommands=_CONFIG_SUBCOMMAND),
    "poetry": _Rule(subcommands=_CONFIG_SUBCOMMAND),
    "make": _MAKE,
    "gmake": _MAKE,
    "just": _Rule(
        anywhere=_f(
            "-f",
            "--justfile",
            "-d",
            "--working-directory",
            "--set",
            "--dotenv-path",
            "--dotenv-filename",
        ),
        assignments=True,
    ),  # fmt: skip
    "mvn": _Rule(
        anywhere=_f(
            "-f",
            "--file",
            "-s",
            "--settings",
            "-gs",
            "--global-settings",
            "-t",
            "--toolchains",
            "-D",
            "--define",
        )
    ),  # fmt: skip
    "gradle": _GRADLE,
    "./gradlew": _GRADLE,
    "pytest": _Rule(anywhere=_f("-p", "-c", "-o", "--override-ini", "--rootdir", "--confcutdir")),
    "py.test": _Rule(anywhere=_f("-p", "-c", "-o", "--override-ini", "--rootdir")),
    "tox": _Rule(anywhere=_f("-c", "--conf", "-x", "--override")),
    "nox": _Rule(anywhere=_f("-f", "--noxfile")),
    "rake": _Rule(
        anywhere=_f(
            "-f",
            "--rakefile",
            "-r",
            "--require",
            "-I",
            "--libdir",
            "-R",
            "--rakelibdir",
            "-E",
            "-e",
            "-p",
        )
    ),  # fmt: skip
    "bundle": _Rule(subcommands=_CONFIG_SUBCOMMAND),
    "find": _Rule(anywhere=_f("-ok", "-okdir", "-fprint", "-fprintf", "-fls")),
    "rg": _Rule(anywhere=_f("--pre", "--pre-glob")),
    "tar": _Rule(anywhere=_f("-I", "-F", "--checkpoint-action", "--rsh-command", "--rmt-command")),
    "rsync": _Rule(anywhere=_f("-e", "--rsh", "--rsync-path")),
    "ssh": _Rule(anywhere=_f("-o", "-F", "-J", "-S")),
    "scp": _Rule(anywhere=_f("-o", "-F", "-J", "-S")),
    "sftp": _Rule(anywhere=_f("-o", "-F", "-J", "-S", "-D")),
    "env": _Rule(anywhere=_f("-S", "--split-string", "-C", "--chdir")),
    "sudo": _Rule(anywhere=_f("-s", "-i", "-e", "--edit", "--login", "-E", "-D", "--chdir")),
    "doas": _Rule(anywhere=_f("-s")),
    "docker": _Rule(before=_f("-H", "--host", "-c", "--context")),
    "kubectl": _Rule(anywhere=_f("--kubeconfig"), subcommands=_CONFIG_SUBCOMMAND),
    "gh": _Rule(subcommands=_f("config", "alias", "extension")),
    "curl": _Rule(anywhere=_f("-K")),
    "zip": _Rule(anywhere=_f("-TT")),  # the command that tests the archive
    "man": _Rule(anywhere=_f("-P", "-H", "--html", "-p")),  # a pager, a browser, preprocessors
    "vim": _Rule(anywhere=_f("-c", "--cmd", "-S", "-u", "-U", "-s")),
    "nvim": _VI,
    "vi": _VI,
    "view": _VI,
    "ex": _VI,
    "less": _Rule(anywhere=_f("-k", "--lesskey-file", "--lesskey-src")),
    "wget": _Rule(anywhere=_f("-e", "--execute")),
}

# The general rule: a long option (or a find/go style single-dash word) whose name says it
# takes a program, a command, a configuration, a plugin or code to load.
_GENERAL = re.compile(
    r"exec|config|command|cmd|shell|program|plugin|hook|pager|editor|wrapper|rcfile|"
    r"init-file|loader|require|preload|interpreter|askpass|upload-pack|receive-pack|"
    r"template|rsh|env-file|dotenv|toolchain|settings|init-script|^pre$"
)
# Programs whose arguments are a command they run: approving the program approves any command.
_RUNS_ITS_ARGUMENTS = _f(
    "watch", "parallel", "flock", "strace", "ltrace", "valgrind", "gdb", "lldb", "chroot",
    "unshare", "nsenter", "runuser", "su", "script", "eatmydata", "firejail", "systemd-run",
    "taskset", "chrt", "numactl", "fakeroot", "proot", "busybox", "entr", "hyperfine", "sem",
    "at", "batch", "tsp", "dbus-run-session", "xvfb-run", "torsocks", "proxychains",
    "proxychains4", "ssh-agent", "sg", "pkexec", "nix-shell", "direnv", "catchsegv", "perf",
    "expect", "rlwrap", "winpty", "caffeinate", "faketime", "tini", "dumb-init", "su-exec",
    "gosu", "setpriv", "capsh", "prlimit", "cgexec", "trickle",
)  # fmt: skip
# Environment variables that name a program, a configuration or code to load, for any program.
_VARIABLES = _f(
    "BASH_ENV", "ENV", "PATH", "PYTHONSTARTUP", "PYTHONHOME", "NODE_OPTIONS", "PERL5OPT",
    "RUBYOPT", "CC", "CXX", "CPP", "LD", "AR", "AS", "RUSTC", "RUSTDOC", "GOROOT", "GOENV",
    "GOTOOLCHAIN", "MAKE", "MAKEFILES", "BROWSER", "VISUAL", "JAVA_TOOL_OPTIONS",
    "HOME",  # every program's dotfiles: ~/.gitconfig, ~/.npmrc, ...
    "LESSOPEN", "LESSCLOSE",  # less runs them on every file
    "GCONV_PATH",  # glibc loads character-set modules from there
    "ZIPOPT", "UNZIP", "MANOPT", "MANPL",
)  # fmt: skip
_VARIABLE_PREFIXES = (
    "LD_", "DYLD_", "GIT_", "NPM_CONFIG_", "CARGO_", "PIP_", "UV_", "BUNDLE_", "XDG_",
    "BASH_FUNC_",
)  # fmt: skip
_VARIABLE_WORDS = re.compile(
    r"CONFIG|COMMAND|CMD|PROGRAM|EDITOR|PAGER|SHELL|WRAPPER|EXEC|HOOK|PLUGIN|ASKPASS|"
    r"PRELOAD|FLAGS|OPTS|OPTIONS|RCFILE|LOADER"
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*\+?[:?]?=")


def _matches(arg: str, options: frozenset[str]) -> bool:
    """`arg` is one of `options`, with its value attached (`--opt=v`, `-ov`) or not."""
    if not arg.startswith("-") or not options:
        return False
    if arg.split("=", 1)[0] in options:
        return True
    return not arg.startswith("--") and len(arg) > 2 and arg[:2] in options


def _general(arg: str) -> bool:
    if not arg.startswith("-") or len(arg) < 3:
        return False
    name = arg.lstrip("-").split("=", 1)[0].lower()
    return len(name) >= 3 and _GENERAL.search(name) is not None


_SED = _f("sed", "gsed")
_AWK = _f("awk", "gawk", "mawk", "nawk")
_SED_SKIPPED = frozenset(" \t\n;{}!,$+~0123456789")
_SED_VALUE = frozenset("l")  # short options that take a value (`-l 70`)
_AWK_VALUE = frozenset("vF")
_AWK_SCRIPT_RUNS = re.compile(r"system|\||@|>")  # `print > FILE` writes where it says


def _delimited(text: str, i: int, delim: str) -> int:
    """The index after the `delim` that closes a part starting at `i` (backslash escapes)."""
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == delim:
            return i + 1
        else:
            i += 1
    return len(text)


def _to(text: str, i: int, stops: str) -> int:
    while i < len(text) and text[i] not in stops:
        i += 1
    return i


def _sed_runs(script: str) -> bool:
    """Whether a sed script holds an `e` command or an `s` command with the `e` flag, or
    writes a file it names (`w`, `W`, the `w` flag): outside the sandbox, `~/.bashrc`."""
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if c == "e":
            return True
        if c in "sy" and i + 1 < n:
            end = _delimited(script, _delimited(script, i + 2, script[i + 1]), script[i + 1])
            flags = end
            while flags < n and script[flags] not in _SED_SKIPPED - set("0123456789"):
                if script[flags] in "ewW" and c == "s":  # runs it, or writes a file it names
                    return True
                flags += 1
            i = flags
        elif c == "/":
            i = _delimited(script, i + 1, "/")
        elif c == "\\" and i + 1 < n:
            i = _delimited(script, i + 2, script[i + 1])
        elif c in "wW":  # writes the file it names, wherever that is
            return True
        elif c in "#aicrR":  # text, a comment or a file name up to the end of the line
            i = _to(script, i + 1, "\n")
        elif c in "btT:":
            i = _to(script, i + 1, ";\n")
        else:
            i += 1
    return False


def _scripts(
    args: list[str],
    script_opts: tuple[str, str],
    file_opts: frozenset[str],
    takes_value: frozenset[str],
) -> tuple[list[str], str | None]:
    """(the scripts given inline, a word naming a script file or None) for sed/awk words;
    `script_opts` the short and long option of an inline script."""  # fmt: skip
    short, long = script_opts
    scripts: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if arg.startswith("--"):
            if name in file_opts:
                return scripts, arg
            if name == long:
                scripts.append(value if eq else (args[i + 1] if i + 1 < len(args) else ""))
                i += 0 if eq else 1
            i += 1
            continue
        for k, letter in enumerate(arg[1:], 1):
            rest = arg[k + 1 :]
            if f"-{letter}" in file_opts:
                return scripts, arg
            if letter == short or letter in takes_value:
                value = rest or (args[i + 1] if i + 1 < len(args) else "")
                i += 0 if rest else 1
                if letter == short:
                    scripts.append(value)
                break
        i += 1
    if not scripts and i < len(args):
        scripts.append(args[i + 1] if args[i] == "--" and i + 1 < len(args) else args[i])
    return scripts, None


def _script_runs(program: str, args: list[str]) -> str | None:
    """The word of a sed or awk command whose script can run a program, or None."""
    if program in _SED:
        if "--sandbox" in args:  # GNU sed refuses e, r and w then
            return None
        files = _f("-f", "--file")
        scripts, named = _scripts(args, ("e", "--expression"), files, _SED_VALUE)
        runs = _sed_runs
    else:
        files = _f("-f", "--file", "-E", "--exec", "-i", "--include", "-l", "--load")
        scripts, named = _scripts(args, ("e", "--source"), files, _AWK_VALUE)

        def runs(script: str) -> bool:
            return _AWK_SCRIPT_RUNS.search(script) is not None

    return named or next((s for s in scripts if runs(s)), None)


def names_program(program: str, args: list[str], subcommand: int | None = None) -> str | None:
    """The first word of `program args` that can name a program or a configuration, or None.

    `program` is the command's name (a path's last part); `subcommand` is the index in `args`
    of the subcommand, for tools that have one (global options stand before it).
    """
    if program in _RUNS_ITS_ARGUMENTS:
        return program
    if program in _SED | _AWK and (script := _script_runs(program, args)) is not None:
        return script
    rule = _TABLE.get(program, _Rule())
    sub = args[subcommand] if subcommand is not None and subcommand < len(args) else None
    if sub is not None and sub in rule.subcommands:
        return sub
    local = rule.after.get(sub, frozenset()) if sub is not None else frozenset()
    for i, arg in enumerate(args):
        if _general(arg) or _matches(arg, rule.anywhere):
            return arg
        in_front = subcommand is None or i < subcommand
        if in_front and _matches(arg, rule.before):
            return arg
        if not in_front and i > (subcommand or 0) and (arg in local or _matches(arg, local)):
            return arg
        if rule.assignments and _ASSIGNMENT.match(arg):
            return arg
    return None


def loads_program(variable: str) -> bool:
    """Whether setting `variable` in a command's environment can make it run another program
    or read another configuration (`GIT_CONFIG_*`, `LD_PRELOAD`, `GOFLAGS`, `PAGER`, ...)."""
    upper = variable.upper()
    return (
        upper in _VARIABLES
        or upper.startswith(_VARIABLE_PREFIXES)
        or _VARIABLE_WORDS.search(upper) is not None
    )
