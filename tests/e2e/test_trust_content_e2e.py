"""What trust covers is what the files hold, through the real CLI.

A `.v4code/prompts` folder linked to `docs/p`, or a hook running `scripts/hook.sh`: after
`v4code trust`, the model rewrites the linked prompt or the script. The next run must not use
the model's text as its system prompt, nor run the model's script as a trusted hook.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cli_harness
from fake_api import FakeDeepSeek, text

from v4code.safety.trust import CHANGED_NOTICE

KEY = "sk-trust-content-key-0123456789"


def v4code(root: Path, server: FakeDeepSeek, *args: str) -> subprocess.CompletedProcess[str]:
    home = Path(os.environ["V4CODE_HOME"])
    (home / "config.toml").write_text(f'base_url = "{server.base_url}"\n')
    return cli_harness.v4code(root, *args, key=KEY, env={"V4CODE_MAX_RETRIES": "0"})


def test_a_linked_prompts_folder_is_refused_not_followed(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    (workspace / "docs" / "p").mkdir(parents=True)
    (workspace / "docs" / "p" / "system.md").write_text("THE PROMPT THE USER READ\n")
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "prompts").symlink_to("../docs/p")
    (workspace / ".v4code" / "config.toml").write_text("max_steps = 5\n")
    trusted = v4code(workspace, fake_api, "trust")
    assert trusted.returncode != 0
    assert "prompts is a link to a folder" in trusted.stdout + trusted.stderr
    # The model writes the link's target; the next session's system prompt stays v4code's.
    (workspace / "docs" / "p" / "system.md").write_text("THE MODEL'S PROMPT\n")
    fake_api.load([text("hi")])
    done = v4code(workspace, fake_api, "run", "-o", "json", "say hi")
    assert done.returncode == 0, done.stderr
    system = json.dumps(fake_api.chat_requests[0].messages[0])
    assert "THE MODEL'S PROMPT" not in system and "THE PROMPT THE USER READ" not in system


def test_a_trusted_hook_script_rewritten_afterwards_does_not_run(
    workspace: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    ran = tmp_path / "hook-ran"
    (workspace / "scripts").mkdir()
    hook = workspace / "scripts" / "hook.sh"
    hook.write_text(f"echo reviewed >> {ran}\n")
    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text(
        '[hooks]\nturn_end = "sh scripts/hook.sh --quiet"\n'
        '[mcp.servers.docs]\ncommand = "node"\nargs = ["tools/docs-server.js", "--port=0"]\n'
        "enabled = false\n"
    )
    trusted = v4code(workspace, fake_api, "trust")
    assert trusted.returncode == 0, trusted.stderr
    # The summary shows what would run, not only names.
    assert "turn_end hook runs with your rights: sh scripts/hook.sh --quiet" in trusted.stdout
    assert "MCP server docs runs with your rights: node tools/docs-server.js --port=0" in (
        trusted.stdout
    )
    assert "scripts/hook.sh" in trusted.stdout.split("their content counts")[-1]

    fake_api.load([text("hi"), text("hi")])
    done = v4code(workspace, fake_api, "run", "-o", "json", "say hi")
    assert done.returncode == 0, done.stderr
    assert ran.read_text() == "reviewed\n"  # trusted: the hook runs

    hook.write_text(f"echo the model's script >> {ran}\n")  # the model rewrites the script
    done = v4code(workspace, fake_api, "run", "-o", "json", "say hi")
    assert done.returncode == 0, done.stderr
    assert CHANGED_NOTICE in done.stderr
    assert ran.read_text() == "reviewed\n"  # the rewritten script never ran
