"""`v4code engine probe`: ask a running server what v4code needs, and say what it answered.

Every request goes through v4code's own backend (the dialect's switches, the streaming parser,
the recovery of tool calls leaked as DSML or V3.1 text), with the raw chunks recorded on the
way so each verdict can quote its evidence: the field the thinking came in, whether usage
came at all, the model name the server answered with.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from v4code.backends.dialects import DIALECTS
from v4code.cancel import CancelToken
from v4code.engines.sources import OLLAMA_OPENAI, SOURCES
from v4code.errors import V4codeError
from v4code.events import ReasoningDelta, StreamFinish, TextDelta, ToolCallReady, UsageChunk
from v4code.types import ChatRequest, Message, ToolCall

PASS, WARN, FAIL = "pass", "warn", "fail"
PROBE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "probe_echo",
        "description": "Echo TEXT back. The probe asks for one call of it.",
        "parameters": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    },
}
ASK_PLAIN = "v4code engine probe: answer with one short sentence."
ASK_TOOL = "v4code engine probe: call the probe_echo tool with text ok."
UNKNOWN_MODEL = "v4code-probe-no-such-model"

# What to change on each engine, by finding (the engines' V4 pages in engines/sources.py).
FIXES: dict[str, dict[str, str]] = {
    "thinking": {
        "vllm": "start vLLM with --reasoning-parser deepseek_v4",
        "sglang": "start SGLang with --reasoning-parser deepseek-v4",
        "llamacpp": "start llama-server with --jinja --reasoning-format deepseek",
        "ollama": "use a model with thinking; Ollama maps it to `reasoning`",
        "deepseek": "use a thinking-capable model ID",
    },
    "tools": {
        "vllm": "start vLLM with --tool-call-parser deepseek_v4 --enable-auto-tool-choice",
        "sglang": "start SGLang with --tool-call-parser deepseekv4",
        "llamacpp": "start llama-server with --jinja (its native DeepSeek parser)",
        "ollama": "use a model whose template declares tools",
        "deepseek": "every V4 model ID calls tools on DeepSeek's API: check the model ID",
    },
    "switch": {
        "vllm": "vLLM takes chat_template_kwargs.thinking with the deepseek_v4 tokenizer mode",
        "sglang": "SGLang takes chat_template_kwargs.thinking with --reasoning-parser deepseek-v4",
        "llamacpp": "llama-server: --reasoning-budget 0 turns thinking off server-wide; the "
        "per-request chat_template_kwargs needs a current build",
        "ollama": "Ollama takes reasoning_effort none with a thinking model",
        "deepseek": "DeepSeek takes thinking: {type: disabled}",
    },
    "usage": {
        "vllm": "vLLM reports usage with stream_options.include_usage; cache fields need "
        "--enable-prompt-tokens-details (UNCONFIRMED)",
        "sglang": "upgrade SGLang: usage with stream_options.include_usage is expected",
        "llamacpp": "llama-server sends usage on the last chunk; llama-cpp-python's server "
        "does not: costs and cache hits stay unknown",
        "ollama": f"Ollama reports no cache fields ({SOURCES[OLLAMA_OPENAI]}): nothing to change",
        "deepseek": "nothing: DeepSeek always reports usage",
    },
}


ENGINE_NAMES = {"vllm": "vLLM", "sglang": "SGLang", "llamacpp": "llama.cpp", "ollama": "Ollama"}
"""The local engines, in the order advice for all of them names them."""


def hosted(base_url: str) -> bool:
    """Whether base_url is DeepSeek's own API (the one place the deepseek dialect names an
    engine: anywhere else it is a wire format some local engine happens to speak)."""
    host = urlsplit(base_url).hostname or ""
    return host == "deepseek.com" or host.endswith(".deepseek.com")


def fix_for(kind: str, engine: str | None) -> str:
    """What to change for a finding on the engine the user runs; for an engine the probe
    cannot name (a local server probed with the deepseek dialect), the change on each."""
    if engine is not None:
        return FIXES[kind][engine]
    return "; ".join(f"on {name}: {FIXES[kind][e]}" for e, name in ENGINE_NAMES.items())


@dataclass
class Check:
    name: str
    verdict: str  # pass, warn or fail
    evidence: str
    fix: str = ""


@dataclass
class ProbeReport:
    base_url: str
    dialect_tried: str
    dialect: str  # the dialect that works best, by the evidence
    model: str
    checks: list[Check] = field(default_factory=list)
    why: str = ""  # why `dialect` differs from `dialect_tried`, in the evidence's words

    @property
    def ok(self) -> bool:
        return all(c.verdict != FAIL for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass
class _Answer:
    """One probe request: the events the backend made and the raw chunks behind them."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    leaked: bool = False
    usage_raw: dict[str, Any] | None = None
    model: str | None = None
    finish: str | None = None
    error: str | None = None

    def reasoning_fields(self) -> list[str]:
        found = []
        for chunk in self.chunks:
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                for key in ("reasoning_content", "reasoning"):
                    if delta.get(key) and key not in found:
                        found.append(key)
        return found


