"""Settings, layered: defaults < user file < project file < environment < flags.

The project file is used only once the user trusts the repository (safety/trust.py), and even
then never for what would let a repository take the user's key, sandbox or gate: those settings
come only from the user's own file, the environment or flags (`never_from_project`).

Model IDs, effort names and prices are configuration, not constants: DeepSeek changed all
three several times after the V4 launch. Every effective value remembers where it came from so
`v4code config show` can explain it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4code.choices import DIALECTS, EFFORTS
from v4code.choices import PERMISSION_MODES as PERMISSION_MODES  # re-exported for the store
from v4code.errors import ConfigError
from v4code.home import user_config_path as user_config_path  # re-exported: one import for
from v4code.home import user_home as user_home  # the many callers that also need settings
from v4code.project_rules import never_from_project as never_from_project
from v4code.safety.key_handoff import take_out
from v4code.safety.redact import add_secret_env, mask
from v4code.toml_tables import read_config_file

if TYPE_CHECKING:
    from v4code.project_layer import SessionLayers

MAX_COMMAND_TIMEOUT = 3600  # seconds; the run_command tool's ceiling too
DEFAULT_BASE_URL = "https://api.deepseek.com"
AUTO = "auto"
"""`model = "auto"`: the main loop starts on `flash_model` and escalates to `pro_model` on the
signals v4code.routing names."""

# USD per 1M tokens, off-peak; DeepSeek bills peak hours at `peak_multiplier` times these
# (pricing page, 2026-09-10 onwards). Override under [prices."MODEL"] in a config file.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "deepseek-v4-pro": {"hit": 0.022, "miss": 0.66, "output": 1.98},
    "deepseek-flash": {"hit": 0.003, "miss": 0.15, "output": 0.60},
    "deepseek-v4-flash": {"hit": 0.003, "miss": 0.15, "output": 0.60},
}


@dataclass(frozen=True)
class Settings:
    """Every setting v4code reads; the attribute docstrings double as `config show` help."""

    model: str = "deepseek-v4-pro"
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    dialect: str = "deepseek"
    transport: str = "stdlib"  # "stdlib" (http.client, starts at once) or "sdk" (the openai SDK)
    thinking: bool = True
    effort: str | None = "high"
    show_thinking: bool = False  # the chat streams thinking in full instead of one folded line
    max_tokens: int | None = None
    context_window: int = 1_048_576
    permission_mode: str = "ask"
    sandbox: bool = True
    sandbox_allow_read: tuple[str, ...] = ()  # paths under $HOME a sandboxed command may read
    allow_destructive: bool = False  # `run` lets commands the guard flags through unasked
    secret_files: tuple[str, ...] = ()  # globs of more files read only with approval
    allow_secrets: bool = False  # read secret files (.env, keys) without asking, `run` too
    max_steps: int = 100
    max_cost: float | None = None
    max_time: float | None = None
    repeat_limit: int = 3
    request_timeout: float = 600.0
    mcp_startup_wait: float = 10.0  # seconds the first request waits for MCP servers starting
    max_retries: int = 5
    retry_base_delay: float = 1.0
    retry_max_delay: float = 60.0
    command_timeout: int = 120
    output_cap: int = 30_000
    peak_multiplier: float = 2.0
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    review_model: str = "deepseek-flash"  # the commit gate and `v4code review`
    pr_review_model: str = "deepseek-v4-pro"  # `v4code review --pr`: deeper than the gate
    subagent_model: str = "deepseek-flash"  # the model a child agent runs on
    compact_model: str | None = None  # summarises older turns; None: the session's own model
    compact_on_switch: bool = True  # a switch of model compacts first, when that pays
    fallback_model: str | None = None  # taken on overload or a model no longer served
    flash_model: str = "deepseek-flash"  # where `model = "auto"` starts
    pro_model: str = "deepseek-v4-pro"  # where `model = "auto"` escalates to
    test_command: str | None = None  # your tests; for `auto`, its failures count as pytest's do
    review_effort: str | None = "low"
    review_transport: str = "stdlib"  # the hook runs on every commit: skip the SDK's import
    review_skip: str = ""  # comma-separated globs `v4code review` leaves out
    compact_threshold: float = 0.8
    profile: str | None = None  # the [profiles.NAME] applied (flag --profile, V4CODE_PROFILE)
    repo_map_tokens: int = 1500  # the repo map sent with a session's first message; 0: none
    max_parallel_agents: int = 4  # child agents running at once; more calls wait their turn
    subagent_max_steps: int = 30  # model requests per child agent
    subagent_max_cost: float | None = 0.5  # USD per child, inside the turn's --max-cost
    subagent_max_time: float | None = 600.0  # seconds per child, inside the turn's --max-time
    diagnostics: bool = True  # a language server's new errors added to each edit's result
    diagnostics_timeout: float = 3.0  # seconds an edit waits for them at most
    lsp_python: tuple[str, ...] = ()  # the Python server's command; none: basedpyright-langserver
    lsp_typescript: tuple[str, ...] = ()  # TS/JS; none: typescript-language-server --stdio
    lsp_go: tuple[str, ...] = ()  # none: gopls
    lsp_rust: tuple[str, ...] = ()  # none: rust-analyzer

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class CommandDefaults:
    """A command's own defaults for settings (`v4code run`: full-auto, where the chat asks):
    they sit just above the built-in defaults, so every file, the environment and a flag
    given still beat them. A click option's `default=` would instead count as a flag."""

    command: str
    values: tuple[tuple[str, Any], ...]


