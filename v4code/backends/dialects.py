"""What differs between engines serving DeepSeek V4, and nothing else.

Each dialect knows how its engine switches thinking on and off, how it takes the effort, and
under which field name it wants reasoning replayed on assistant messages. Sources: DeepSeek's
thinking-mode guide (api-docs.deepseek.com/guides/thinking_mode), vLLM's recipes and reasoning
outputs page, SGLang's V4 cookbook, llama.cpp's server README and Ollama's OpenAI compatibility
page (engines/sources.py has the addresses); where those leave a point open, a comment says
UNCONFIRMED. Which engine uses which dialect, and its reasoning field, is its record in
engines/table.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from v4code.engines.table import ENGINES


@dataclass(frozen=True)
class Dialect:
    name: str
    reasoning_field: str  # the field assistant messages carry their reasoning in, on input

    def switches(self, thinking: bool, effort: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(top-level request keywords, extra_body) for the thinking switch and effort."""
        raise NotImplementedError


class DeepSeekDialect(Dialect):
    def switches(self, thinking: bool, effort: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        # `thinking` is not an OpenAI parameter, so it travels in extra_body; the SDK merges it
        # into the top level of the JSON body. Effort only means something with thinking on.
        top: dict[str, Any] = {}
        if thinking and effort:
            top["reasoning_effort"] = effort
        return top, {"thinking": {"type": "enabled" if thinking else "disabled"}}


class TemplateKwargsDialect(Dialect):
    """vLLM and SGLang: thinking is a chat-template switch, off by default on both."""

    def switches(self, thinking: bool, effort: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"thinking": thinking}
        if thinking and effort:
            # vLLM's V4 recipe documents reasoning_effort inside chat_template_kwargs; for
            # SGLang the per-request effort knob is UNCONFIRMED (its docs name env variables).
            kwargs["reasoning_effort"] = effort
        return {}, {"chat_template_kwargs": kwargs}


class LlamaCppDialect(Dialect):
    def switches(self, thinking: bool, effort: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        # `--reasoning-format deepseek` puts thoughts in reasoning_content; the per-request
        # form is accepted by current llama-server builds. V4 support in mainline: UNCONFIRMED.
        return {}, {"chat_template_kwargs": {"thinking": thinking}, "reasoning_format": "deepseek"}


class OllamaDialect(Dialect):
    def switches(self, thinking: bool, effort: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        # Ollama's OpenAI endpoint takes reasoning_effort; "none" turns thinking off.
        return {"reasoning_effort": (effort or "high") if thinking else "none"}, {}


SWITCHES: dict[str, type[Dialect]] = {
    "deepseek": DeepSeekDialect,
    "chat-template": TemplateKwargsDialect,
    "llama.cpp": LlamaCppDialect,
    "ollama": OllamaDialect,
}
"""How an engine switches thinking and effort, by the `switches` its record names."""

DIALECTS: dict[str, Dialect] = {
    e.name: SWITCHES[e.switches](e.name, e.reasoning_field) for e in ENGINES.values()
}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; one of {', '.join(DIALECTS)}") from None
