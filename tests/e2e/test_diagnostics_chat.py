"""An edit's new errors in a real terminal (tmux): the chat shows them under the diff, from a
real language server, and `/lsp` says which servers run in the session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(
        shutil.which("basedpyright-langserver") is None,
        reason="basedpyright is not installed (pip install -e '.[lsp]')",
    ),
]


def test_the_chat_shows_an_edits_new_errors_under_its_diff(
    workspace: Path, tmp_path: Path, v4code_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("V4CODE_DIAGNOSTICS")  # the user's config says (conftest turns it off)
    (workspace / "calc.py").write_text("def total(xs):\n    return sum(xs)\n")
    (v4code_home / "config.toml").write_text("diagnostics_timeout = 60\n")  # a cold server
    server = start_subprocess_server(
        [
            {
                **text(""),
                "tool_calls": [
                    {
                        "name": "write_file",
                        "arguments": {
                            "path": "calc.py",
                            "content": "def total(xs):\n    return sum(totl)\n",
                        },
                    }
                ],
            },
            text("Edited."),
        ],
        tmp_path / "server",
    )
    args = ("--permission-mode", "full-auto")
    with chat_in_tmux("diag", workspace, v4code_home, server, height=40, args=args) as session:
        send(session, "/lsp", "Enter")
        wait_for(session, r"No language server has started in this session yet")
        send(session, "break it", "Enter")
        screen = wait_for(session, r"Edited\.", timeout=120)
        diff = screen.index("+    return sum(totl)")
        error = screen.index('✗ calc.py:2: "totl" is not defined')
        assert diff < error < screen.index("Edited.")
        send(session, "/lsp", "Enter")
        wait_for(session, r"python\s+basedpyright: running \(started once\)")
        leave(session)
    server.stop()
