"""What a repository's `.v4code/config.toml` may never set, trusted or not.

Settings a repository could use against its user: where the key goes, the key itself, the
sandbox, review gating. Names are matched by shape too, so a later endpoint, key or sandbox
setting is covered the day it is added. A leaf: the settings loader applies the rule, and the
trust summary shows what it leaves out, without either importing the other.
"""

from __future__ import annotations

from typing import Any

NEVER_FROM_PROJECT = frozenset(
    {
        "base_url",
        "api_key",
        "sandbox",
        "sandbox_allow_read",
        "allow_destructive",
        "review_skip",
        "secret_files",
        "allow_secrets",
        "profile",
        "profiles",
        "prices",  # a price of 0 would quietly switch --max-cost off
        "peak_multiplier",
    }
)
_NEVER_SUFFIXES = ("_url", "_key", "_key_env", "_endpoint")
_NEVER_PREFIXES = ("sandbox", "review_skip", "review_fail", "endpoint", "secret", "allow_", "lsp_")
PROJECT_PERMISSION_MODES = ("read-only", "ask")  # a project may narrow, never widen
LIMITS = frozenset(
    {
        "max_cost",
        "max_time",
        "max_steps",
        "max_tokens",
        "subagent_max_cost",
        "subagent_max_time",
        "subagent_max_steps",
        "max_parallel_agents",
        # what each request carries: a larger tool result, map or history costs on every step
        "output_cap",
        "repo_map_tokens",
        "context_window",
        "compact_threshold",
    }
)
"""What bounds a session's spending: a repository may lower each, never raise it (a higher
`max_cost` in its config would quietly lift the one in the user's)."""


def widens_limit(name: str, value: Any, current: Any) -> bool:
    """True when a repository's `value` for the limit `name` would raise `current`, what the
    user's config (or the default) set; None is no limit at all."""
    if name.replace("-", "_").lower() not in LIMITS:
        return False
    if value is None:
        return current is not None
    return current is not None and value > current


def never_from_project(name: str, value: Any = None) -> bool:
    """True for a setting a repository's `.v4code/config.toml` may not set, trusted or not."""
    name = name.replace("-", "_").lower()
    if name == "permission_mode":
        return str(value).strip().lower() not in PROJECT_PERMISSION_MODES
    return (
        name in NEVER_FROM_PROJECT
        or name.endswith(_NEVER_SUFFIXES)
        or name.startswith(_NEVER_PREFIXES)
        or "url" in name.split("_")
    )
