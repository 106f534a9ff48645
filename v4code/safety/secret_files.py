"""Which workspace files hold secrets: `.env`, private keys, credential stores.

A repository's code is the model's to read; its `.env` and `id_rsa` are not. A file this
module calls secret is read only with a person's yes (even in full-auto), refused in
`v4code run` unless the user allowed it (`--allow-secrets` or the `allow_secrets` setting),
left out of grep, and its content never reaches the session log. The decision is by name
(and for `.npmrc` / `.pypirc`, whether they carry a token), plus the globs the user lists in
the user-only `secret_files` setting. Names are not secrets: listings still show them, so the
model can say a `.env` exists and ask for it.

This module imports nothing from v4code, so the pipeline, the search and the chat's `@path`
attachments share one rule.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["PLACEHOLDER", "SecretFiles", "secret_reason"]

PLACEHOLDER = "[content of a secret file withheld from the session log]"

_EXAMPLE_ENV = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
_SECRET_NAMES = {
    ".netrc": "a .netrc file (login passwords)",
    "_netrc": "a .netrc file (login passwords)",
    ".git-credentials": "a git credential store",
    "credentials": "a credentials file",
    "credentials.json": "a credentials file",
    ".htpasswd": "a password file",
}
_SECRET_SUFFIXES = {
    ".pem": "a PEM key or certificate file",
    ".key": "a private key file",
    ".p12": "a PKCS#12 key store",
    ".pfx": "a PKCS#12 key store",
    ".keystore": "a key store",
    ".jks": "a Java key store",
}
_KEY_TYPES = ("rsa", "dsa", "ecdsa", "ed25519", "ecdsa_sk", "ed25519_sk", "xmss")
# A file named so only matters when it holds a credential: a plain registry setting is not one.
_TOKEN_FILES = {
    ".npmrc": ("_authtoken", "_auth", "_password"),
    ".pypirc": ("password",),
}
_TOKEN_SNIFF = 64 * 1024


def _by_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered == ".env" or (lowered.startswith(".env.") and lowered not in _EXAMPLE_ENV):
        return "an environment file (.env)"
    if lowered in _SECRET_NAMES:
        return _SECRET_NAMES[lowered]
    suffix = os.path.splitext(lowered)[1]
    if suffix in _SECRET_SUFFIXES:
        return _SECRET_SUFFIXES[suffix]
    private = lowered[3:] in _KEY_TYPES or "." not in lowered  # id_rsa, not id_rsa.pub
    if lowered.startswith("id_") and private:
        return "an SSH private key"
    return None


def _has_token(path: Path, markers: tuple[str, ...]) -> bool:
    """Whether the file holds a credential. A link (it may point out of the workspace), a
    pipe (opening one for reading would block), anything not a regular file or unreadable
    now counts as holding one: the worst is assumed rather than read later unasked."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return True
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return True
        text = os.read(fd, _TOKEN_SNIFF).decode("utf-8", "replace").lower()
    except OSError:
        return True
    finally:
        os.close(fd)
    return any(marker in text for marker in markers)


def secret_reason(rel: str, *, root: Path | None = None, globs: Iterable[str] = ()) -> str | None:
    """Why the workspace path `rel` is a secret file, or None. With `root`, the token files
    are looked into; without it they count as secret."""
    posix = PurePosixPath(rel.replace(os.sep, "/"))
    name = posix.name
    if not name:
        return None
    reason = _by_name(name)
    if reason is None and name.lower() in _TOKEN_FILES:
        markers = _TOKEN_FILES[name.lower()]
        if root is None or _has_token(root / rel, markers):
            reason = f"a {name} file with a token"
    if reason is None:
        text = posix.as_posix()
        for pattern in globs:
            pattern = pattern.strip()
            if pattern and (fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(name, pattern)):
                return f"a file matching your secret_files setting ({pattern!r})"
    return reason


class SecretFiles:
    """The rule for one workspace: the built-in names plus the user's `secret_files` globs."""

    def __init__(self, root: Path, globs: Iterable[str] = ()) -> None:
        self.root = Path(os.path.realpath(root))
        self.globs = tuple(g for g in globs if g.strip())
        self._seen: dict[str, str | None] = {}

    @classmethod
    def from_settings(cls, root: Path, settings: object) -> SecretFiles:
        return cls(root, getattr(settings, "secret_files", ()) or ())

    def reason(self, rel: str) -> str | None:
        """Why `rel` (workspace-relative) is secret, or None; answers are remembered."""
        if rel not in self._seen:
            if len(self._seen) > 4096:
                self._seen.clear()
            self._seen[rel] = secret_reason(rel, root=self.root, globs=self.globs)
        return self._seen[rel]

    def check(self, path: str) -> tuple[str, str] | None:
        """(path as named, why) when `path` (as a tool got it) names a secret file, by its
        own name or by what a symbolic link there points to inside the workspace."""
        candidate = Path(path)
        full = candidate if candidate.is_absolute() else self.root / candidate
        named = os.path.normpath(str(full))
        names = [named]
        real = os.path.realpath(full)
        if real != named:
            names.append(real)
        for name in names:
            try:
                rel = Path(name).relative_to(self.root).as_posix()
            except ValueError:
                rel = Path(name).name
            why = self.reason(rel)
            if why is not None:
                return path, why
        return None

    def note(self, found: Iterable[tuple[str, str]]) -> str:
        """One line for the person and the model: which files, and why they are protected."""
        parts = [f"{path} is {why}" for path, why in found]
        return (
            "; ".join(parts)
            + ". Secret files are read only with your approval, and their content is kept "
            "out of the session log"
        )