RUN_DEFAULTS = CommandDefaults("v4code run", (("permission_mode", "full-auto"),))
"""`run` never waits for a person: edits applied, commands in the sandbox, unless a config
file, the environment or `--permission-mode` says otherwise."""


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    sources: dict[str, str]
    notices: tuple[str, ...] = ()  # one line each, for the user: what was ignored and why


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}
_DEFAULTS = {f.name: f.default for f in fields(Settings)}  # a factory's field: MISSING, unused


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    if value is None:
        return None
    try:
        if name == "prices":
            if not isinstance(value, dict):
                raise ValueError("a table of model -> {hit, miss, output}")
            return {str(k): {kk: float(vv) for kk, vv in v.items()} for k, v in value.items()}
        if name.startswith("lsp_") and isinstance(value, str):  # a command line
            import shlex

            return tuple(shlex.split(value))
        if kind.startswith("tuple"):
            items = value.split(os.pathsep) if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError("a list of paths")
            return tuple(i for i in items if i)
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError("true or false")
        if kind.startswith("int"):
            if isinstance(value, str) and value.strip().lower() in ("", "none"):
                return None
            return int(value)
        if kind.startswith("float"):
            if isinstance(value, str) and value.strip().lower() in ("", "none"):
                return None
            return float(value)
        if isinstance(value, (dict, list)):
            raise ValueError("a string")
        text = str(value)
        if name in ("effort", "review_effort"):  # "none" is an effort: thinking off
            return text.strip().lower() or None
        return None if "None" in kind and text.lower() in ("", "none") else text
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: setting {name!r} has an invalid value {value!r} ({exc})"
        ) from None


def project_config_path(root: Path) -> Path:
    return root / ".v4code" / "config.toml"


# Tables read by their own loaders (v4code.mcp.config, v4code.hooks), not settings.
EXTENSION_TABLES = frozenset({"mcp", "hooks", "profiles"})

# What a `[profiles.NAME]` table may set: an endpoint and how to talk to it. `key_env` names the
# environment variable holding the key (the key itself never sits in a profile); `prices` is
# one {hit, miss, output} table for the profile's model (zeros for a local engine); `serve` the
# command `v4code engine serve --profile NAME` starts again.
PROFILE_KEYS = frozenset(
    {
        "base_url",
        "dialect",
        "model",
        "key_env",
        "thinking",
        "effort",
        "context_window",
        "max_tokens",
        "prices",
        "transport",
        "request_timeout",
        "serve",
    }
)


