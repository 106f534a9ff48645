"""``python tests/fake_api --script s.json`` or ``python -m fake_api --script s.json``."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a directory: make ``import fake_api`` resolve to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fake_api.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
