"""The one secret scrubber: known secret values in every form a command or a log prints them."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest

from v4code.config import load_settings
from v4code.safety.redact import (
    Redactor,
    SealedRedactor,
    StreamScrubber,
    mask,
    redactor,
    secret_values,
)
from v4code.sessions import SessionLog, read_session

KEY = "sk-live-Zq9/+AbCdEfGh1234"


@pytest.mark.parametrize("prefix", ["", "u", "us", "use"])
def test_base64_at_any_alignment(prefix: str) -> None:
    scrub = Redactor([KEY])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(f"{prefix}:{KEY}:tail".encode()).decode()
        scrubbed = scrub(f"Authorization: Basic {text}")
        assert "[redacted]" in scrubbed
        # All but the (at most 2 + 2) characters shared with the neighbouring bytes are gone.
        kept = len(scrubbed) - len("Authorization: Basic [redacted]")
        assert kept <= len(text) - (len(KEY) * 4 // 3 - 4)


def test_plain_url_encoded_and_hex_forms() -> None:
    scrub = Redactor([KEY])
    raw = KEY.encode().hex()
    for form in (KEY, urllib.parse.quote(KEY, safe=""), urllib.parse.quote_plus(KEY), raw):
        assert scrub(f"x={form}&y=1") == "x=[redacted]&y=1"
    assert scrub(raw.upper()) == "[redacted]"


def test_short_values_and_ordinary_text_are_left_alone() -> None:
    scrub = Redactor(["none", "local"])
    assert not scrub
    assert scrub("none of the local tests") == "none of the local tests"


def test_the_sealed_scrubber_scrubs_as_the_redactor_and_holds_no_key() -> None:
    """A tool's context scrubs with a SealedRedactor: same result, and nothing in it to find."""
    other = "v4-env-secret-987654"
    plain, sealed = Redactor([KEY, other]), SealedRedactor([KEY, other])
    encoded = base64.b64encode(f"us:{KEY}:tail".encode()).decode()
    texts = [
        f"Authorization: Basic {encoded}",
        f"x={urllib.parse.quote(KEY, safe='')}&y={KEY.encode().hex().upper()}",
        f"{KEY}{KEY}{other} {KEY[:-1]} {other}{KEY[3:]}",
        "nothing secret here, sk-l and v4-e",
        "",
    ]
    for text in texts:
        assert sealed(text) == plain(text)
    held = repr(vars(sealed)) + "".join(map(repr, vars(sealed).values()))
    assert KEY not in held and KEY[4:] not in held and other[4:] not in held
    assert not SealedRedactor(["none"]) and SealedRedactor(["none"])("none") == "none"


def test_the_secrets_are_the_key_and_the_secret_variables() -> None:
    env = {"DEEPSEEK_API_KEY": "deepseek-env-key-1", "V4CODE_API_KEY": "short", "HOME": "/h"}
    assert secret_values("configured-key-123", env) == ["configured-key-123", "deepseek-env-key-1"]
    scrub = redactor(None, env)
    assert scrub("a deepseek-env-key-1 b /h") == "a [redacted] b /h"


def test_mask_shows_enough_to_tell_keys_apart() -> None:
    assert mask(KEY) == "sk-…1234"
    assert mask("short-key") == "****"
    assert mask(None) == "(not set)"


def test_session_logs_hold_no_form_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "env-key-abcdefgh")
    log = SessionLog.create(tmp_path, {"model": "m"}, KEY)
    encoded = base64.b64encode(f"user:{KEY}".encode()).decode()
    log.event({"output": f"{KEY} {encoded} {KEY.encode().hex()} env-key-abcdefgh"})
    text = log.path.read_text()
    assert KEY not in text and "env-key" not in text and KEY.encode().hex() not in text
    assert encoded[8:-8] not in text
    event = read_session(log.path).events[0]
    assert event["output"].count("[redacted]") == 4
    assert json.loads(text.splitlines()[0])["model"] == "m"


def test_config_show_masks_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v4code.config import describe

    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    rows = {name: shown for name, shown, _ in describe(load_settings(tmp_path, {}))}
    assert rows["api_key"] == "sk-…1234"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 40])
def test_a_secret_split_across_streamed_pieces_is_still_scrubbed(size: int) -> None:
    key = "sk-stream-0123456789abcdef"
    text = f"the key {key} and its hex {key.encode().hex()}, s k done"
    stream = StreamScrubber(Redactor([key]))
    pieces = [stream.feed(text[i : i + size]) for i in range(0, len(text), size)]
    shown = "".join(pieces) + stream.flush()
    assert key not in shown and key.encode().hex() not in shown
    assert shown == Redactor([key])(text)
    assert all(key[:8] not in piece for piece in pieces)  # nothing half-shown on the way
