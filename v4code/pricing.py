"""Cost of a request from its usage: cache hits, cache misses and output are priced apart.

Prices are configuration (Settings.prices, USD per 1M tokens, off-peak). DeepSeek bills
01:00-04:00 and 06:00-10:00 UTC on weekdays at a peak rate (pricing page from 2026-09-10).
"""

from __future__ import annotations

from datetime import datetime, timezone

from v4code.types import Usage

PEAK_WINDOWS_UTC = ((1, 4), (6, 10))


def is_peak(moment: datetime) -> bool:
    utc = moment.astimezone(timezone.utc)
    if utc.weekday() >= 5:
        return False
    return any(start <= utc.hour < end for start, end in PEAK_WINDOWS_UTC)


def price_for(model: str, prices: dict[str, dict[str, float]]) -> dict[str, float] | None:
    """Exact model name first, then the longest configured name it starts with."""
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    return prices[max(matches, key=len)] if matches else None


def cost_of(
    usage: Usage,
    model: str,
    prices: dict[str, dict[str, float]],
    *,
    at: datetime | None = None,
    peak_multiplier: float = 2.0,
) -> float:
    """USD for one request; 0.0 for a model with no configured price (a local engine)."""
    price = price_for(model, prices)
    if price is None:
        return 0.0
    hits = usage.cache_hit_tokens
    misses = usage.cache_miss_tokens
    if hits + misses == 0:
        misses = usage.prompt_tokens
    total = (
        hits * price.get("hit", 0.0)
        + misses * price.get("miss", 0.0)
        + usage.completion_tokens * price.get("output", 0.0)
    ) / 1_000_000
    if is_peak(at or datetime.now(timezone.utc)):
        total *= peak_multiplier
    return total


def format_cost(usd: float) -> str:
    if usd == 0:
        return "$0.00"
    if usd < 0.01:
        return f"${usd:.4f}"
    return f"${usd:.2f}"
