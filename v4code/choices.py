"""The fixed values of the settings the command line offers as choices.

They live apart from config.py, which validates them, because the click options are built on
every `v4code --help`, and config.py imports far more than these tuples need.
"""

from __future__ import annotations

from v4code.engines.table import ENGINES

PERMISSION_MODES = ("read-only", "ask", "auto-edit", "full-auto")
# One per engine (engines/table.py); backends/dialects.py builds what each one does.
DIALECTS = tuple(ENGINES)
# DeepSeek's documented reasoning_effort values (none turns thinking off; low, high and max
# turn it on). An engine or API that names them differently is a dialect's business.
EFFORTS = ("none", "low", "high", "max")
