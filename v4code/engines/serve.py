"""`v4code engine serve | stop | status`: an engine as a child process v4code can find again.

The engine runs in its own process group with its output in a log file; what was started is
kept in `engines.json` in v4code's home so `engine stop` (from any shell) and `engine status`
find it. The profile of the served endpoint is written into the user's config.toml once the
server answers /v1/models.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from v4code.backends.model_list import fetch_models
from v4code.engines.table import LLAMACPP_V4, LOCAL
from v4code.errors import ConfigError, V4codeError
from v4code.safety.programs import find_program

INSTALL_HINTS = {
    name: hint
    for engine in LOCAL
    for name, hint in (*engine.programs.items(), *engine.modules.items())
}
"""How to install each program and `python -m` module an engine runs as (engines/table.py)."""


_DETACHED: list[subprocess.Popen[bytes]] = []


@dataclass
class Served:
    name: str  # the profile it serves
    pid: int
    argv: list[str]
    base_url: str
    log: str
    started: float


def state_path() -> Path:
    from v4code.config import user_home

    return user_home() / "engines.json"


def load_state() -> dict[str, Served]:
    path = state_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, entry in raw.items():
        with contextlib.suppress(TypeError):
            out[str(name)] = Served(**entry)
    return out


def save_state(state: dict[str, Served]) -> None:
    from v4code.edits.atomic import atomic_write

    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {name: asdict(s) for name, s in state.items()}
    atomic_write(path, json.dumps(data, indent=2).encode("utf-8"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


KNOWN_PROGRAMS = frozenset(name for engine in LOCAL for name in engine.programs)
"""Engines `engine plan` writes as a program name."""
KNOWN_MODULES = frozenset(name for engine in LOCAL for name in engine.modules)
"""Engines it writes as `python -m MODULE`."""
_PYTHONS = frozenset({"python", "python3"})


def unknown_engine(argv: list[str]) -> str | None:
    """Why `argv` is not one of the engines v4code plans, or None when it is one. A plan
    file can come with a repository: whatever else it names is a program to be trusted
    only on purpose (`--force`)."""
    if not argv:
        return "the command is empty"
    program = argv[0]
    if (program in _PYTHONS or program == sys.executable) and argv[1:2] == ["-m"]:
        if argv[2:3] and argv[2] in KNOWN_MODULES:
            return None
        return f"`{' '.join(argv[:3])}` is not a known engine ({', '.join(sorted(KNOWN_MODULES))})"
    if program in KNOWN_PROGRAMS:
        return None
    return f"{program!r} is not a known engine ({', '.join(sorted(KNOWN_PROGRAMS))})"


def resolve_engine(argv: list[str], workspace: Path | None) -> list[str]:
    """`argv` with its program found as every program v4code starts is (on PATH, never in
    the workspace); ConfigError, with how to install it, when it is not there."""

    program = argv[0]
    # v4code's own interpreter, or as v4code's own programs are: an absolute path (given on
    # purpose, `--force`) is kept unless it lies in the workspace
    found = sys.executable if program == sys.executable else find_program(program, workspace)
    if found is None:
        hint = INSTALL_HINTS.get(argv[0], f"install {argv[0]}")
        raise ConfigError(f"{argv[0]} is not on PATH (outside this directory): {hint}")
    why = _missing_module(argv)
    if why is not None:
        raise ConfigError(why)
    return [found, *argv[1:]]


def _missing_module(argv: list[str]) -> str | None:
    """For `python -m MODULE` run by v4code's interpreter: why MODULE is missing, or None."""
    if len(argv) >= 3 and argv[1] == "-m" and argv[0] == sys.executable:
        module = argv[2]
        top = module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            hint = INSTALL_HINTS.get(module, INSTALL_HINTS.get(top, f"pip install {top}"))
            return f"{module} is not installed in {sys.executable}: {hint}"
    return None


