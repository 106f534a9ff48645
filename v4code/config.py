"""Settings, layered: defaults < user file < project file < environment < flags.

Model IDs, effort names and prices are configuration, not constants: DeepSeek changed all
three several times after the V4 launch. Every effective value remembers where it came from so
`v4code config show` can explain it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from v4code.errors import ConfigError

PERMISSION_MODES = ("read-only", "ask", "auto-edit", "full-auto")
DIALECTS = ("deepseek", "vllm", "sglang", "llamacpp", "ollama")
DEFAULT_BASE_URL = "https://api.deepseek.com"

# USD per 1M tokens, off-peak; DeepSeek bills peak hours at `peak_multiplier` times these
# (pricing page, 2026-09-10 onwards). Override under [prices."MODEL"] in a config file.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "deepseek-v4-pro": {"hit": 0.022, "miss": 0.66, "output": 1.98},
    "deepseek-flash": {"hit": 0.003, "miss": 0.15, "output": 0.60},
    "deepseek-v4-flash": {"hit": 0.003, "miss": 0.15, "output": 0.60},
}


def user_home() -> Path:
    """Where every user-level file lives; V4CODE_HOME moves all of them to one folder."""
    override = os.environ.get("V4CODE_HOME")
    if override:
        return Path(override).expanduser()
    import click

    return Path(click.get_app_dir("v4code"))


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
    max_steps: int = 100
    max_cost: float | None = None
    max_time: float | None = None
    repeat_limit: int = 3
    request_timeout: float = 600.0
    max_retries: int = 5
    retry_base_delay: float = 1.0
    retry_max_delay: float = 60.0
    command_timeout: int = 120
    output_cap: int = 30_000
    peak_multiplier: float = 2.0
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    review_model: str = "deepseek-flash"
    review_effort: str | None = "low"
    review_transport: str = "stdlib"  # the hook runs on every commit: skip the SDK's import
    review_skip: str = ""  # comma-separated globs `v4code review` leaves out
    compact_threshold: float = 0.8

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    sources: dict[str, str]


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    if value is None:
        return None
    try:
        if name == "prices":
            if not isinstance(value, dict):
                raise ValueError("a table of model -> {hit, miss, output}")
            return {str(k): {kk: float(vv) for kk, vv in v.items()} for k, v in value.items()}
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
        return None if "None" in kind and text.lower() in ("", "none") else text
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: setting {name!r} has an invalid value {value!r} ({exc})"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def user_config_path() -> Path:
    return user_home() / "config.toml"


def project_config_path(root: Path) -> Path:
    return root / ".v4code" / "config.toml"


ENV_ALIASES = {
    "DEEPSEEK_API_KEY": "api_key",
    "DEEPSEEK_BASE_URL": "base_url",
}


def load_settings(root: Path, flags: dict[str, Any] | None = None) -> LoadedSettings:
    """Merge every layer; unknown keys are errors so a typo never silently does nothing."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {f.name: "default" for f in fields(Settings)}

    def apply(layer: dict[str, Any], source: str) -> None:
        for key, raw in layer.items():
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

    for path in (user_config_path(), project_config_path(root)):
        if path.is_file():
            apply(_read_toml(path), str(path))
    env_layer: dict[str, Any] = {}
    env_sources: dict[str, str] = {}
    for var, name in ENV_ALIASES.items():
        if os.environ.get(var):
            env_layer[name] = os.environ[var]
            env_sources[name] = f"env {var}"
    for var, raw in os.environ.items():
        if var.startswith("V4CODE_") and var != "V4CODE_HOME":
            name = var[len("V4CODE_") :].lower()
            if name in _FIELD_TYPES and name != "prices":
                env_layer[name] = raw
                env_sources[name] = f"env {var}"
    for name, raw in env_layer.items():
        apply({name: raw}, env_sources[name])
    if flags:
        apply({k: v for k, v in flags.items() if v is not None}, "command line")
    settings = Settings(**values)
    validate(settings)
    return LoadedSettings(settings, sources)


def validate(settings: Settings) -> None:
    if settings.permission_mode not in PERMISSION_MODES:
        raise ConfigError(
            f"permission_mode {settings.permission_mode!r} is not one of {', '.join(PERMISSION_MODES)}"
        )
    if settings.dialect not in DIALECTS:
        raise ConfigError(f"dialect {settings.dialect!r} is not one of {', '.join(DIALECTS)}")
    for name in ("transport", "review_transport"):
        if getattr(settings, name) not in ("sdk", "stdlib"):
            raise ConfigError(f"{name} {getattr(settings, name)!r} is not one of sdk, stdlib")
    if settings.max_steps < 1:
        raise ConfigError("max_steps must be at least 1")
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url {settings.base_url!r} must start with http:// or https://")


def redact(value: str | None) -> str:
    if not value:
        return "(not set)"
    return f"{value[:3]}…{value[-4:]}" if len(value) > 12 else "****"


def describe(loaded: LoadedSettings) -> list[tuple[str, str, str]]:
    """(name, shown value, source) rows for `config show`; the API key is never shown whole."""
    rows = []
    for f in fields(Settings):
        value = getattr(loaded.settings, f.name)
        if f.name == "api_key":
            shown = redact(value)
        elif f.name == "prices":
            shown = "; ".join(
                f"{m}: hit {p.get('hit')}, miss {p.get('miss')}, out {p.get('output')}"
                for m, p in sorted(value.items())
            )
        else:
            shown = repr(value) if isinstance(value, str) else str(value)
        rows.append((f.name, shown, loaded.sources[f.name]))
    return rows
