"""The effective settings as `v4code config show` prints them: files first, then a table."""

from __future__ import annotations

from pathlib import Path


def settings_lines(root: Path) -> list[str]:
    """Where settings are read from, then each setting, its value and its source.

    Raises ConfigError when a config file or variable is invalid, before anything is shown.
    """
    from v4code.config import describe, load_settings, project_config_path, user_config_path

    loaded = load_settings(root)
    rows = describe(loaded)
    width = max(len(name) for name, _, _ in rows)
    return [
        f"user file:    {user_config_path()}",
        f"project file: {project_config_path(root)}",
        *(f"notice:       {notice}" for notice in loaded.notices),
        *(f"{name:<{width}}  {value}  [{source}]" for name, value, source in rows),
    ]
