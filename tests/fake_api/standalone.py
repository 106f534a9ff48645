"""Run the fake server in a child process, for end-to-end tests of ``v4code`` as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fake_api.script import validate_steps

__all__ = ["SubprocessServer", "start_subprocess_server"]

_PACKAGE_DIR = Path(__file__).resolve().parent


class SubprocessServer:
    """Handle on a fake server child process. ``stop()`` returns (requests, violations)."""

    def __init__(self, proc: subprocess.Popen[str], port: int, record_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.record_path = record_path
        self.record: dict[str, Any] | None = None
        self.allow_leftover = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict[str, Any]:
        """Live snapshot from the running server: requests, violations, remaining."""
        url = f"{self.base_url}/_fake/state"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
            return json.loads(resp.read())

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            chats = [r for r in self.state()["requests"] if r["method"] == "POST"]
            if len(chats) >= count:
                return chats
            if time.monotonic() >= deadline:
                raise AssertionError(f"fake_api: {len(chats)} of {count} requests arrived")
            time.sleep(0.05)

    def stop(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Stop the child; return its recorded requests (dicts) and its violations."""
        if self.record is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            try:
                self.record = json.loads(self.record_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.record = {
                    "requests": [],
                    "violations": [f"fake_api: no record (exit code {self.proc.returncode})"],
                    "remaining": 0,
                    "problems": [],
                }
        return list(self.record["requests"]), list(self.record["violations"])

    @property
    def problems(self) -> list[str]:
        """Stops the child; its violations plus a note on leftover steps (unless allowed)."""
        self.stop()
        assert self.record is not None
        out = list(self.record["violations"])
        if self.record.get("remaining") and not self.allow_leftover:
            out.append(f"fake_api: {self.record['remaining']} scripted step(s) never requested")
        return out

    def __enter__(self) -> SubprocessServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_subprocess_server(
    steps: Iterable[Mapping[str, Any]],
    tmp_path: Path,
    *,
    max_lifetime: float = 600.0,
    apis: Iterable[Path] = (),
    **config: Any,
) -> SubprocessServer:
    """Start ``python tests/fake_api`` with these steps (and FakeDeepSeek settings) and wait for
    it; `apis` are files whose `API` it answers too (``--api``)."""
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "fake_api_script.json"
    record = tmp_path / "fake_api_record.json"
    script.write_text(
        json.dumps({"steps": validate_steps(steps), "config": config}), encoding="utf-8"
    )
    cmd = [
        sys.executable,
        str(_PACKAGE_DIR),
        "--script",
        str(script),
        "--record",
        str(record),
        "--max-lifetime",
        str(max_lifetime),
    ]
    for api in apis:
        cmd += ["--api", str(Path(api).resolve())]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(f"fake_api subprocess did not start (got {line!r})")
    return SubprocessServer(proc, int(line.split()[1]), record)
