"""Helpers shared by the benchmarks: the fake server from tests/, and a quiet agent."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for fake_api
