"""The one reader of config files (`read_toml_file`: each parsed once) and the one writer of
the user's TOML config: one table at a time, the person's text kept (`v4code mcp add`, `allow`
and `remove`, the profiles `v4code engine serve` and `probe --fix` write).

The table's own lines are edited where they stand (tomlkit): a key whose value stays keeps
its text, a changed value keeps its line's comment and its quote style, a new key goes at the
table's end, a new table at the file's end, and every other line is kept byte for byte. The
result is parsed again: an edit that would change anything but that one table (a table
written inline, as dotted keys, or split up) is refused with a message to edit the file by
hand, and nothing is written. A config.toml that is a symbolic link is written where it
points, the link left as it is.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.errors import ConfigError

if TYPE_CHECKING:
    from tomlkit.items import Item

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


def config_present(path: Path, *, follow_links: bool = True) -> bool:
    """Whether there is a config file to read at `path`: False only when nothing is there (or
    a link, when `follow_links` is off: the caller says why it is not used). ConfigError when
    something else stands in its place (a folder, a dangling link, a pipe): settings the
    person wrote must never be skipped without a word."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        if not follow_links:
            return False
        try:
            st = os.stat(path)
        except OSError as exc:
            why = "which does not exist" if exc.errno == errno.ENOENT else f"({exc.strerror})"
            raise ConfigError(
                f"{path} is a symbolic link to {os.readlink(path)}, {why}; "
                "point it at your config file, or remove it"
            ) from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{path} is a folder, not a config file; remove it or move it away")
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path} is not a regular file; remove it or move it away")
    return True


def read_toml_file(path: Path, *, follow_links: bool = True) -> TomlFile:
    """`path` read and parsed once; absent (no file, or a link when `follow_links` is off)
    gives an empty, not-present TomlFile. Errors are kept, not raised: `table()` raises them
    where the data is used (a folder or a dangling link in the file's place too)."""
    try:
        if not config_present(path, follow_links=follow_links):
            return TomlFile(path)
    except ConfigError as exc:
        return TomlFile(path, error=exc.message)  # not present: nothing was read or hashed
    try:
        raw = _read_bytes(path)
    except ConfigError as exc:
        return TomlFile(path, True, error=exc.message)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return TomlFile(path, True, parse_toml(_decode(raw, path), path), digest=digest)
    except ConfigError as exc:
        return TomlFile(path, True, error=exc.message, digest=digest)


def read_config_file(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and data ("" and {} when there is no file); ConfigError when it
    cannot be read, is not valid TOML, or something else stands in its place."""
    if not config_present(path):
        return "", {}
    text = read_config_text(path)
    return text, parse_toml(text, path)


def write_table(
    path: Path, where: Sequence[str], values: Mapping[str, Any] | None, what: str
) -> None:
    """Make the table at `where` hold exactly `values` (keys whose value is None left out;
    a dict value is written inline), or remove it with its sub-tables (`values` None);
    `what` names it in the refusal."""
    from v4code.edits.atomic import atomic_write

    text, before = read_config_file(path)
    refused = ConfigError(
        f"{what} is not written as its own [{'.'.join(where)}] table in {path}; "
        "edit the file by hand"
    )
    lines = text.splitlines(keepends=True)
    mine = _table_lines(lines, where)
    kept = [line for i, line in enumerate(lines) if i not in mine]
    expected = None
    if values is None:
        new = "".join(kept)
    else:
        values = {k: _plain(v) for k, v in values.items() if v is not None}
        fresh = _fresh_table(where, values)
        expected = _at(parse_toml(fresh, path), where)
        if mine:
            edited = _edited("".join(lines[i] for i in sorted(mine)), where, values, refused)
            first = min(mine)
            new = "".join(kept[:first]) + edited + "".join(kept[first:])
        else:
            new = "".join(kept)
            if new and not new.endswith("\n"):
                new += "\n"
            new += ("\n" if new.strip() else "") + fresh
    try:
        after = parse_toml(new, path)
    except ConfigError:
        raise refused from None  # the file is fine; the edit would not be
    if _at(after, where) != expected or _without(before, where) != _without(after, where):
        raise refused
    target = written_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, new.encode("utf-8"))


def written_path(path: Path) -> Path:
    """The file a write to `path` replaces: a linked config.toml (kept in a dotfiles
    repository, say) is written where the link points, so the link stays a link and the
    file it names gets the change; the rename there is atomic as any other."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _table_lines(lines: list[str], where: Sequence[str]) -> set[int]:
    """The indexes of the lines under a header of the table at `where` or of its sub-tables."""
    mine: set[int] = set()
    inside = False
    for index, line in enumerate(lines):
        header = _header_path(line)
        if header is not None:
            inside = header[: len(where)] == list(where)
        if inside:
            mine.add(index)
    return mine


def _header_path(line: str) -> list[str] | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    return [part.strip().strip('"').strip("'") for part in match.group(1).split(".")]


def _edited(
    segment: str, where: Sequence[str], values: dict[str, Any], refused: ConfigError
) -> str:
    """The table's lines with its keys set to `values`, each unchanged key's text kept."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
    from tomlkit.items import Table

    try:
        doc = tomlkit.parse(segment)
        table: Any = doc
        for key in where:
            table = table[key]
    except (TOMLKitError, KeyError):
        raise refused from None
    if not isinstance(table, Table):
        raise refused
    for key in [k for k in table if k not in values]:
        del table[key]
    for key, value in values.items():
        old = table.item(key) if key in table else None
        if old is None or not _same(old.unwrap(), value):
            table[key] = _item(value, old)
    return tomlkit.dumps(doc)


def _fresh_table(where: Sequence[str], values: dict[str, Any]) -> str:
    """`values` as a new `[where]` table's text."""
    import tomlkit

    doc = tomlkit.document()
    parent: Any = doc
    for key in where[:-1]:
        inner = tomlkit.table(is_super_table=True)
        parent.add(key, inner)
        parent = inner
    table = tomlkit.table()
    for key, value in values.items():
        table.add(key, _item(value, None))
    parent.add(where[-1], table)
    return tomlkit.dumps(doc)


def _item(value: object, old: object) -> Item:
    """`value` as tomlkit writes it: a string in the quotes the old value used, when they
    can hold it; a dict as an inline table; a list as an inline array."""
    import tomlkit
    from tomlkit.items import String, StringType

    if isinstance(value, str):
        literal = isinstance(old, String) and old.type == StringType.SLL
        if literal and "'" not in value and "\n" not in value and value.isprintable():
            return tomlkit.string(value, literal=True)
        return tomlkit.string(value)
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        for key, inner in value.items():
            inline.append(key, _item(inner, None))
        return inline
    if isinstance(value, list):
        array = tomlkit.array()
        for inner in value:
            array.append(_item(inner, None))
        return array
    item: Item = tomlkit.item(value)
    return item


def _plain(value: object) -> Any:
    """Tuples as lists and mappings as dicts, all the way down: what TOML can hold."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _same(a: object, b: object) -> bool:
    """Equal and of the same kind (True is not 1 here, nor 1 the same as 1.0)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _at(data: object, where: Sequence[str]) -> Any:
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
