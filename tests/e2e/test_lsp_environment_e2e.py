"""The project's Python environment, as the language server sees it: an edit that imports a
package the project has installed is no error, through the real CLI and basedpyright.

A user keeps the project's dependencies in the workspace's `.venv` (uv, poetry) or in the
virtualenv they activated (`VIRTUAL_ENV`). The sandboxed server finds neither by itself
(its PATH leaves the workspace out, /home and /tmp are hidden from it), so v4code names
them in its settings; a workspace's venv whose site-packages is a link out of the workspace
is not followed, as a repository must not steer the server's reads elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cli_harness
import pytest
from fake_api import FakeDeepSeek, text, tool_calls

from v4code.safety.sandbox import sandbox_problem

pytestmark = pytest.mark.skipif(
    shutil.which("basedpyright-langserver") is None,
    reason="basedpyright is not installed (pip install -e '.[lsp]')",
)

CLEAN = "def total(xs):\n    return sum(xs)\n"
IMPORTING = "import somepkg\n\n\ndef total(xs):\n    return somepkg.twice(sum(xs))\n"
UNRESOLVED = 'calc.py:1: Import "somepkg" could not be resolved'
SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def _package(site: Path) -> None:
    (site / "somepkg").mkdir(parents=True)
    (site / "somepkg" / "__init__.py").write_text("def twice(x: int) -> int:\n    return 2 * x\n")


def _errors(
    workspace: Path, v4code_home: Path, server: FakeDeepSeek, **env: str | None
) -> list[list[str]]:
    """The new errors of an edit adding `import somepkg` to calc.py, in the sandbox where
    it runs (as a user's machine runs the server)."""
    (workspace / "calc.py").write_text(CLEAN)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")
    write = ("write_file", {"path": "calc.py", "content": IMPORTING})
    server.load([tool_calls([write]), text("done")])
    runs = shutil.which("bwrap") is not None and sandbox_problem(workspace) is None
    events = cli_harness.run_diagnosed(
        workspace, server, "--permission-mode", "full-auto", "use it",
        sandbox=runs, env={"VIRTUAL_ENV": None, **env},
    )  # fmt: skip
    return [e["errors"] for e in events if e["type"] == "diagnostics"]


def test_without_the_package_its_import_is_a_new_error(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    assert _errors(workspace, v4code_home, fake_api) == [[UNRESOLVED]]


def test_a_package_in_the_workspaces_venv_resolves(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek
) -> None:
    _package(workspace / ".venv" / SITE)

    assert _errors(workspace, v4code_home, fake_api) == [[]]


def test_a_package_in_the_users_active_venv_outside_the_workspace_resolves(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    venv = tmp_path / "user-venv"  # /tmp: hidden from the server unless shown to it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _package(venv / SITE)

    assert _errors(workspace, v4code_home, fake_api, VIRTUAL_ENV=str(venv)) == [[]]


def test_a_workspace_venv_linked_out_of_the_workspace_is_not_read(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    """The repository links its venv's site-packages to another folder of the machine:
    the server is not pointed there (outside the sandbox, too: it is off here, so nothing
    but v4code's own check keeps the server from reading it)."""
    elsewhere = tmp_path / "elsewhere" / "site-packages"
    _package(elsewhere)
    (workspace / ".venv" / SITE).parent.mkdir(parents=True)
    (workspace / ".venv" / SITE).symlink_to(elsewhere)
    (workspace / "calc.py").write_text(CLEAN)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\nsandbox = false\n")
    write = ("write_file", {"path": "calc.py", "content": IMPORTING})
    fake_api.load([tool_calls([write]), text("done")])

    events = cli_harness.run_diagnosed(
        workspace, fake_api, "--permission-mode", "full-auto", "use it",
        env={"VIRTUAL_ENV": None},
    )  # fmt: skip

    assert [e["errors"] for e in events if e["type"] == "diagnostics"] == [[UNRESOLVED]]


def test_the_workspaces_venv_python_is_not_run(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek, tmp_path: Path
) -> None:
    """basedpyright runs a workspace's `.venv/bin/python` for its search paths when it is
    told no interpreter: a program the repository controls. v4code names one outside."""
    ran = tmp_path / "ran"
    bin_dir = workspace / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\necho ran >> {ran}\nexec {sys.executable} "$@"\n')
    (bin_dir / "python").chmod(0o755)
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\nsandbox = false\n")
    (workspace / "calc.py").write_text(CLEAN)
    write = ("write_file", {"path": "calc.py", "content": CLEAN.replace("sum(xs)", "sum(xs) + 1")})
    fake_api.load([tool_calls([write]), text("done")])

    events = cli_harness.run_diagnosed(
        workspace, fake_api, "--permission-mode", "full-auto", "go", env={"VIRTUAL_ENV": None}
    )

    assert [e["errors"] for e in events if e["type"] == "diagnostics"] == [[]]
    assert not ran.exists()


SIX = (
    "import sys\nimport types\n\n"
    "moves = types.ModuleType(__name__ + '.moves')\n"
    "moves.urllib = types.ModuleType(__name__ + '.moves.urllib')\n"
    "sys.modules[moves.__name__] = moves\n"
)


@pytest.mark.parametrize(
    ("imported", "errors"),
    [
        ("six", []),  # a vendored six: `moves` is made when six.py runs
        ("sixx", ['pkg/app.py:1: Import ".sixx.moves" could not be resolved']),  # a typo
    ],
)
def test_a_vendored_six_moves_import_is_no_error_but_a_misspelt_one_is(
    workspace: Path, v4code_home: Path, fake_api: FakeDeepSeek, imported: str, errors: list[str]
) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "__init__.py").write_text("")
    (workspace / "pkg" / "six.py").write_text(SIX)
    (workspace / "pkg" / "app.py").write_text("X = 1\n")
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")
    content = f"from .{imported}.moves import urllib\n\nX = urllib\n"
    fake_api.load(
        [tool_calls([("write_file", {"path": "pkg/app.py", "content": content})]), text("ok")]
    )
    events = cli_harness.run_diagnosed(
        workspace,
        fake_api,
        "--permission-mode",
        "full-auto",
        "vendor it",
        env={"VIRTUAL_ENV": None},
    )
    assert [e["errors"] for e in events if e["type"] == "diagnostics"] == [errors]
