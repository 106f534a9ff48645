"""`v4code engine plan | serve | stop | status | probe` and `v4code profiles`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from v4code.commands import options, say
from v4code.engines.plan import ENGINES  # stdlib-only module: `--help` stays light
from v4code.errors import ConfigError

if TYPE_CHECKING:
    from v4code.engines.probe import ProbeReport


@click.group("engine")
def engine_group() -> None:
    """Plan, serve and probe a local engine (vLLM, SGLang, llama.cpp, Ollama) for V4."""


@engine_group.command("plan")
@click.option("--model", "model", default="flash", show_default=True, help="flash or pro.")
@click.option("--gpu", default="h200", show_default=True, help="Device kind (see --list).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True, help="Per node.")
@click.option(
    "--nodes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Machines, each with --gpus devices.",
)
@click.option(
    "--quant", default="native", show_default=True, help="native, bf16, fp8, int8, q8, fp4, q4."
)
@click.option("--context", type=click.IntRange(min=1), help="Tokens per sequence (default: 1M).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Sequences served at once (each holds its own KV cache).",
)
@click.option("--engine", type=click.Choice(ENGINES), help="Plan for this engine only.")
@click.option(
    "--memory", "memory_gb", type=click.FloatRange(min=1), help="GB per device (Apple, CPU)."
)
@click.option(
    "--kv-bytes-per-token", type=click.FloatRange(min=0), help="Make the KV arithmetic exact."
)
@click.option(
    "--config",
    "config_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The model's config.json, for the KV cache per token.",
)
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON (input to `engine serve`).")
@click.option(
    "--list", "list_devices", is_flag=True, help="List the device kinds and their memory."
)
def plan_command(as_json: bool, list_devices: bool, **request: object) -> None:
    """Check whether V4 fits the hardware, with the arithmetic and the launch commands."""
    from v4code.engines.hardware import DEVICES
    from v4code.engines.plan import PlanRequest, make_plan, render

    if list_devices:
        for device in DEVICES.values():
            say(
                f"{device.kind:10} {device.label:32} {device.memory_gb.value:g} GB  [{device.memory_gb.note()}]"
            )
        return
    plan = make_plan(PlanRequest(**request))  # type: ignore[arg-type]
    if as_json:
        click.echo(plan.to_json())
    else:
        say(render(plan))
    sys.exit(0 if plan.fits else 1)


@engine_group.command("serve")
@click.argument(
    "plan_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--gguf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve this GGUF with llama.cpp.",
)
@options.profile(
    "The profile to write (or to start again).", dest="name", default="local", show_default=True
)
@click.option("--port", type=click.IntRange(min=1, max=65535), help="Port on 127.0.0.1.")
@click.option(
    "--context", type=click.IntRange(min=256), default=32768, show_default=True, help="With --gguf."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=2, show_default=True, help="With --gguf."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for /v1/models.",
)
@click.option(
    "--detach", is_flag=True, help="Return once it answers; `v4code engine stop` ends it."
)
@click.option("--yes", is_flag=True, help="Start a plan's command without asking.")
@click.option(
    "--force", is_flag=True, help="Start a plan's command even if it is not a known engine."
)
def serve_command(
    plan_file: Path | None,
    gguf: Path | None,
    name: str,
    port: int | None,
    context: int,
    threads: int,
    timeout: float,
    detach: bool,
    yes: bool,
    force: bool,
) -> None:
    """Start a planned engine (PLAN_FILE from `engine plan --json`), a GGUF, or a served profile
    again; wait for /v1/models and write the profile.

    A plan file is a command to run: it is shown and asked about first (`--yes` skips the
    question), and one that is not a known engine is refused unless `--force`. The engine
    starts without v4code's API keys in its environment."""
    from v4code.engines.launch import PORTS
    from v4code.engines.serve import gguf_argv, serve

    _check_name(name)
    profile: dict[str, object] = {
        "thinking": True,
        "prices": {"hit": 0, "miss": 0, "output": 0},
    }
    if gguf is not None:
        port = port or PORTS["llamacpp"]
        argv = gguf_argv(gguf.resolve(), port, context, threads)
        profile.update(dialect="llamacpp", context_window=context)
    elif plan_file is not None:
        argv, port, engine, model = _plan_argv(plan_file, port)
        profile.update(dialect=engine, model=model)
    else:
        argv, port, profile = _profile_argv(name, port)
    resolved = _checked(argv, force=force, ask=plan_file is not None and not yes)
    base_url = f"http://127.0.0.1:{port}/v1"
    code = serve(
        name,
        resolved,
        base_url,
        profile,
        detach=detach,
        timeout=timeout,
        say=lambda t: say(t, err=True),
        as_planned=argv,
    )
    sys.exit(code)


def _checked(argv: list[str], *, force: bool, ask: bool) -> list[str]:
    """The engine's command with its program resolved, shown; refused when it is not a known
    engine (unless `force`) or, when `ask`, unless the person says yes (or passed --yes)."""
    import shlex

    from v4code.engines.serve import resolve_engine, unknown_engine
    from v4code.textio import one_line

    why = unknown_engine(argv)
    if why is not None and not force:
        raise ConfigError(
            f"{why}: refusing to run `{one_line(shlex.join(argv))}`; pass --force to run it anyway"
        )
    resolved = resolve_engine(argv, Path.cwd())
    shown = one_line(shlex.join(resolved))
    click.echo(f"engine command: {shown}", err=True)
    if not ask:
        return resolved
    if not sys.stdin.isatty():
        raise ConfigError("a plan file's command runs only when you agree: pass --yes to start it")
    if not click.confirm("Start it?", default=False, err=True):
        raise ConfigError("not started")
    return resolved