def user_profiles(user: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The user's `[profiles.NAME]` tables; only the user's own file can hold them (`user`:
    that file already read)."""
    raw = (user_toml() if user is None else user).get("profiles", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{user_config_path()}: [profiles] must be a table of tables")
    profiles = {str(k): v for k, v in raw.items() if isinstance(v, dict)}
    for table in profiles.values():
        key_env = table.get("key_env")
        if isinstance(key_env, str) and key_env and not shared_variable(key_env):
            add_secret_env(key_env)  # every profile's key, used or not
            take_out(table["key_env"])
    return profiles


SHARED_VARIABLES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TERM", "LANG",
        "LANGUAGE", "TZ", "TMPDIR", "TMP", "TEMP", "DISPLAY", "WAYLAND_DISPLAY", "EDITOR",
        "VISUAL", "PAGER", "HOSTNAME", "MAIL", "SHLVL", "VIRTUAL_ENV", "SSH_AUTH_SOCK",
        "V4CODE_HOME",
    }
)  # fmt: skip
"""Variables every program reads that hold no key: a profile's `key_env` naming one would
take it out of every command's, hook's and server's environment and mask its value in all
v4code shows and writes (`key_env = "HOME"`: every command without a home)."""
_SHARED_PREFIXES = ("LC_", "LD_", "XDG_", "PYTHON", "DBUS_", "V4CODE_HANDOFF")


def shared_variable(key_env: str) -> bool:
    """Whether a profile's `key_env` names one of SHARED_VARIABLES: never taken for a key
    (it stays in every environment), and a profile using it is refused."""
    upper = key_env.upper()
    return upper in SHARED_VARIABLES or upper.startswith(_SHARED_PREFIXES)


def profile_layer(name: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings a profile stands for; ConfigError naming the profiles there are otherwise."""
    profiles = user_profiles(user)
    table = profiles.get(name)
    source = f"{user_config_path()} [profiles.{name}]"
    if table is None:
        known = ", ".join(sorted(profiles)) or "none; see `v4code profiles`"
        raise ConfigError(f"no profile {name!r} in {user_config_path()} (profiles: {known})")
    unknown = sorted(set(table) - PROFILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r} (known: {', '.join(sorted(PROFILE_KEYS))})"
        )
    layer = {k: v for k, v in table.items() if k not in ("key_env", "prices", "serve")}
    key_env = table.get("key_env")
    if key_env is not None:
        if not isinstance(key_env, str) or not key_env:
            raise ConfigError(f"{source}: key_env must name an environment variable")
        if shared_variable(key_env):
            raise ConfigError(
                f"{source}: key_env = {key_env!r} names a variable every program needs, "
                "not a key; name the variable that holds the endpoint's key"
            )
        layer["api_key"] = os.environ.get(key_env) or None
    elif "base_url" in table:
        layer["api_key"] = None  # another endpoint never receives the DeepSeek key
    prices = table.get("prices")
    if prices is not None:
        if not isinstance(prices, dict) or set(prices) - {"hit", "miss", "output"}:
            raise ConfigError(f"{source}: prices must be a table with hit, miss and output")
        model = str(table.get("model") or "*")
        layer["prices"] = {model: prices}
    if "model" in table:  # a local engine serves one model: every role runs on it
        layer["review_model"] = layer["subagent_model"] = table["model"]
        layer["pr_review_model"] = table["model"]
    layer["profile"] = name
    return layer


def user_toml() -> dict[str, Any]:
    """The user's config file as data ({} when there is none), read now: for the commands
    that edit or list it; a session reads it once, in its `SessionLayers`."""
    return read_config_file(user_config_path())[1]


def session_layers(root: Path, layers: SessionLayers | None) -> SessionLayers:
    """`layers`, or the user's file and `root`'s project layer read now (a one-off caller)."""
    if layers is not None:
        return layers
    from v4code.project_layer import read_layers

    return read_layers(root)


def _project_layer(layers: SessionLayers) -> tuple[dict[str, Any], list[str]]:
    """The project file's settings that may apply, and the notices on what was left out."""
    layer, notices = layers.project.config.table(), list(layers.project.notices)
    ignored = [k for k, v in layer.items() if never_from_project(str(k), v)]
    if ignored:
        notices.append(
            f"this repository's .v4code/config.toml sets {', '.join(ignored)}: ignored; "
            "these come only from your own config, the environment or flags"
        )
    return {k: v for k, v in layer.items() if k not in ignored}, notices


