"""The editor's choices are the chat's: a mode or thinking level added to one must reach the
other, or an editor would offer what the agent refuses (or hide what it has)."""

from v4code.choices import EFFORTS, PERMISSION_MODES
from v4code.ui.acp_config import MODES, PLAN, THOUGHT_LEVELS


def test_the_editors_modes_are_the_permission_modes_and_plan() -> None:
    assert list(MODES) == [*PERMISSION_MODES, PLAN]


def test_the_editors_thought_levels_are_the_efforts() -> None:
    assert list(THOUGHT_LEVELS) == list(EFFORTS)
