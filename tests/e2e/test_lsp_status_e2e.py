"""`v4code lsp status`: one line per language saying which server is configured (the user's
config, never a repository's), whether it is installed, and whether a session here would run
it; exit 0 whatever it finds."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cli_harness

from v4code.lsp.servers import LANGUAGES


def _status(workspace: Path, **env: str | None) -> list[str]:
    done = cli_harness.v4code(workspace, "lsp", "status", env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _line(lines: list[str], language: str) -> str:
    (found,) = [line for line in lines if line.split()[0] == language]
    return found


def test_each_language_is_one_line_saying_what_would_run(
    workspace: Path, v4code_home: Path
) -> None:
    (v4code_home / "config.toml").write_text(
        f"lsp_go = {json.dumps([sys.executable, '-c', 'pass'])}\n"
        'lsp_rust = "no-such-language-server --stdio"\n'
    )

    lines = _status(workspace, V4CODE_DIAGNOSTICS=None, V4CODE_SANDBOX="false")

    assert [line.split()[0] for line in lines] == [lang.name for lang in LANGUAGES]
    go = _line(lines, "go")
    assert f"(your config): found at {sys.executable}; would run without the sandbox" in go
    assert _line(lines, "rust").endswith("no-such-language-server --stdio (your config): not found")


def test_with_diagnostics_off_nothing_would_run(workspace: Path, v4code_home: Path) -> None:
    (v4code_home / "config.toml").write_text(
        f"lsp_go = {json.dumps([sys.executable, '-c', 'pass'])}\n"
    )

    lines = _status(workspace)  # conftest: V4CODE_DIAGNOSTICS=false

    assert "; off (diagnostics = false)" in _line(lines, "go")


def test_a_repositorys_server_command_is_not_what_would_run(
    workspace: Path, v4code_home: Path
) -> None:
    project = workspace / ".v4code"
    project.mkdir()
    (project / "config.toml").write_text(f"lsp_go = {json.dumps([sys.executable, '-c', 'pass'])}\n")
    trusted = cli_harness.v4code(workspace, "trust")
    assert trusted.returncode == 0, trusted.stderr

    lines = _status(workspace, V4CODE_DIAGNOSTICS=None)

    assert "gopls (default)" in _line(lines, "go")
    assert sys.executable not in _line(lines, "go")


def _rustup_proxies(folder: Path) -> Path:
    """A `rustup` program and `rust-analyzer` as rustup installs its proxies: a link to it."""
    folder.mkdir()
    rustup = folder / "rustup"
    rustup.write_text("#!/bin/sh\necho 'error: rustup could not choose a version' >&2\nexit 1\n")
    rustup.chmod(0o755)
    (folder / "rust-analyzer").symlink_to(rustup)
    return folder


def test_rustups_proxy_is_said_not_to_run_in_the_sandbox(
    workspace: Path, v4code_home: Path, tmp_path: Path
) -> None:
    """It said "found ... would run in the read-only sandbox", and every edit of a .rs file
    then said the server stopped."""
    bin_dir = _rustup_proxies(tmp_path / "cargo-bin")
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"

    sandboxed = _line(
        _status(workspace, V4CODE_DIAGNOSTICS=None, V4CODE_SANDBOX="true", PATH=path), "rust"
    )
    assert (
        f"found at {bin_dir / 'rust-analyzer'}; off: rust-analyzer here is rustup's proxy, "
        in sandboxed
    )
    assert "name the toolchain's binary in `lsp_rust`" in sandboxed
    assert "would run" not in sandboxed

    (bin_dir / "rust-analyzer").unlink()
    os.link(bin_dir / "rustup", bin_dir / "rust-analyzer")  # rustup's hard-link proxies
    hard = _line(
        _status(workspace, V4CODE_DIAGNOSTICS=None, V4CODE_SANDBOX="true", PATH=path), "rust"
    )
    assert "off: rust-analyzer here is rustup's proxy" in hard

    unconfined = _line(
        _status(workspace, V4CODE_DIAGNOSTICS=None, V4CODE_SANDBOX="false", PATH=path), "rust"
    )
    assert unconfined.endswith("would run without the sandbox (sandbox = false)")
