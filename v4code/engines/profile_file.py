"""Writes a `[profiles.NAME]` table into the user's config.toml as text.

The same approach as `v4code mcp add` (v4code/mcp/config_file.py, whose TOML string quoting and
parse-after-edit check it reuses): the rest of the file is kept byte for byte, the old table of
that name (if any) is cut out, the new one appended, and the result parsed again; an edit that
would change anything else is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v4code.errors import ConfigError
from v4code.mcp.config_file import _header_path, _parse, toml_string


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    return toml_string(str(value))


def profile_table(name: str, spec: dict[str, Any]) -> str:
    lines = [f"[profiles.{toml_string(name)}]"]
    lines += [f"{key} = {_value(value)}" for key, value in spec.items() if value is not None]
    return "\n".join(lines) + "\n"


def _profiles(data: dict[str, Any]) -> dict[str, Any]:
    profiles = data.get("profiles")
    return profiles if isinstance(profiles, dict) else {}


def write_profile(path: Path, name: str, spec: dict[str, Any]) -> None:
    """Add or replace profile NAME; ConfigError when it cannot be done as a plain table."""
    from v4code.edits.atomic import atomic_write

    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    before = _parse(text, path)
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        header = _header_path(line)
        if header is not None:
            skipping = header[:2] == ["profiles", name]
        if not skipping:
            kept.append(line)
    joined = "".join(kept)
    if joined and not joined.endswith("\n"):
        joined += "\n"
    new = joined + ("\n" if joined.strip() else "") + profile_table(name, spec)
    after = _parse(new, path)
    expected = {k: v for k, v in spec.items() if v is not None}
    others_before = {k: v for k, v in before.items() if k != "profiles"}
    others_after = {k: v for k, v in after.items() if k != "profiles"}
    rest_before = {k: v for k, v in _profiles(before).items() if k != name}
    rest_after = {k: v for k, v in _profiles(after).items() if k != name}
    if (
        _profiles(after).get(name) != expected
        or others_before != others_after
        or rest_before != rest_after
    ):
        raise ConfigError(
            f"profile {name!r} is not written as its own [profiles.{name}] table in {path}; "
            "edit the file by hand"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, new.encode("utf-8"))


def set_profile_key(path: Path, name: str, key: str, value: Any) -> None:
    """Change one key of an existing profile (rewrites that profile's table)."""
    data = _parse(path.read_text(encoding="utf-8"), path) if path.is_file() else {}
    current = _profiles(data).get(name)
    if not isinstance(current, dict):
        raise ConfigError(f"there is no profile {name!r} in {path}")
    write_profile(path, name, {**current, key: value})
