"""Reads config files once (`read_toml_file`) and edits a user's TOML config file as text, one
table at a time (`v4code mcp add` and `remove`, the profiles `v4code engine serve` and `probe
--fix` write).

A hand-written config keeps its comments, order and other tables byte for byte: the table's old
lines are cut out, the new ones appended, and the result parsed again. An edit that would change
anything but that one table (a table written inline, as dotted keys, or split up) is refused
with a message to edit the file by hand, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v4code.errors import ConfigError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def parse_toml(text: str, source: Path) -> dict[str, Any]:
    """TOML text as data; ConfigError naming `source` when it is not valid TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def read_config_text(path: Path) -> str:
    """A config file's text; ConfigError when it cannot be read or is not UTF-8."""
    return _decode(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text") from None


@dataclass(frozen=True)
class TomlFile:
    """A config file read once: its data, or why it could not be used, and the sha256 of the
    bytes the data came from (so a reader can tell it is what was hashed elsewhere)."""

    path: Path
    present: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    digest: str = ""

    def table(self) -> dict[str, Any]:
        """The data ({} when there is no file); ConfigError when it is not valid TOML."""
        if self.error is not None:
            raise ConfigError(self.error)
        return self.data


def read_toml_file(path: Path, *, follow_links: bool = True) -> TomlFile:
    """`path` read and parsed once; absent (no file, or a link when `follow_links` is off)
    gives an empty, not-present TomlFile. Errors are kept, not raised: `table()` raises them
    where the data is used."""
    if (not follow_links and path.is_symlink()) or not path.is_file():
        return TomlFile(path)
    try:
        raw = _read_bytes(path)
    except ConfigError as exc:
        return TomlFile(path, True, error=exc.message)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return TomlFile(path, True, parse_toml(_decode(raw, path), path), digest=digest)
    except ConfigError as exc:
        return TomlFile(path, True, error=exc.message, digest=digest)


def toml_key(name: str) -> str:
    """A table or key name as a person writes it: bare when TOML allows (`[profiles.local]`),
    quoted only when it must be (`[profiles."gpu box"]`)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else toml_string(name)


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, given raw (not \\u-escaped) non-ASCII."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def toml_value(value: Any) -> str:
    """A value as TOML: booleans, numbers, arrays, inline tables, strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)  # repr: no digit lost
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return toml_string(str(value))


def read_config_file(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and data ("" and {} when there is no file); ConfigError when it
    cannot be read or is not valid TOML."""
    if not path.is_file():
        return "", {}
    text = read_config_text(path)
    return text, parse_toml(text, path)


def _header_path(line: str) -> list[str] | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    return [part.strip().strip('"').strip("'") for part in match.group(1).split(".")]


def _at(data: Any, where: Sequence[str]) -> Any:
    for key in where:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _without(data: dict[str, Any], where: Sequence[str]) -> dict[str, Any]:
    """`data` less the table at `where`, and less the tables on the way that only held it."""
    if not where:
        return data
    head, rest = where[0], where[1:]
    out = dict(data)
    inner = out.get(head)
    if not rest:
        out.pop(head, None)
    elif isinstance(inner, dict):
        pruned = _without(inner, rest)
        if pruned:
            out[head] = pruned
        else:
            out.pop(head)
    return out


def replace_table(path: Path, where: Sequence[str], table: str | None, what: str) -> None:
    """Write `table` (TOML text of the table at `where`, sub-tables included) in place of that
    table's lines, or remove them (`table` None); `what` names it in the refusal."""
    from v4code.edits.atomic import atomic_write

    text, before = read_config_file(path)
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        header = _header_path(line)
        if header is not None:
            skipping = header[: len(where)] == list(where)
        if not skipping:
            kept.append(line)
    new = "".join(kept)
    expected = None
    if table is not None:
        if new and not new.endswith("\n"):
            new += "\n"
        new += ("\n" if new.strip() else "") + table
        expected = _at(parse_toml(table, path), where)
    refused = ConfigError(
        f"{what} is not written as its own [{'.'.join(where)}] table in {path}; "
        "edit the file by hand"
    )
    try:
        after = parse_toml(new, path)
    except ConfigError:
        raise refused from None  # the file is fine; the edit would not be
    if _at(after, where) != expected or _without(before, where) != _without(after, where):
        raise refused
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, new.encode("utf-8"))
