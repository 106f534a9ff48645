"""GET /models: what an OpenAI-compatible server says it serves.

The chat checks a `/model` name against it and `v4code engine probe` reads owners and context
lengths from it. The request carries the key, so it follows no redirect: the key goes to the
configured endpoint and nowhere else.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from v4code.backends.transports import no_redirect_opener

MAX_BYTES = 4_000_000


def fetch_models(
    base_url: str, api_key: str, timeout: float
) -> tuple[list[dict[str, Any]] | None, str]:
    """The entries of the server's model list (each a dict with a string `id`) and the URL
    asked; or None and what went wrong, in one line naming the URL."""
    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    opener = no_redirect_opener()
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            data = json.loads(response.read(MAX_BYTES))
    except urllib.error.HTTPError as exc:
        return None, f"GET {url}: HTTP {exc.code}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"GET {url}: {exc}"
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None, f"GET {url}: no `data` list"
    return [m for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)], url