def _plan_argv(path: Path, port: int | None) -> tuple[list[str], int, str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        serve = data["serve"]
        argv, engine, model = list(serve["argv"]), str(serve["engine"]), str(serve["model"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{path} is not a fitting single-node plan from `v4code engine plan --json` "
            "(a multi-node plan is started by hand on each node)"
        ) from None
    if not all(isinstance(a, str) for a in argv) or "--port" not in argv:
        raise ConfigError(f"{path}: the plan's command is not a list of strings with --port")
    return argv, _set_port(argv, port), engine, model


def _profile_argv(name: str, port: int | None) -> tuple[list[str], int, dict[str, object]]:
    """The command a profile was served with (`serve` in its table), to start it again."""
    from v4code.config import user_profiles

    table = user_profiles().get(name) or {}
    argv = table.get("serve")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ConfigError(
            f"give a PLAN_FILE (`v4code engine plan --json > plan.json`) or --gguf FILE; "
            f"profile {name!r} has no `serve` command to start again"
        )
    profile = {k: v for k, v in table.items() if k not in ("serve", "base_url")}
    if "--port" not in argv:
        raise ConfigError(f"profile {name!r}: its `serve` command has no --port")
    return argv, _set_port(argv, port), profile


def _set_port(argv: list[str], port: int | None) -> int:
    """The port `argv` (which has --port) serves on, after setting it to `port` if given."""
    at = argv.index("--port") + 1
    if port is not None:
        argv[at] = str(port)
    return int(argv[at])


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ConfigError(f"profile name {name!r}: use letters, digits, - and _")


@engine_group.command("stop")
@click.argument("name", default="local")
def stop_command(name: str) -> None:
    """Stop an engine `engine serve --detach` started (by its profile name)."""
    from v4code.engines.serve import stop

    served = stop(name)
    say(f"stopped {name} (pid {served.pid})")


@engine_group.command("status")
def status_command() -> None:
    """List the engines v4code started, and whether each still runs."""
    from v4code.engines.serve import alive, load_state

    state = load_state()
    if not state:
        say("no engine started by v4code")
        return
    for name, served in state.items():
        running = "running" if alive(served.pid) else "exited"
        say(f"{name}  {running}  pid {served.pid}  {served.base_url}  log {served.log}")


@engine_group.command("probe")
@click.argument("url", required=False)
@options.profile("Probe this profile's endpoint.", dest="name")
@options.dialect("The dialect to try first.")
@options.model("The model name to ask for (default: the first served).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds each probe request may take.",
)
@click.option("--fix", is_flag=True, help="Write the dialect that works into the profile.")
@click.option("--json", "as_json", is_flag=True, help="The checks as JSON (ok, dialect, evidence).")
def probe_command(
    url: str | None,
    name: str | None,
    dialect: str | None,
    model: str | None,
    timeout: float,
    fix: bool,
    as_json: bool,
) -> None:
    """Check a running server for streaming, thinking, tool calls, reasoning replay and usage."""
    import os

    from v4code.config import DEFAULT_BASE_URL, profile_layer
    from v4code.engines.probe import probe, render

    api_key = "none"
    layer: dict[str, Any] = {}
    if name is not None:
        layer = profile_layer(name)
        url = url or layer.get("base_url")
        dialect = dialect or layer.get("dialect")
        model = model or layer.get("model")
        api_key = layer.get("api_key") or api_key
    if not url:
        raise ConfigError("give a URL (http://127.0.0.1:8000/v1) or --profile NAME")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} must start with http:// or https://")
    if fix and name is None:
        raise ConfigError("--fix writes into a profile: give --profile NAME")
    if api_key == "none" and url.rstrip("/") == DEFAULT_BASE_URL.rstrip("/"):
        api_key = os.environ.get("DEEPSEEK_API_KEY", "none")
    report = probe(url, api_key=api_key, dialect=dialect, model=model, timeout=timeout)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        say(render(report))
    if fix and name is not None:
        say(_fix_profile(name, layer.get("dialect"), report), err=as_json)
    sys.exit(0 if report.ok else 1)


def _fix_profile(name: str, before: object, report: ProbeReport) -> str:
    """Write the dialect that works into profile NAME and say what changed and why: the
    profile's dialect is the user's choice, so it never changes without a line saying so."""
    from v4code.config import user_config_path
    from v4code.engines.profile_file import set_profile_key

    after = report.dialect
    if before == after:
        return f"--fix: profile {name!r} keeps dialect {after!r}: nothing changed"
    path = user_config_path()
    set_profile_key(path, name, "dialect", after)
    if before is None:
        return f"--fix: profile {name!r} had no dialect; set dialect = {after!r} in {path}"
    why = f" because {report.why}" if report.why else ""
    return (
        f"--fix: profile {name!r}: dialect changed from {before!r} to {after!r}{why}; "
        f"to keep {before!r}, set it back in {path}"
    )


@click.command("profiles")
def profiles_command() -> None:
    """List the endpoint profiles in your config ([profiles.NAME])."""
    from v4code.config import user_config_path, user_profiles

    profiles = user_profiles()
    if not profiles:
        say(
            f"no profiles in {user_config_path()}; add a [profiles.NAME] table or run `v4code engine serve`"
        )
        return
    for name, table in sorted(profiles.items()):
        parts = [f"{k}={table[k]}" for k in ("base_url", "dialect", "model") if k in table]
        say(f"{name}  {'  '.join(parts)}")
