"""Where the user's own v4code files live: one folder, movable with V4CODE_HOME.

A leaf (it imports nothing from v4code): the settings, the trust records, the session logs and
the caches all find their place through it, whichever layer they sit in.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_home() -> Path:
    """Where every user-level file lives; V4CODE_HOME moves all of them to one folder."""
    override = os.environ.get("V4CODE_HOME")
    if override:
        return Path(override).expanduser()
    import click

    return Path(click.get_app_dir("v4code"))


def user_config_path() -> Path:
    return user_home() / "config.toml"
