"""Which workspace files hold secrets: `.env`, private keys, credential stores.

A repository's code is the model's to read; its `.env` and `id_rsa` are not. A file this
module calls secret is read only with a person's yes (even in full-auto), refused in
`v4code run` unless the user allowed it (`--allow-secrets` or the `allow_secrets` setting),
left out of grep, the repo map and a review, and its content never reaches the session log.
The decision is by name (`.env`, `prod.env`, `.env-production`, `.envrc`, `*.pem`, `id_rsa`,
`.pgpass`, `terraform.tfstate`, `credentials.toml`, `secrets.yaml`, ...), by content (a private-key header, PEM, OpenSSH, PGP or
PuTTY, or a cloud credential such as a service-account key, anywhere in the file: a key
named `deploy_key` or `service-account.json` is still one), by whether `.npmrc` / `.pypirc`
carry a token, and by the globs the user lists in the user-only `secret_files` setting
(matched as every path pattern is: `v4code.globs`). Names are not secrets: listings still
show them, so the model can say a `.env` exists and ask for it.

This module imports nothing from v4code but the glob leaf, so the pipeline, the search, the
repo map, the review and the chat's `@path` attachments share one rule.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from v4code.globs import glob_matches

__all__ = ["PLACEHOLDER", "SecretFiles", "secret_in_text", "secret_paths", "secret_reason"]

PLACEHOLDER = "[content of a secret file withheld from the session log]"

_EXAMPLE_WORDS = ("example", "sample", "template", "dist", "defaults")
_ENV = "an environment file (.env)"
_SECRET_NAMES = {
    ".envrc": "a direnv file (.envrc)",
    ".pgpass": "a PostgreSQL password file (.pgpass)",
    ".my.cnf": "a MySQL client file (.my.cnf)",
    ".s3cfg": "an S3 credentials file",
    ".boto": "a cloud credentials file (.boto)",
    ".vault-token": "a Vault token",
    ".dockercfg": "a Docker credentials file",
    "terraform.tfstate": "a Terraform state file (holds secrets in plain text)",
    "terraform.tfstate.backup": "a Terraform state file (holds secrets in plain text)",
    "kubeconfig": "a Kubernetes credentials file",
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
    ".ppk": "a PuTTY private key",
    ".kdbx": "a KeePass database",
    ".tfstate": "a Terraform state file (holds secrets in plain text)",
}
# Paths (their last parts) whose name alone says nothing: `config` is a secret under `.kube/`.
_SECRET_TAILS: dict[tuple[str, ...], str] = {
    (".kube", "config"): "a Kubernetes credentials file",
    (".docker", "config.json"): "a Docker credentials file",
    ("gh", "hosts.yml"): "a GitHub CLI token file",
}
_KEY_TYPES = ("rsa", "dsa", "ecdsa", "ed25519", "ecdsa_sk", "ed25519_sk", "xmss")
# A file named so only matters when it holds a credential: a plain registry setting is not one.
_TOKEN_FILES = {
    ".npmrc": ("_authtoken", "_auth", "_password"),
    ".pypirc": ("password",),
}
_TOKEN_SNIFF = 64 * 1024
# What a credential looks like inside any file, whatever its name: a private key (PEM, OpenSSH,
# PGP, PuTTY) as a header followed by its encoded body, not a header alone (code that parses keys
# names the header too), or a cloud credential file (a Google service-account or user key, an
# AWS credentials file). A line of the key may start a diff line (`+`); a key inside JSON, with
# its newlines written `\n`, is found by the JSON fields. The whole file is looked at (up to
# _CONTENT_LIMIT, mapped rather than read): read_file takes any line, so a key pasted after
# pages of notes is as readable as one at the top.
_CONTENT_LIMIT = 256 * 1024 * 1024
_NL = rb"\r?\n[+\- ]?"
_BODY = _NL + rb"(?:[A-Za-z-]+: [^\r\n\\]*" + _NL + rb")*(?:" + _NL + rb")?[A-Za-z0-9+/]{16,}"


def _key(header: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"-----BEGIN " + header + rb"-----" + _BODY)


_CONTENT: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (_key(rb"OPENSSH PRIVATE KEY"), "an OpenSSH private key"),
    (_key(rb"PGP PRIVATE KEY BLOCK"), "a PGP private key"),
    (_key(rb"(?:[A-Z0-9]+ )*PRIVATE KEY"), "a private key (PEM)"),
    (re.compile(rb"PuTTY-User-Key-File-\d: [\w-]+\r?\n"), "a PuTTY private key"),
    (re.compile(rb"(?im)^\s*aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{20,}"), "AWS credentials"),
    # A config line whose URL holds a password: a git remote cloned with a token in it
    # (`.git/config`), pip's `index-url`, a TOML `url = "..."`; an auth header a CI checkout
    # persisted in git's config
    (
        re.compile(rb"(?im)^\s*(?:push|[\w-]*-)?url\s*=\s*[\"']?\S+://[^\s/:@\"']+:[^\s/@]+@"),
        "a URL holding a password",
    ),
    (re.compile(rb"(?im)^\s*extraheader\s*=\s*authorization:"), "a git HTTP auth header"),
)
# Only in a JSON file: the fields of a cloud credential.
_JSON_CONTENT: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (
        re.compile(rb'"type"\s*:\s*"(?:service_account|authorized_user|external_account)"'),
        "a cloud credential (service-account or user key)",
    ),
    (re.compile(rb'"private_key"\s*:\s*"'), "a cloud credential (private key)"),
)


def _is_example(stem: str) -> bool:
    return any(word in stem for word in _EXAMPLE_WORDS)


def _env_file(lowered: str) -> bool:
    """`.env`, `.env.production`, `.env-prod`, `.env_local`, `prod.env`; not `.env.example`."""
    if lowered == ".env":
        return True
    if lowered.startswith((".env.", ".env-", ".env_")):
        return not _is_example(lowered[5:])
    return lowered.endswith(".env") and not _is_example(lowered[:-4])


# `credentials.toml` (cargo), `secrets.toml` (Streamlit), `credentials.yml`, `secrets.json`:
# a data file named for what it holds. Code (`secrets.py`) is not one.
_STORE_STEMS = ("credentials", "secrets", "secret")
_DATA_SUFFIXES = frozenset(
    {"", ".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".conf", ".txt", ".properties",
     ".xml", ".tfrc", ".tfrc.json"}
)  # fmt: skip


def _store_file(lowered: str) -> bool:
    """`credentials.toml`, `secrets.yaml`, `credentials.tfrc.json`; not `secrets.example.yml`."""
    stem, dot, rest = lowered.partition(".")
    return stem in _STORE_STEMS and (f"{dot}{rest}" in _DATA_SUFFIXES) and not _is_example(rest)


def _by_name(name: str) -> str | None:
    lowered = name.lower()
    if _env_file(lowered):
        return _ENV
    if lowered in _SECRET_NAMES:
        return _SECRET_NAMES[lowered]
    if _store_file(lowered):
        return "a credentials or secrets file"
    suffix = os.path.splitext(lowered)[1]
    if suffix in _SECRET_SUFFIXES:
        return _SECRET_SUFFIXES[suffix]
    if lowered.endswith(".tfstate.backup"):
        return _SECRET_SUFFIXES[".tfstate"]
    private = lowered[3:] in _KEY_TYPES or "." not in lowered  # id_rsa, not id_rsa.pub
    if lowered.startswith("id_") and private:
        return "an SSH private key"
    return None


@contextlib.contextmanager
def _regular(path: Path) -> Iterator[tuple[int, os.stat_result] | None]:
    """(descriptor, stat) of the regular file at `path`, opened without following a link and
    without blocking; None for a link, a pipe, anything not a regular file, or one that
    cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        yield None
        return
    try:
        st = os.fstat(fd)
        yield (fd, st) if stat.S_ISREG(st.st_mode) else None
    finally:
        os.close(fd)


