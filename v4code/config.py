"""Settings, layered: defaults < user file < project file < environment < flags."""

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