def _within_limits(
    layer: dict[str, Any], values: dict[str, Any], notices: list[str], source: str
) -> dict[str, Any]:
    """The project's settings without the limits it would raise above the user's (or the
    default), with a notice naming them: a repository may lower a limit, never lift it."""
    from v4code.project_rules import widens_limit

    raised = []
    for key, raw in layer.items():
        name = str(key).replace("-", "_")
        if name in _FIELD_TYPES and name not in EXTENSION_TABLES:
            current = values.get(name, _DEFAULTS.get(name))
            if widens_limit(name, _coerce(name, raw, source), current):
                raised.append(str(key))
    if raised:
        notices.append(
            f"this repository's .v4code/config.toml raises {', '.join(raised)}: ignored; "
            "a repository may lower a limit, never raise it"
        )
    return {k: v for k, v in layer.items() if k not in raised}


ENV_ALIASES = {
    "DEEPSEEK_API_KEY": "api_key",
    "DEEPSEEK_BASE_URL": "base_url",
}


def _env_layer() -> dict[str, tuple[str, str]]:
    """The settings the environment sets: name -> (raw value, the variable as its source)."""
    layer: dict[str, tuple[str, str]] = {}
    for var, name in ENV_ALIASES.items():
        if os.environ.get(var):
            layer[name] = (os.environ[var], f"env {var}")
    for var, raw in os.environ.items():
        if var.startswith("V4CODE_") and var != "V4CODE_HOME":
            name = var[len("V4CODE_") :].lower()
            if name in _FIELD_TYPES and name != "prices":
                layer[name] = (raw, f"env {var}")
    return layer


def load_settings(
    root: Path,
    flags: dict[str, Any] | None = None,
    layers: SessionLayers | None = None,
    *,
    defaults: CommandDefaults | None = None,
    flags_source: str = "command line",
) -> LoadedSettings:
    """Merge every layer; unknown keys are errors so a typo never silently does nothing.
    `layers`: the session's files, read when it opened (else read now). `defaults`: a
    command's own defaults (`run`'s full-auto), under every file: a flag with a default would
    count as given and beat them all. `flags_source` names where `flags` came from in errors
    and `config show` (an API caller never typed a command line)."""
    layers = session_layers(root, layers)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {f.name: "default" for f in fields(Settings)}

    def apply(layer: dict[str, Any], source: str) -> None:
        for key, raw in layer.items():
            if key in EXTENSION_TABLES:
                continue
            name = key.replace("-", "_")
            if name not in _FIELD_TYPES:
                known = ", ".join(sorted(_FIELD_TYPES))
                raise ConfigError(f"{source}: unknown setting {key!r} (known: {known})")
            value = _coerce(name, raw, source)
            if name == "prices":
                merged = dict(values.get("prices", DEFAULT_PRICES))
                merged.update(value)
                value = merged
            values[name] = value
            sources[name] = source

    if defaults is not None:
        apply(dict(defaults.values), f"default of {defaults.command}")
    user = layers.user.table()  # read once: the profiles come from it too
    with contextlib.suppress(ConfigError):  # a bad [profiles] matters when one is used
        user_profiles(user)  # their keys are secrets whichever profile is used
    apply(user, str(user_config_path()))
    project_layer, notices = _project_layer(layers)
    project_source = str(project_config_path(root))
    apply(_within_limits(project_layer, values, notices, project_source), project_source)
    for name, (raw, source) in _env_layer().items():
        apply({name: raw}, source)
    flags = dict(flags or {})
    profile = flags.pop("profile", None) or values.get("profile")
    if profile:
        apply(profile_layer(str(profile), user), f"profile {profile}")
    if flags:
        apply({k: v for k, v in flags.items() if v is not None}, flags_source)
    settings = Settings(**values)
    validate(settings, sources)
    if settings.effort == "none":  # the documented way to say thinking off
        settings = settings.replace(thinking=False, effort=None)
    return LoadedSettings(settings, sources, tuple(notices))


