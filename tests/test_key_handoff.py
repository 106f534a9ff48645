"""The entry takes the secret variables out of its original environment block: in place, or
by executing itself again without them and getting them back from a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from v4code.safety import key_handoff

PROBE = (
    "import os, sys\n"
    "print('started', flush=True)\n"
    "from v4code.safety import key_handoff\n"
    "if os.environ.get('PROBE_NO_OVERWRITE'):\n"
    "    key_handoff._scrubbed_in_place = lambda names: False\n"
    "from v4code.safety.key_handoff import hand_over\n"
    "hand_over()\n"
    "block = open('/proc/self/environ', 'rb').read()\n"
    "import subprocess\n"
    "child = subprocess.run(['sh', '-c', 'echo ${DEEPSEEK_API_KEY:-none}'], capture_output=True)\n"
    "print(os.environ.get('DEEPSEEK_API_KEY'), os.environ.get('LOCAL_ENGINE_KEY'),\n"
    "      b'sk-' in block, 'V4CODE_HANDOFF_FD' in os.environ, sys.argv[1:],\n"
    "      child.stdout.decode().strip())\n"
)


def run_probe(tmp_path: Path, *args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_KEY")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().removeprefix("started\n")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_the_keys_leave_the_block_and_come_back_in_memory(tmp_path: Path) -> None:
    out = run_probe(
        tmp_path, "run", "a task", DEEPSEEK_API_KEY="sk-0123456789", LOCAL_ENGINE_KEY="sk-local-99"
    )
    # back in os.environ, not in what a child started without an environment inherits
    assert out == "sk-0123456789 sk-local-99 False False ['run', 'a task'] none"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_the_block_is_overwritten_in_place_without_a_second_start(tmp_path: Path) -> None:
    out = run_probe(tmp_path, "run", "a task", DEEPSEEK_API_KEY="sk-0123456789")
    assert not out.startswith("started")  # one interpreter start, not two
    assert out == "sk-0123456789 None False False ['run', 'a task'] none"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_where_the_block_cannot_be_overwritten_the_entry_executes_again(tmp_path: Path) -> None:
    out = run_probe(
        tmp_path, "run", "a task", DEEPSEEK_API_KEY="sk-0123456789", PROBE_NO_OVERWRITE="1"
    )
    assert out == "started\nsk-0123456789 None False False ['run', 'a task'] none"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_help_starts_nothing_and_is_not_executed_again(tmp_path: Path) -> None:
    out = run_probe(tmp_path, "--help", DEEPSEEK_API_KEY="sk-0123456789")
    assert out == "sk-0123456789 None True False ['--help'] sk-0123456789"


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_help_as_an_options_value_does_not_keep_the_key_in_the_block(tmp_path: Path) -> None:
    out = run_probe(tmp_path, "-p", "--help", DEEPSEEK_API_KEY="sk-0123456789")
    assert out == "sk-0123456789 None False False ['-p', '--help'] none"


def test_a_handoff_variable_naming_no_pipe_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "file"
    plain.write_text('{"DEEPSEEK_API_KEY": "sk-forged-0123"}')
    with plain.open("rb") as fh:
        monkeypatch.setenv(key_handoff.HANDOFF_FD, str(fh.fileno()))
        monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
        key_handoff.hand_over(["--help"])
        assert "DEEPSEEK_API_KEY" not in os.environ
        assert key_handoff.HANDOFF_FD not in os.environ
        assert fh.read() == plain.read_bytes()  # not read, not closed


PROFILE_PROBE = (
    "import os, sys\n"
    "from v4code.safety.key_handoff import hand_over\n"
    "hand_over()\n"
    "from v4code import config\n"
    "config.user_profiles({'profiles': {'box': {'key_env': 'BOX_CREDENTIAL'}}})\n"
    "block = open('/proc/self/environ', 'rb').read()\n"
    "import subprocess\n"
    "child = subprocess.run(['sh', '-c', 'echo ${BOX_CREDENTIAL:-none}'], capture_output=True)\n"
    "print(os.environ.get('BOX_CREDENTIAL'), b'box-secret' in block, child.stdout.decode().strip())\n"
)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="Linux /proc")
def test_a_profiles_key_named_unlike_a_key_leaves_the_block_once_the_config_names_it(
    tmp_path: Path,
) -> None:
    # BOX_CREDENTIAL ends in none of the key-like suffixes: only the config says it is a key
    done = subprocess.run(
        [sys.executable, "-c", PROFILE_PROBE, "run", "a task"],
        cwd=tmp_path,
        env={**os.environ, "BOX_CREDENTIAL": "box-secret-123"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "box-secret-123 False none"
