"""Through the real chat in a terminal: "always allow" a command's prefix, then the model
reuses the prefix with a word that names a program (`git -c core.fsmonitor=PROG status`,
`make -f other.mk test`). Each such command is asked again; nothing runs unasked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_api import start_subprocess_server, text, tool_call
from tmux_harness import chat_in_tmux, leave, send, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

MARK = "#!/bin/sh\necho ran > {out}\n"


@pytest.mark.parametrize(
    ("plain", "hostile"),
    [
        ("git status", "git -c core.fsmonitor=./prog.sh status"),
        ("git diff", "git -c diff.external=./prog.sh diff"),
        ("make test", "make -f other.mk test"),
    ],
)
def test_an_always_allowed_prefix_never_covers_a_program_named_in_an_option(
    workspace: Path, tmp_path: Path, v4code_home: Path, plain: str, hostile: str
) -> None:
    out = tmp_path / "ran"
    prog = workspace / "prog.sh"
    prog.write_text(MARK.format(out=out))
    prog.chmod(0o755)
    (workspace / "README.md").write_text("# changed\n")  # a diff for diff.external to show
    (workspace / "Makefile").write_text("test:\n\t@true\n")
    (workspace / "other.mk").write_text(f"test:\n\t@echo ran > {out}\n")
    server = start_subprocess_server(
        [
            tool_call("run_command", command=plain),
            tool_call("run_command", command=hostile),
            text("Done."),
        ],
        tmp_path / "server",
    )
    with chat_in_tmux("approvals", workspace, v4code_home, server, height=60) as session:
        send(session, "check the tree", "Enter")
        wait_for(session, rf"\[a\]lways allow `{plain}`")
        send(session, "a")  # one key, no Enter
        screen = wait_for(session, r"Run\? \[y\]es  \[n\]o:")
        assert hostile in screen
        assert not out.exists()  # asked, not run
        send(session, "n")
        wait_for(session, "Why not")
        send(session, "not this", "Enter")
        wait_for(session, "Done.")
        leave(session)
    assert not out.exists()