def _head(path: Path, size: int) -> bytes | None:
    """The first `size` bytes of a regular file (`_regular`); None when it is none or
    cannot be read."""
    try:
        with _regular(path) as opened:
            return None if opened is None else os.read(opened[0], size)
    except OSError:
        return None


def _has_token(path: Path, markers: tuple[str, ...]) -> bool:
    """Whether the file holds a credential. A link (it may point out of the workspace), a
    pipe (opening one for reading would block), anything not a regular file or unreadable
    now counts as holding one: the worst is assumed rather than read later unasked."""
    head = _head(path, _TOKEN_SNIFF)
    if head is None:
        return True
    text = head.decode("utf-8", "replace").lower()
    return any(marker in text for marker in markers)


def secret_in_text(data: str | bytes | mmap.mmap) -> str | None:
    """What credential `data` (a file's bytes, a diff) holds, or None."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    rules = _CONTENT + _JSON_CONTENT if bytes(raw[:4096]).lstrip()[:1] == b"{" else _CONTENT
    for pattern, why in rules:
        if pattern.search(raw):
            return why
    return None


def _whole_content(path: Path) -> str | None:
    """What credential the regular file at `path` holds anywhere in it (its first
    _CONTENT_LIMIT bytes), opened without following a link; None when it holds none or is
    not a regular file."""
    try:
        with _regular(path) as opened:
            if opened is None or opened[1].st_size == 0:
                return None
            fd, st = opened
            with mmap.mmap(fd, min(st.st_size, _CONTENT_LIMIT), access=mmap.ACCESS_READ) as view:
                return secret_in_text(view)
    except (OSError, ValueError):
        return None


# Content answers per file, keyed by what stat says of it: a file the model rewrites with a key
# inside is looked at again; an unchanged one is not read twice.
_sniffed: dict[tuple[str, int, int, int, int, int], str | None] = {}


def _by_content(path: Path) -> str | None:
    """What credential the regular file at `path` holds (`_whole_content`; a link is not
    followed: the caller looks at its target under its own name)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        return None
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _sniffed:
        if len(_sniffed) > 65_536:
            _sniffed.clear()
        _sniffed[key] = _whole_content(path)
    return _sniffed[key]


