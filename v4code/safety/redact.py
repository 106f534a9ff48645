"""Secrets out of everything v4code writes or shows: session logs, command output, settings.

One scrubber for every place a secret could leak. It knows the secret *values* (the API key
from the settings and the variables in SECRET_ENV) rather than guessing at patterns, and it
removes each one in the forms a command or a log is likely to print it: as is, base64 (at any
alignment inside a longer base64 text, as in an `Authorization: Basic` header), URL-encoded and
hex. Values shorter than MIN_SECRET characters are left alone: a local engine accepts any key
("none", "local") and scrubbing those would rewrite ordinary words.

This module imports nothing from v4code, so the store (sessions, config) may use it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "MARK",
    "add_secret_env",
    "MIN_SECRET",
    "SECRET_ENV",
    "Redactor",
    "is_secret_env",
    "mask",
    "redactor",
    "sealed_redactor",
    "secret_env_names",
    "secret_values",
]

MARK = "[redacted]"
MIN_SECRET = 8
SECRET_ENV = ("DEEPSEEK_API_KEY", "V4CODE_API_KEY")
"""Environment variables whose values are secrets wherever they appear."""
_OWN_PREFIXES = ("DEEPSEEK_", "V4CODE_")
_SECRET_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_SECRET")


_NAMED: set[str] = set()
"""Variables the user's config names as holding a key (a profile's `key_env`)."""


def add_secret_env(name: str) -> None:
    """Treat `name` as a secret variable from now on, as SECRET_ENV: a profile's key is kept
    out of commands' environments and scrubbed from what v4code writes, like DeepSeek's."""
    _NAMED.add(name.upper())


def is_secret_env(name: str) -> bool:
    """A variable v4code reads whose value is a secret: SECRET_ENV, one the user's config
    names (add_secret_env), or one of its own (DEEPSEEK_*, V4CODE_*) named like a key, token
    or secret."""
    upper = name.upper()
    return (
        upper in SECRET_ENV
        or upper in _NAMED
        or (upper.startswith(_OWN_PREFIXES) and upper.endswith(_SECRET_SUFFIXES))
    )


def secret_env_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secret variables set in `environ` (os.environ by default)."""
    env = os.environ if environ is None else environ
    return sorted({*SECRET_ENV, *(name for name in env if is_secret_env(name))})


def secret_values(
    api_key: str | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The known secrets: the configured key and the secret variables that are set."""
    env = os.environ if environ is None else environ
    found = [api_key, *(env.get(name) for name in secret_env_names(env))]
    return sorted({value for value in found if value and len(value) >= MIN_SECRET})


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 text that encodes `raw` wherever it starts in the encoded input: three
    alignments, each without the characters that also depend on the neighbouring bytes."""
    import base64  # here, not at the top: sessions and config import this module on start-up

    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        first = -(-shift * 8 // 6)  # characters that carry bits of the padding bytes
        last = (shift + len(raw)) * 8 // 6  # characters made of these bytes only
        core = encoded[first:last]
        if len(core) >= MIN_SECRET:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))  # the URL-safe alphabet
    return cores


def _forms(secret: str) -> set[str]:
    import urllib.parse

    raw = secret.encode("utf-8")
    hexed = raw.hex()
    forms = {secret, hexed, hexed.upper(), *_base64_cores(raw)}
    forms.add(urllib.parse.quote(secret, safe=""))
    forms.add(urllib.parse.quote_plus(secret, safe=""))
    return forms


