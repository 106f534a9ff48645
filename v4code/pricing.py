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


FALLBACK = "*"
"""The price entry (`[prices."*"]`) used for a model no other entry names."""


def price_for(model: str, prices: dict[str, dict[str, float]]) -> dict[str, float] | None:
    """Exact model name first, then the longest configured name it starts with, then the
    fallback entry; None when nothing prices the model (its cost is unknown, not zero)."""
    if model in prices:
        return prices[model]
    matches = [name for name in prices if name != FALLBACK and model.startswith(name)]
    if matches:
        return prices[max(matches, key=len)]
    return prices.get(FALLBACK)


def prompt_cost_estimate(cached: int, new: int, price: dict[str, float] | None) -> float | None:
    """A prompt's cost before it is sent: the re-used prefix at the cache-hit rate, the rest at
    the miss rate (off-peak: a lower bound, so a step is refused only when it surely overspends).
    None without a price."""
    if price is None:
        return None
    return (cached * price.get("hit", 0.0) + new * price.get("miss", 0.0)) / 1_000_000


def next_prompt_cost(price: dict[str, float] | None, last_prompt: int, cached: int) -> float | None:
    """The next prompt's cost alone, from the last one's size at the model's `price` (None:
    nothing to go by). `cached` is 0 after a switch of model: its cache starts cold."""
    if not last_prompt:
        return None
    cached = min(cached, last_prompt)
    return prompt_cost_estimate(cached, last_prompt - cached, price)


def price_usage(
    usage: Usage,
    models: tuple[str | None, ...],
    prices: dict[str, dict[str, float]],
    peak_multiplier: float = 2.0,
) -> tuple[float, bool]:
    """USD (to 1e-6) for a response, priced by the first of `models` with a price (the served
    model, then the configured one); (0.0, False) when none has one: the cost is unknown."""
    name = next((m for m in models if m and price_for(m, prices) is not None), None)
    if name is None:
        return 0.0, False
    return round(cost_of(usage, name, prices, peak_multiplier=peak_multiplier), 6), True


def unknown_price_message(model: str) -> str:
    return (
        f"no price is known for model {model!r}, so --max-cost cannot limit it; set one in "
        f'config.toml: [prices."{model}"] hit = ..., miss = ..., output = ... (USD per 1M '
        f'tokens), or a fallback for every model under [prices."*"]'
    )


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


def format_cost(usd: float | None, model: str | None = None) -> str:
    """One precision everywhere: 4 decimals under $1, 2 from $1 (so a growing total never
    jumps from $0.0095 to $0.01); None is a cost no price is known for."""
    if usd is None:
        return f"cost unknown (no price for {model})" if model else "cost unknown"
    if usd < 1:
        return f"${usd:.4f}"
    return f"${usd:.2f}"
