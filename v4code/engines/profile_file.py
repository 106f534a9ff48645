"""Writes a `[profiles.NAME]` table into the user's config.toml (v4code/toml_tables.py edits
that table where it stands, keeps the rest of the file byte for byte and refuses an edit
that would change anything else)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from v4code.errors import ConfigError
from v4code.toml_tables import read_config_file, write_table


def write_profile(path: Path, name: str, spec: dict[str, Any]) -> None:
    """Add or replace profile NAME; ConfigError when it cannot be done as a plain table."""
    write_table(path, ("profiles", name), spec, f"profile {name!r}")


def set_profile_key(path: Path, name: str, key: str, value: object) -> None:
    """Change one key of an existing profile (its other lines stay as written)."""
    _, data = read_config_file(path)
    profiles = data.get("profiles")
    current = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(current, dict):
        raise ConfigError(f"there is no profile {name!r} in {path}")
    write_profile(path, name, {**current, key: value})