def _all_forms(secrets: Iterable[str]) -> list[str]:
    """Every form of every secret long enough to scrub, longest first: the longest form
    wins an overlap (Redactor and SealedRedactor alike)."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            forms |= _forms(secret)
    return sorted(forms, key=len, reverse=True)


class Redactor:
    """Replaces every known form of the given secrets by MARK."""

    def __init__(self, secrets: Iterable[str]) -> None:
        ordered = _all_forms(secrets)
        import re  # here, not at the top: the entry imports this module before anything else

        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self.forms = tuple(ordered)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MARK, text)


def scrubbed(value: object, scrub: Callable[[str], str]) -> object:
    """`value` (JSON data: dicts, lists, strings, numbers) with every string passed through
    `scrub` (a request's body, a message to an editor)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [scrubbed(v, scrub) for v in value]
    if isinstance(value, dict):  # keys too: a call's arguments are the model's to name
        return {scrub(str(k)): scrubbed(v, scrub) for k, v in value.items()}
    return value


class StreamScrubber:
    """Scrubs text that arrives in pieces (a streamed answer): a secret split across two
    pieces is caught too. `feed` returns what is safe to show now, holding back a tail that
    could be the start of a secret; `flush` returns the rest once the stream ends."""

    def __init__(self, scrub: Redactor) -> None:
        self.scrub = scrub
        # what a piece's end may be: the start of a form, short of all of it (that is scrubbed);
        # a set, so each delta costs a lookup per length rather than a scan of every form
        self.starts = frozenset(form[:size] for form in scrub.forms for size in range(1, len(form)))
        self.longest = max(map(len, self.starts), default=0)
        self.pending = ""

    def feed(self, text: str) -> str:
        text = self.scrub(self.pending + text)
        keep = self._unsafe_tail(text)
        self.pending = text[len(text) - keep :]
        return text[: len(text) - keep]

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return text

    def _unsafe_tail(self, text: str) -> int:
        """The length of the longest end of `text` that begins some form of a secret."""
        for size in range(min(len(text), self.longest), 0, -1):
            if text[-size:] in self.starts:
                return size
        return 0


_CACHE: dict[tuple[str, ...], Redactor] = {}


def redactor(api_key: str | None = None, environ: Mapping[str, str] | None = None) -> Redactor:
    """The scrubber for the configured key and the secret environment variables (built once
    per set of secrets: tool results and printed lines ask for it often)."""
    values = tuple(secret_values(api_key, environ))
    found = _CACHE.get(values)
    if found is None:
        if len(_CACHE) > 32:
            _CACHE.clear()
        found = _CACHE[values] = Redactor(values)
    return found


_SEAL_PREFIX = 4


class SealedRedactor:
    """A Redactor that holds no secret: what code outside v4code may be handed (a tool's
    context), so that looking into it finds no key.

    Of each form of a secret it keeps the first few characters (where a match may start), the
    length and a salted digest; a place that starts so is replaced when the digest of that
    stretch matches. The result is the Redactor's: the longest form wins an overlap.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        import hashlib

        self._salt = os.urandom(16)
        self._hash = hashlib.blake2b
        self._by_start: dict[str, list[tuple[int, bytes]]] = {}
        for form in _all_forms(secrets):
            entry = (len(form), self._digest(form))
            self._by_start.setdefault(form[:_SEAL_PREFIX], []).append(entry)
        import re  # as in Redactor: not at the top

        starts = "|".join(map(re.escape, self._by_start))
        self._starts = re.compile(f"(?=({starts}))") if self._by_start else None

    def _digest(self, text: str) -> bytes:
        return self._hash(text.encode("utf-8"), key=self._salt, digest_size=32).digest()

    def __bool__(self) -> bool:
        return self._starts is not None

    def __call__(self, text: str) -> str:
        if self._starts is None:
            return text
        parts: list[str] = []
        done = 0
        for start in self._starts.finditer(text):
            at = start.start()
            if at < done:
                continue  # inside a stretch already replaced
            for length, digest in self._by_start[start.group(1)]:
                if self._digest(text[at : at + length]) == digest:
                    parts += [text[done:at], MARK]
                    done = at + length
                    break
        return "".join([*parts, text[done:]]) if parts else text


def sealed_redactor(
    api_key: str | None = None, environ: Mapping[str, str] | None = None
) -> SealedRedactor:
    """`redactor`'s scrubbing, from a scrubber that holds no secret (see SealedRedactor)."""
    return SealedRedactor(secret_values(api_key, environ))


def mask(value: str | None) -> str:
    """A secret as settings are shown: enough to tell two keys apart, never the key."""
    if not value:
        return "(not set)"
    return f"{value[:3]}…{value[-4:]}" if len(value) > 12 else "****"