def gguf_argv(gguf: Path, port: int, context: int, threads: int) -> list[str]:
    """llama-server when it is on PATH, else llama-cpp-python's server (same flags' meaning)."""
    server = find_program("llama-server", Path.cwd())
    if server is not None:
        return [
            server, "-m", str(gguf), *LLAMACPP_V4,
            "-c", str(context), "-t", str(threads), "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(context), "--n_threads", str(threads),
    ]  # fmt: skip


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float) -> list[str]:
    """The served model IDs once /models answers; ConfigError if the engine exits first."""
    deadline = time.monotonic() + timeout
    why = f"GET {base_url.rstrip('/')}/models: no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"the engine exited with status {proc.returncode} before it answered")
        models, why = fetch_models(base_url, "none", timeout=2)  # "none": it was started keyless
        if models is not None:
            return [m["id"] for m in models]
        time.sleep(0.25)
    raise ConfigError(f"the engine did not list its models within {timeout:g} s: {why}")


def start(name: str, argv: list[str], base_url: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `argv` (its program already resolved) without v4code's secrets in its
    environment and in a PID namespace of its own, so it cannot read them from v4code."""
    from v4code.safety.isolation import isolated
    from v4code.safety.process import command_env

    state = load_state()
    running = state.get(name)
    if running is not None and alive(running.pid):
        raise ConfigError(
            f"engine {name!r} is already running (pid {running.pid}); `v4code engine stop {name}`"
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            isolated(argv, outlive=True), env=command_env(),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop ends every child it made
        )  # fmt: skip
    state[name] = Served(name, proc.pid, argv, base_url, str(log), time.time())
    save_state(state)
    return proc


def stop(name: str, grace: float = 10.0) -> Served:
    """Stop what `engine serve` started under NAME (its whole process group)."""
    state = load_state()
    served = state.get(name)
    if served is None:
        known = ", ".join(state) or "none"
        raise ConfigError(f"no engine {name!r} was started by v4code (running: {known})")
    _terminate(served.pid, grace)
    del state[name]
    save_state(state)
    return served


def _terminate(pid: int, grace: float) -> None:
    from v4code.safety.process import stop_group

    stop_group(pid, grace)


def log_tail(path: str, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def serve(
    name: str,
    argv: list[str],
    base_url: str,
    profile: dict[str, Any],
    *,
    detach: bool,
    timeout: float,
    say: Any,
    as_planned: list[str] | None = None,
) -> int:
    """Start, wait for /models, write the profile; then stay until Ctrl-C (unless detached).

    `argv` has its program resolved (resolve_engine); the profile keeps `as_planned` (the
    command before that), so starting it again resolves the program again."""
    from v4code.config import user_config_path, user_home
    from v4code.engines.profile_file import write_profile

    log = user_home() / "logs" / f"engine-{name}.log"
    proc = start(name, argv, base_url, log)
    say(f"started {argv[0]} (pid {proc.pid}); log: {log}")
    keep = False
    try:
        ids = wait_ready(base_url, proc, timeout)
        spec = {**profile, "base_url": base_url, "serve": as_planned or argv}
        if ids and not spec.get("model"):
            spec["model"] = ids[0]
        write_profile(user_config_path(), name, spec)
        say(
            f"serving {', '.join(ids) or '?'} at {base_url}; profile {name!r} written to {user_config_path()}"
        )
        say(f"use it: v4code --profile {name}   stop it: v4code engine stop {name}")
        if detach:
            keep = True
            _DETACHED.append(proc)  # it outlives this call; `engine stop` reaps it by pid
            return 0
        say("Ctrl-C stops the engine")
        while proc.poll() is None:
            time.sleep(0.5)
        say(f"the engine exited with status {proc.returncode}; log: {log}")
        return 1
    except KeyboardInterrupt:
        say("stopping the engine")
        return 130
    except V4codeError as exc:
        tail = log_tail(str(log))
        exc.message = f"{exc.message}\n{tail}" if tail else exc.message
        raise
    finally:
        if not keep:
            with contextlib.suppress(V4codeError):
                stop(name)