def _named(posix: PurePosixPath, globs: Iterable[str]) -> str | None:
    """Why a path is secret by its name, its last folders or the user's globs."""
    reason = _by_name(posix.name) or _SECRET_TAILS.get(tuple(p.lower() for p in posix.parts[-2:]))
    if reason is None:
        text = posix.as_posix()
        for pattern in globs:
            pattern = pattern.strip()
            if pattern and glob_matches(text, pattern):
                return f"a file matching your secret_files setting ({pattern!r})"
    return reason


def secret_reason(rel: str, *, root: Path | None = None, globs: Iterable[str] = ()) -> str | None:
    """Why the workspace path `rel` is a secret file, or None. With `root`, the file is looked
    into (token files, private keys, cloud credentials); without it the token files count as
    secret and nothing else is read."""
    posix = PurePosixPath(rel.replace(os.sep, "/"))
    if not posix.name:
        return None
    return _named(posix, globs) or _looked_into(posix, root)


def _looked_into(posix: PurePosixPath, root: Path | None) -> str | None:
    """Why a path is secret by what it holds (a token file without `root` counts as one)."""
    name = posix.name
    if name.lower() in _TOKEN_FILES:
        if root is None or _has_token(root / posix, _TOKEN_FILES[name.lower()]):
            return f"a {name} file with a token"
        return None
    return None if root is None else _by_content(root / posix)


class SecretFiles:
    """The rule for one workspace: the built-in names plus the user's `secret_files` globs."""

    def __init__(self, root: Path, globs: Iterable[str] = ()) -> None:
        self.root = Path(os.path.realpath(root))
        self.globs = tuple(g for g in globs if g.strip())
        self._seen: dict[str, str | None] = {}

    def reason(self, rel: str) -> str | None:
        """Why `rel` (workspace-relative) is secret, or None. The answer by name is
        remembered; what the file holds is looked at again whenever it changed."""
        posix = PurePosixPath(rel.replace(os.sep, "/"))
        if not posix.name:
            return None
        if rel not in self._seen:
            if len(self._seen) > 4096:
                self._seen.clear()
            self._seen[rel] = _named(posix, self.globs)
        return self._seen[rel] or _looked_into(posix, self.root)

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
            except ValueError:  # outside the workspace: its own name, then what it holds
                why = secret_reason(Path(name).name, globs=self.globs) or _by_content(Path(name))
            else:
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


_NOT_WALKED = frozenset({".git", "node_modules", "__pycache__"})
WALK_FILES = 200_000
"""Files `secret_paths` looks at, at most (a repository's own secrets are near its top)."""


def secret_paths(root: Path, globs: Iterable[str] = (), parsed: Iterable[str] = ()) -> list[Path]:
    """Every secret file in the workspace, for a program that reads the whole workspace by
    itself (a language server imports the project and quotes what it read) to be shown none
    of them: by name or the user's `globs`, and by content among the files it parses (names
    ending in one of `parsed`, `.py`, `.json`: the others it never quotes, and looking into
    every file of a large repository would hold its start up). Links are not followed (a
    link to a secret file inside the workspace leads to the hidden file); `.git`,
    `node_modules` and virtualenvs are not walked: the user's secrets are not installed
    packages."""
    base = Path(os.path.realpath(root))
    rules = tuple(g for g in globs if g.strip())
    suffixes = tuple(s.lower() for s in parsed)
    found: list[Path] = []
    seen = 0
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_WALKED and not _a_venv(folder, d))
        for name in sorted(files):
            seen += 1
            if seen > WALK_FILES:
                return found
            full = Path(folder, name)
            posix = PurePosixPath(full.relative_to(base).as_posix())
            if _named(posix, rules) or (
                not os.path.islink(full)
                and (name.lower() in _TOKEN_FILES or name.lower().endswith(suffixes))
                and _looked_into(posix, base)
            ):
                found.append(full)
    return found


def _a_venv(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name, "pyvenv.cfg"))
