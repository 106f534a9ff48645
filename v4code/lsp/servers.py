"""Which language server runs for which files, and the command line that starts it.

A server is a program that reads (and, with plugins, imports) the project, so where it comes
from is the user's choice alone: the command named in the user's config (`lsp_python`; a
repository's `.v4code/config.toml` can never set an `lsp_` setting), else the default
server found on PATH by `safety.programs.find_program`, which never takes a copy inside a
workspace. The command runs in the sandbox with the workspace read-only (its caches go to
the sandbox's private /tmp and empty home, no network, no secrets in its environment); where
the sandbox cannot start it does not run at all, unless the user turned the sandbox off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from v4code.safety.programs import find_program

if TYPE_CHECKING:
    from v4code.config import Settings

__all__ = [
    "LANGUAGES",
    "Language",
    "configured_commands",
    "language_of",
    "sandbox_obstacle",
    "server_argv",
]


@dataclass(frozen=True)
class Language:
    name: str  # as the user's settings name it (`lsp_python`) and notices say it
    language_id: str  # as the protocol names it
    suffixes: tuple[str, ...]
    default: tuple[str, ...]  # the server found on PATH when the user names none
    label: str  # what notices call the default server
    ids: tuple[tuple[str, str], ...] = ()  # suffixes the protocol names otherwise (`.tsx`)
    settle: float = 0.0  # seconds a file's diagnostics may keep coming in stages

    def id_of(self, path: str | Path) -> str:
        """The protocol's name for the language of `path` (`typescriptreact` for `.tsx`)."""
        suffix = PurePosixPath(str(path)).suffix.lower()
        return dict(self.ids).get(suffix, self.language_id)


LANGUAGES: tuple[Language, ...] = (
    Language(
        "python",
        "python",
        (".py", ".pyi"),
        ("basedpyright-langserver", "--stdio"),
        "basedpyright",
    ),
    Language(
        "typescript",
        "typescript",
        (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"),
        ("typescript-language-server", "--stdio"),
        "typescript-language-server",
        (
            (".tsx", "typescriptreact"),
            (".js", "javascript"),
            (".mjs", "javascript"),
            (".cjs", "javascript"),
            (".jsx", "javascriptreact"),
        ),
        settle=0.5,  # syntax, then suggestions, then types: three publications a change
    ),
    Language("go", "go", (".go",), ("gopls",), "gopls"),
    Language("rust", "rust", (".rs",), ("rust-analyzer",), "rust-analyzer"),
)


def language_of(path: str) -> Language | None:
    suffix = PurePosixPath(path).suffix.lower()
    return next((lang for lang in LANGUAGES if suffix in lang.suffixes), None)


def server_argv(language: Language, configured: tuple[str, ...], root: Path) -> list[str] | None:
    """The server's command line, its program resolved outside every workspace; None when
    there is none (the default is not installed, or the named program lies in a workspace)."""
    argv = list(configured or language.default)
    if not argv:
        return None
    program = find_program(argv[0], root)
    return None if program is None else [program, *argv[1:]]


def configured_commands(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each language's server command as the user's settings name it (`lsp_go`), or ()."""
    return {lang.name: tuple(getattr(settings, f"lsp_{lang.name}", ())) for lang in LANGUAGES}


def sandbox_obstacle(language: Language, program: str) -> str | None:
    """Why `program` cannot run in the sandbox although it is found, or None. rustup's
    proxies (`~/.cargo/bin/rust-analyzer`: a link to, or another name of, the `rustup`
    binary) pick the toolchain from rustup's home, which is empty in the sandbox: the server
    would stop at once and the edit only say "stopped", so it is said before it starts."""
    if not _rustup_proxy(program):
        return None
    name = os.path.basename(program)
    return (
        f"{name} here is rustup's proxy, which cannot run in the sandbox; name the "
        f"toolchain's binary in `lsp_{language.name}` (`rustup which {name}` prints it) and "
        "let the sandbox read the toolchain (`sandbox_allow_read`)"
    )


def _rustup_proxy(program: str) -> bool:
    """A symbolic link resolving to `rustup`, or a hard link of the `rustup` beside it (how
    rustup installs its proxies where it can)."""
    if os.path.basename(program).startswith("rustup"):
        return False
    if os.path.basename(os.path.realpath(program)) in ("rustup", "rustup-init"):
        return True
    try:
        return os.path.samefile(program, os.path.join(os.path.dirname(program), "rustup"))
    except OSError:
        return False
