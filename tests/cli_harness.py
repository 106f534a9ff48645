"""Run the real `v4code` command line in a subprocess, as a user's shell or git hook does.

End-to-end tests want the installed entry point (click parsing, exit codes, stdout/stderr,
the session log), not an in-process call, and they want it pointed at the fake DeepSeek server
with nothing from the developer's own environment leaking in (conftest already clears every
DEEPSEEK_* and V4CODE_* variable but V4CODE_HOME).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fake_api import FakeDeepSeek

DEFAULT_KEY = "sk-test-key-0123456789"


def cli_env(
    *,
    server: FakeDeepSeek | None = None,
    base_url: str | None = None,
    key: str | None = DEFAULT_KEY,
    env: Mapping[str, str | None] | None = None,
    sandbox: bool = False,
    fast_retries: bool = True,
) -> dict[str, str]:
    """The environment the command runs in: os.environ plus what points it at a test server.

    - DEEPSEEK_BASE_URL: `server.base_url`, else `base_url`; with neither it is removed, so
      only a config file can name an endpoint.
    - DEEPSEEK_API_KEY: `key` (a fake one by default); `None` removes it.
    - V4CODE_RETRY_BASE_DELAY / V4CODE_RETRY_MAX_DELAY: tiny, so a retried request (or a
      Retry-After header) costs milliseconds; `fast_retries=False` keeps the real defaults.
    - V4CODE_SANDBOX: off by default (commands run as they are); `sandbox=True` turns it on
      where bubblewrap is installed, as a user's machine would run it.
    - `env`: more variables; a value of `None` removes that variable.
    """
    out = dict(os.environ)
    url = server.base_url if server is not None else base_url
    wanted: dict[str, str | None] = {
        "DEEPSEEK_BASE_URL": url,
        "DEEPSEEK_API_KEY": key,
        "V4CODE_SANDBOX": "true" if sandbox and shutil.which("bwrap") else "false",
    }
    if fast_retries:
        wanted |= {"V4CODE_RETRY_BASE_DELAY": "0.01", "V4CODE_RETRY_MAX_DELAY": "0.05"}
    for name, value in {**wanted, **(env or {})}.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def v4code(
    root: Path,
    *args: str,
    server: FakeDeepSeek | None = None,
    base_url: str | None = None,
    key: str | None = DEFAULT_KEY,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
    stdin: str | None = None,
    sandbox: bool = False,
    fast_retries: bool = True,
    python_flags: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """`python -m v4code ARGS` in `root`; the environment is `cli_env(...)` (see there).

    stdin is `stdin` as text, or empty: never the test runner's own, so a command that reads
    piped input (bare `v4code`, `run -`) sees exactly what the test gives it.
    `python_flags` go to the interpreter (`-X importtime`).
    """
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "v4code", *args],
        cwd=root,
        env=cli_env(
            server=server,
            base_url=base_url,
            key=key,
            env=env,
            sandbox=sandbox,
            fast_retries=fast_retries,
        ),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_v4code(
    root: Path,
    *args: str,
    server: FakeDeepSeek | None = None,
    sandbox: bool = False,
    capture: bool = True,
) -> subprocess.Popen[str]:
    """`python -m v4code ARGS` left running, for a test that signals or kills it.

    The environment is `cli_env(server=..., sandbox=...)`. stdout and stderr are pipes to read
    with `communicate()`, or discarded (`capture=False`) when the test never reads them, so
    a full pipe cannot stall the command.
    """
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "v4code", *args],
        cwd=root,
        env=cli_env(server=server, sandbox=sandbox),
        stdout=stream,
        stderr=stream,
        text=True,
    )


def session_logs() -> str:
    """Every session log below V4CODE_HOME, as one text: to check what v4code wrote down."""
    home = Path(os.environ["V4CODE_HOME"])
    return "".join(p.read_text() for p in sorted(home.rglob("*.jsonl")))


def seen_by_model(server: FakeDeepSeek) -> str:
    """Every message the model server was sent, as one JSON text."""
    return json.dumps([r.messages for r in server.chat_requests])


def tool_results(server: FakeDeepSeek) -> list[str]:
    """The tool results of the last request the model server received, in order."""
    last = server.chat_requests[-1].messages
    return [str(m["content"]) for m in last if m["role"] == "tool"]


def plan_each(
    root: Path,
    server: FakeDeepSeek,
    pattern: str,
    manifest: Path,
    *,
    key: str | None = DEFAULT_KEY,
    env: Mapping[str, str | None] | None = None,
    sandbox: bool = False,
) -> Path:
    """`v4code batch plan "Fix {path}." --each PATTERN -o MANIFEST` (one unit a matching
    file), asserted to succeed; returns `manifest` for `batch run`. `key`, `env` and `sandbox`
    are as for `v4code`."""
    planned = v4code(
        root, "batch", "plan", "Fix {path}.", "--each", pattern, "-o", str(manifest),
        server=server, key=key, env=env, sandbox=sandbox,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    return manifest


def run_and_apply(root: Path, server: FakeDeepSeek, manifest: Path, out: Path, into: str) -> None:
    """`v4code batch run MANIFEST --out OUT`, then `batch apply OUT --into INTO`, each asserted
    to succeed."""
    batch = v4code(root, "batch", "run", str(manifest), "--out", str(out), server=server)
    assert batch.returncode == 0, batch.stderr
    applied = v4code(root, "batch", "apply", str(out), "--into", into, server=server)
    assert applied.returncode == 0, applied.stderr


def run_diagnosed(
    root: Path,
    server: FakeDeepSeek,
    *args: str,
    sandbox: bool = False,
    timeout: float = 240,
    env: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """`v4code run --output jsonl ARGS` with the user's own diagnostics setting (conftest turns
    language servers off for the rest of the suite) and `env` (as `cli_env` takes it); exit 0
    checked, the events returned."""
    done = v4code(
        root, "run", "--output", "jsonl", *args, server=server, sandbox=sandbox,
        env={"V4CODE_DIAGNOSTICS": None, **(env or {})}, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
