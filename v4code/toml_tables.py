"""Edits a user's TOML config file as text, one table at a time (`v4code mcp add` and
`remove`, the profiles `v4code engine serve` and `probe --fix` write).

A hand-written config keeps its comments, order and other tables byte for byte: the table's old
lines are cut out, the new ones appended, and the result parsed again. An edit that would change
anything but that one table (a table written inline, as dotted keys, or split up) is refused
with a message to edit the file by hand, and nothing is written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from v4code.config import parse_toml, read_config_text
from v4code.errors import ConfigError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


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