class _Recording:
    """A transport wrapper that keeps every chunk it passes on."""

    def __init__(self, inner: Any, sink: list[dict[str, Any]]) -> None:
        self.inner = inner
        self.sink = sink

    @contextmanager
    def stream(self, body: dict[str, Any], **kwargs: Any) -> Iterator[Iterator[dict[str, Any]]]:
        with self.inner.stream(body, **kwargs) as chunks:
            yield self._tee(chunks)

    def _tee(self, chunks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for chunk in chunks:
            self.sink.append(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class Prober:
    def __init__(self, base_url: str, api_key: str, dialect: str, timeout: float) -> None:
        from v4code.backends.openai_compat import OpenAICompatBackend

        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.backends: dict[str, OpenAICompatBackend] = {}
        self.dialect = dialect

    def backend(self, dialect: str) -> Any:
        from v4code.backends.openai_compat import OpenAICompatBackend

        if dialect not in self.backends:
            self.backends[dialect] = OpenAICompatBackend(
                base_url=self.base_url,
                api_key=self.api_key,
                dialect=dialect,
                timeout=self.timeout,
                max_retries=0,
            )
        return self.backends[dialect]

    def ask(self, dialect: str, request: ChatRequest) -> _Answer:
        answer = _Answer()
        backend = self.backend(dialect)
        recording = _Recording(backend.transport(), answer.chunks)
        backend._transport = recording  # record this request's chunks
        try:
            for event in backend.stream(request, CancelToken()):
                if isinstance(event, ReasoningDelta):
                    answer.reasoning += event.text
                elif isinstance(event, TextDelta):
                    answer.text += event.text
                elif isinstance(event, ToolCallReady):
                    answer.calls.append(event.call)
                    answer.leaked = answer.leaked or event.leaked
                elif isinstance(event, UsageChunk):
                    pass
                elif isinstance(event, StreamFinish):
                    answer.finish, answer.model = event.finish_reason, event.model
        except V4codeError as exc:
            answer.error = exc.message
        finally:
            backend._transport = recording.inner
        for chunk in answer.chunks:
            if chunk.get("usage"):
                answer.usage_raw = chunk["usage"]
        return answer

    def models(self) -> tuple[list[dict[str, Any]] | None, str]:
        from v4code.backends.model_list import fetch_models

        return fetch_models(self.base_url, self.api_key, self.timeout)

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()


def guess_dialect(base_url: str, models: list[dict[str, Any]] | None) -> str:
    """A first guess from the address and what /models says of its owner."""
    parts = urlsplit(base_url)
    if hosted(base_url):
        return "deepseek"
    if parts.port == 11434:
        return "ollama"
    owners = {str(m.get("owned_by", "")).lower() for m in models or ()}
    pairs = (
        ("vllm", "vllm"),
        ("sglang", "sglang"),
        ("llamacpp", "llamacpp"),
        ("deepseek", "deepseek"),
    )
    for owner, dialect in pairs:
        if owner in owners:
            return dialect
    if owners & {"library", "ollama"}:
        return "ollama"
    return "llamacpp"


def _context(models: list[dict[str, Any]]) -> str:
    for m in models:
        for key in ("max_model_len", "context_length", "context_window", "n_ctx"):
            if isinstance(m.get(key), int):
                return f"{key}={m[key]}"
        meta = m.get("meta")
        if isinstance(meta, dict):
            for key in ("n_ctx", "n_ctx_train"):
                if isinstance(meta.get(key), int):
                    return f"meta.{key}={meta[key]}"
    return "not reported by /models"


def probe(
    base_url: str,
    *,
    api_key: str = "none",
    dialect: str | None = None,
    model: str | None = None,
    timeout: float = 60.0,
) -> ProbeReport:
    """Run every check against the server at base_url; never raises for what the server does."""
    prober = Prober(base_url, api_key, dialect or "deepseek", timeout)
    try:
        return _run(prober, dialect, model)
    finally:
        prober.close()


def _run(prober: Prober, dialect: str | None, model: str | None) -> ProbeReport:
    checks: list[Check] = []
    models, where = prober.models()
    tried = dialect or guess_dialect(prober.base_url, models)
    if models:
        ids = [str(m["id"]) for m in models]
        checks.append(
            Check("models", PASS, f"{where} lists {', '.join(ids)}; context {_context(models)}")
        )
        model = model or ids[0]
    else:
        checks.append(
            Check(
                "models",
                FAIL,
                where,
                "the server must answer GET /v1/models (base_url ends in /v1)",
            )
        )
        model = model or "deepseek-v4-flash"
    report = ProbeReport(prober.base_url, tried, tried, model, checks)
    # the advice names the engine the user runs (given or guessed), not the wire format chosen
    engine = None if tried == "deepseek" and not hosted(prober.base_url) else tried

    plain = prober.ask(tried, ChatRequest(model, (Message("user", ASK_PLAIN),), effort="high"))
    if plain.error is not None:
        checks.append(
            Check(
                "streaming",
                FAIL,
                plain.error,
                "check base_url, the model name and the engine's log",
            )
        )
        return report
    content_chunks = sum(
        1
        for c in plain.chunks
        for ch in c.get("choices") or ()
        if (ch.get("delta") or {}).get("content")
    )
    checks.append(
        Check(
            "streaming",
            PASS if plain.finish and plain.chunks else FAIL,
            f"{len(plain.chunks)} chunks ({content_chunks} with content), finish_reason={plain.finish}",
        )
    )
    fields = plain.reasoning_fields()
    if fields:
        checks.append(
            Check(
                "thinking",
                PASS,
                f"reasoning came back in delta.{' and delta.'.join(fields)} ({len(plain.reasoning)} chars)",
            )
        )
    else:
        leaked = "<think>" in plain.text or "</think>" in "".join(
            str((ch.get("delta") or {}).get("content") or "")
            for c in plain.chunks
            for ch in c.get("choices") or ()
        )
        evidence = "no reasoning_content or reasoning in any chunk"
        if leaked:
            evidence += "; <think> tags came inside the content"
        checks.append(Check("thinking", FAIL, evidence, fix_for("thinking", engine)))

    chosen = tried
    if fields and DIALECTS[tried].reasoning_field not in fields:
        chosen = next(
            d
            for d in ("vllm", "ollama", "sglang", "llamacpp", "deepseek")
            if DIALECTS[d].reasoning_field in fields
        )
        report.why = (
            f"the reasoning came in delta.{fields[0]}, the field the {chosen} dialect reads "
            f"and replays (the {tried} dialect uses {DIALECTS[tried].reasoning_field})"
        )
    off_request = ChatRequest(model, (Message("user", ASK_PLAIN),), thinking=False)
    off = prober.ask(chosen, off_request)
    if off.error is None and fields and off.reasoning_fields():
        # this dialect's switch is ignored: the first other dialect whose switch works wins
        same_field = [d for d in DIALECTS if d != chosen and DIALECTS[d].reasoning_field in fields]
        for candidate in same_field:
            retry = prober.ask(candidate, off_request)
            if retry.error is None and not retry.reasoning_fields():
                checks.append(
                    Check(
                        "thinking switch",
                        PASS,
                        f"the {chosen} dialect's switch was ignored; the {candidate} dialect's "
                        "switch turned thinking off",
                    )
                )
                switched = (
                    f"the {chosen} dialect's thinking switch was ignored; the {candidate} "
                    "dialect's switch turned thinking off"
                )
                report.why = f"{report.why}; then {switched}" if report.why else switched
                chosen = candidate
                break
        else:
            checks.append(
                Check(
                    "thinking switch",
                    FAIL,
                    f"thinking off with the {chosen} dialect's switch (and {', '.join(same_field)}), "
                    "reasoning still came back",
                    fix_for("switch", engine),
                )
            )
    elif off.error is not None:
        checks.append(
            Check(
                "thinking switch",
                FAIL,
                f"thinking off: {off.error}",
                f"the {chosen} dialect's switch was refused",
            )
        )
    elif not fields:
        checks.append(Check("thinking switch", WARN, "no thinking either way: nothing to switch"))
    else:
        checks.append(
            Check(
                "thinking switch", PASS, f"thinking off ({chosen} dialect): no reasoning came back"
            )
        )

    tool = prober.ask(
        chosen, ChatRequest(model, (Message("user", ASK_TOOL),), tools=(PROBE_TOOL,), effort="high")
    )
    if tool.error is not None:
        checks.append(Check("tool call", FAIL, tool.error, fix_for("tools", engine)))
    elif tool.calls and not tool.leaked:
        checks.append(
            Check(
                "tool call",
                PASS,
                f"structured call {tool.calls[0].name}({tool.calls[0].arguments})",
            )
        )
    elif tool.calls:
        checks.append(
            Check(
                "tool call",
                WARN,
                f"leaked as text and recovered by v4code: {tool.calls[0].name}({tool.calls[0].arguments}); "
                "the engine's tool-call parser is missing",
                fix_for("tools", engine),
            )
        )
    else:
        checks.append(
            Check(
                "tool call",
                FAIL,
                f"no tool call; the answer: {tool.text[:120]!r}",
                fix_for("tools", engine),
            )
        )

    call = tool.calls[0] if tool.calls else ToolCall("call_probe", "probe_echo", '{"text": "ok"}')
    history = (
        Message("user", ASK_TOOL),
        Message("assistant", tool.text or "", tool.reasoning or "probe reasoning", (call,)),
        Message("tool", "ok", tool_call_id=call.id),
    )
    back = prober.ask(chosen, ChatRequest(model, history, tools=(PROBE_TOOL,), effort="high"))
    field_name = DIALECTS[chosen].reasoning_field
    if back.error is not None:
        checks.append(
            Check(
                "reasoning replay",
                FAIL,
                f"{field_name} on the assistant message: {back.error}",
                "another --dialect may send the field this engine takes",
            )
        )
    else:
        checks.append(
            Check(
                "reasoning replay",
                PASS,
                f"the tool result with {field_name} on the assistant message was accepted; answer {back.text[:80]!r}",
            )
        )

    usage = plain.usage_raw
    if usage is None:
        checks.append(
            Check(
                "usage",
                FAIL,
                "no usage in the stream (stream_options.include_usage ignored)",
                fix_for("usage", engine),
            )
        )
    else:
        details = usage.get("prompt_tokens_details")
        cached = "prompt_cache_hit_tokens" in usage or (
            isinstance(details, dict) and "cached_tokens" in details
        )
        keys = ", ".join(sorted(k for k in usage if isinstance(k, str)))
        if cached:
            checks.append(Check("usage", PASS, f"usage with cache fields ({keys})"))
        else:
            checks.append(
                Check(
                    "usage",
                    WARN,
                    f"usage without cache hit/miss fields ({keys})",
                    fix_for("usage", engine),
                )
            )

    served = plain.model
    other = prober.ask(
        chosen,
        ChatRequest(UNKNOWN_MODEL, (Message("user", ASK_PLAIN),), thinking=False, max_tokens=8),
    )
    anything = other.error is None
    evidence = f"asked for {model!r}, the stream named {served!r}"
    evidence += (
        "; it also answers a model it does not serve"
        if anything
        else "; an unknown model name is refused"
    )
    checks.append(Check("model name", PASS if served else WARN, evidence))
    report.dialect = chosen
    return report


def render(report: ProbeReport) -> str:
    marks = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL"}
    out = [
        f"engine probe {report.base_url} (model {report.model}, dialect tried {report.dialect_tried})"
    ]
    for c in report.checks:
        out.append(f"  {marks[c.verdict]}  {c.name}: {c.evidence}")
        if c.fix and c.verdict != PASS:
            out.append(f"        fix: {c.fix}")
    if report.dialect != report.dialect_tried and report.why:
        out.append(f"dialect: {report.dialect} (not {report.dialect_tried}: {report.why})")
    else:
        out.append(f"dialect: {report.dialect}")
    return "\n".join(out)
