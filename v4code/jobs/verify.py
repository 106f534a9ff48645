"""A batch run's verify command: filled in once per unit, run in the sandbox the unit's own
commands run in (its checkout the one writable place), its output scrubbed of secrets.

The verify command runs code the agent has just written (a `conftest.py`, a test, a build
script), so it gets what `run_command` gets: bubblewrap with its own PID namespace (it cannot
see the driver, whose environment holds the API key), no network, a private `/tmp`, an empty
`$HOME`, and an environment without v4code's secrets. Only the user's own `sandbox = false`
runs it unconfined. Its output goes to `verify.log`, `state.json` and the report, so it is
scrubbed like every other output.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from v4code.cancel import CancelToken
from v4code.jobs.manifest import fill
from v4code.safety.process import command_env, run_process
from v4code.safety.redact import redactor
from v4code.safety.sandbox import SandboxUnavailable, confined


@dataclass(frozen=True)
class Confinement:
    """How a run's commands are confined, from the user's own settings at the time the run
    is driven (never from run.json or a repository): in the sandbox unless they said not to."""

    sandbox: bool = True
    allow_read: tuple[str, ...] = ()
    source: str = "default"  # where the `sandbox` setting came from, for the notice
    api_key: str | None = field(default=None, repr=False, compare=False)

    def scrub(self, text: str, environ: Mapping[str, str] | None = None) -> str:
        """`text` without the configured key or any secret variable of `environ`."""
        return redactor(self.api_key, environ)(text)

    def shipped(self) -> dict[str, Any]:
        """What a Ray worker needs to confine its units alike (never the key)."""
        return {"sandbox": self.sandbox, "allow_read": list(self.allow_read)}

    @classmethod
    def from_shipped(cls, raw: Mapping[str, Any]) -> Confinement:
        return cls(bool(raw.get("sandbox", True)), tuple(raw.get("allow_read") or ()))


def confinement(root: Path, profile: str | None = None) -> Confinement:
    """The user's sandbox settings (a repository can set none of them) for a run in `root`."""
    from v4code.config import load_settings

    loaded = load_settings(root, {"profile": profile} if profile else None)
    settings = loaded.settings
    return Confinement(
        sandbox=settings.sandbox,
        allow_read=tuple(settings.sandbox_allow_read),
        source=loaded.sources.get("sandbox", "default"),
        api_key=settings.api_key,
    )


def shell_word(path: str) -> str:
    """A path as one shell word: quoted, and `./` in front of a leading dash, so a file named
    `--collect-only.py` reaches the command as a file, not an option."""
    return shlex.quote("./" + path if path.startswith("-") else path)


def test_paths(checkout: Path, paths: tuple[str, ...]) -> list[str]:
    """The tests of a unit: its paths that are tests, and `test_NAME.py` files for its modules
    (beside them or under tests/)."""
    found: list[str] = []
    for raw in paths:
        p = PurePosixPath(raw)
        if p.name.startswith("test_") or p.stem.endswith("_test"):
            found.append(raw)
            continue
        if p.suffix != ".py":
            continue
        for candidate in (p.parent / f"test_{p.name}", PurePosixPath("tests") / f"test_{p.name}"):
            if (checkout / candidate).is_file():
                found.append(str(candidate))
    return list(dict.fromkeys(found))


def verify_command(template: str, checkout: Path, paths: tuple[str, ...]) -> str:
    """`template` with `{tests}` and `{paths}` filled in one pass, each path one quoted word."""
    return fill(
        template,
        {
            "tests": " ".join(shell_word(p) for p in test_paths(checkout, paths)),
            "paths": " ".join(shell_word(p) for p in paths),
        },
    )


@dataclass
class VerifyRun:
    """One verify command's result; `output` starts with the command and is scrubbed."""

    exit_code: int | None = None
    output: str = ""
    timed_out: bool = False
    cancelled: bool = False
    duration: float = 0.0
    error: str = ""  # it could not run at all (the sandbox, the shell)

    @property
    def passed(self) -> bool:
        return not (self.error or self.timed_out or self.cancelled) and self.exit_code == 0

    def why(self) -> str:
        """Why it did not pass, in a few words."""
        if self.error:
            return self.error
        return "timed out" if self.timed_out else f"exit {self.exit_code}"


def run_verify(
    command: str,
    checkout: Path,
    confine: Confinement,
    timeout: float,
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
) -> VerifyRun:
    """Run `command` with `/bin/sh` in `checkout`, confined as `confine` says."""
    argv = ["/bin/sh", "-c", command]
    environ = dict(os.environ if env is None else env)
    start = time.monotonic()
    try:
        with confined(
            argv, checkout, sandbox=confine.sandbox, allow_read=confine.allow_read
        ) as final_argv:
            done = run_process(
                final_argv, cwd=checkout, timeout=timeout, cancel=cancel,
                env=command_env(base=environ),
            )  # fmt: skip
    except (SandboxUnavailable, OSError) as exc:
        why = f"could not start: {exc}"
        return VerifyRun(output=confine.scrub(f"$ {command}\n{why}\n", environ), error=why)
    return VerifyRun(
        exit_code=done.exit_code,
        output=confine.scrub(f"$ {command}\n{done.output}", environ),
        timed_out=done.timed_out,
        cancelled=done.cancelled,
        duration=time.monotonic() - start,
    )
