"""An unresolved import whose leading part is a module file of the workspace (a vendored
`six.py`, whose `moves` exists only once it runs) is not an edit's error; anything else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from v4code.lsp.runtime_modules import made_at_run_time


@pytest.fixture
def vendored(tmp_path: Path) -> Path:
    (tmp_path / "pkg" / "packages").mkdir(parents=True)
    (tmp_path / "pkg" / "contrib").mkdir()
    (tmp_path / "pkg" / "packages" / "six.py").write_text("moves = None\n")
    (tmp_path / "pkg" / "contrib" / "app.py").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("message", "made"),
    [
        ('Import "..packages.six.moves.urllib.parse" could not be resolved', True),
        ('Import "pkg.packages.six.moves" could not be resolved', True),
        ('Import "..packages.sixx.moves" could not be resolved', False),  # a typo
        ('Import "..packages.six" could not be resolved', False),  # the file itself
        ('Import "requests" could not be resolved', False),
        ('"moves" is not a known attribute of module "six"', False),
        ('Import "......etc.passwd.x" could not be resolved', False),  # above the workspace
    ],
)
def test_only_names_that_continue_past_a_module_file_are_made_at_run_time(
    vendored: Path, message: str, made: bool
) -> None:
    assert made_at_run_time(vendored, "pkg/contrib/app.py", message) is made


def test_a_module_file_reached_through_a_link_out_of_the_workspace_does_not_count(
    vendored: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "six.py").write_text("")
    (vendored / "pkg" / "linked").symlink_to(outside)
    message = 'Import "..linked.six.moves" could not be resolved'
    assert made_at_run_time(vendored, "pkg/contrib/app.py", message) is False