_INF = float("inf")
# (setting, lowest, highest, the range in words): a value outside is refused, not sent on.
_RANGES: tuple[tuple[str, float, float, str], ...] = (
    ("max_steps", 1, _INF, "at least 1"),
    ("max_parallel_agents", 1, 16, "1 to 16"),
    ("subagent_max_steps", 1, _INF, "at least 1"),
    ("subagent_max_cost", 0, _INF, "0 or more USD"),
    ("subagent_max_time", 0, _INF, "0 or more seconds"),
    ("repo_map_tokens", 0, 20_000, "0 (no map) to 20000"),
    ("command_timeout", 1, MAX_COMMAND_TIMEOUT, f"1 to {MAX_COMMAND_TIMEOUT} seconds"),
    ("max_tokens", 1, 393_216, "1 to 393216 (DeepSeek's output limit)"),
    ("max_cost", 0, _INF, "0 or more USD"),
    ("max_time", 0, _INF, "0 or more seconds"),
    ("context_window", 1, _INF, "at least 1 token"),
    ("compact_threshold", 0.05, 1, "a share of the context window, 0.05 to 1"),
    ("request_timeout", 0.001, _INF, "more than 0 seconds"),
    ("mcp_startup_wait", 0, 600, "0 to 600 seconds"),
    ("max_retries", 0, 100, "0 to 100"),
    ("repeat_limit", 1, _INF, "at least 1"),
    ("output_cap", 1000, _INF, "at least 1000 characters"),
    ("peak_multiplier", 0, _INF, "0 or more"),
    ("diagnostics_timeout", 0.1, 60, "0.1 to 60 seconds"),
)


def validate(settings: Settings, sources: dict[str, str] | None = None) -> None:
    """ConfigError for the first value v4code cannot use, naming where it came from (from
    `sources`, as `load_settings` recorded them), so the person knows which file to fix."""

    def bad(name: str, text: str) -> ConfigError:
        where = (sources or {}).get(name, "default")
        return ConfigError(text if where == "default" else f"{where}: {text}")

    if settings.permission_mode not in PERMISSION_MODES:
        raise bad(
            "permission_mode",
            f"permission_mode {settings.permission_mode!r} is not one of {', '.join(PERMISSION_MODES)}",
        )
    if settings.dialect not in DIALECTS:
        raise bad("dialect", f"dialect {settings.dialect!r} is not one of {', '.join(DIALECTS)}")
    for name in ("effort", "review_effort"):
        value = getattr(settings, name)
        if value is not None and value not in EFFORTS:
            raise bad(name, f"{name} {value!r} is not one of {', '.join(EFFORTS)}")
    for name in ("transport", "review_transport"):
        if getattr(settings, name) not in ("sdk", "stdlib"):
            raise bad(name, f"{name} {getattr(settings, name)!r} is not one of sdk, stdlib")
    for name, low, high, what in _RANGES:
        value = getattr(settings, name)
        if value is not None and not low <= value <= high:
            raise bad(name, f"{name} must be {what}, not {value!r}")
    if not settings.base_url.startswith(("http://", "https://")):
        raise bad("base_url", f"base_url {settings.base_url!r} must start with http:// or https://")


def describe(loaded: LoadedSettings) -> list[tuple[str, str, str]]:
    """(name, shown value, source) rows for `config show`; the API key is never shown whole."""
    rows = []
    for f in fields(Settings):
        value = getattr(loaded.settings, f.name)
        if f.name == "api_key":
            shown = mask(value)
        elif f.name == "prices":
            shown = "; ".join(
                f"{m}: hit {p.get('hit')}, miss {p.get('miss')}, out {p.get('output')}"
                for m, p in sorted(value.items())
            )
        else:
            shown = repr(value) if isinstance(value, str) else str(value)
        rows.append((f.name, shown, loaded.sources[f.name]))
    return rows


def session_models(settings: Settings) -> tuple[str, ...]:
    """Every model a session may send requests to, each priced by its own price: the main
    loop's (both of `auto`'s), the compaction's and the fallback."""
    main = (
        (settings.flash_model, settings.pro_model) if settings.model == AUTO else (settings.model,)
    )
    roles = (settings.compact_model, settings.fallback_model)
    return tuple(dict.fromkeys([*main, *(m for m in roles if m)]))


def check_cost_limit(settings: Settings) -> None:
    """A cost limit needs a price: with none known for a model the session may use it would
    never fire, so refuse to start rather than run unlimited (a `[prices."*"]` fallback counts
    as a price). `auto` is priced as the two models it routes between."""
    from v4code.pricing import price_for, unknown_price_message

    if settings.max_cost is None:
        return
    for model in session_models(settings):
        if price_for(model, settings.prices) is None:
            raise ConfigError(unknown_price_message(model))
