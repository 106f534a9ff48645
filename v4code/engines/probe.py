"""`v4code engine probe`: ask a running server what v4code needs, and say what it answered.

Every request goes through v4code's own backend with the raw chunks recorded on the way
(engines/prober.py), so each verdict can quote its evidence: the field the thinking came in,
whether usage came at all, the model name the server answered with. The checks run in order
(`CHECKS`, one function each), each reading what the earlier ones found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from v4code.backends.dialects import DIALECTS
from v4code.engines.prober import Answer, Prober
from v4code.engines.table import ENGINES, LOCAL
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


_LOCAL_FIRST = (*LOCAL, *(e for e in ENGINES.values() if not e.local))
"""Where a server could be either, it is taken for the local engine."""


def hosted(base_url: str) -> bool:
    """Whether base_url is DeepSeek's own API (the one place the deepseek dialect names an
    engine: anywhere else it is a wire format some local engine happens to speak)."""
    host = urlsplit(base_url).hostname or ""
    return host == "deepseek.com" or host.endswith(".deepseek.com")


def fix_for(kind: str, engine: str | None) -> str:
    """What to change for a finding (an `Advice` field: thinking, tools, switch, usage) on the
    engine the user runs; for an engine the probe cannot name (a local server probed with the
    deepseek dialect), the change on each local engine."""
    if engine is not None:
        return str(getattr(ENGINES[engine].advice, kind))
    return "; ".join(f"on {e.label}: {getattr(e.advice, kind)}" for e in LOCAL)


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


def guess_dialect(base_url: str, models: list[dict[str, Any]] | None) -> str:
    """A first guess from the address and what /models says of its owner."""
    if hosted(base_url):
        return "deepseek"
    port = urlsplit(base_url).port
    told = next((e.name for e in LOCAL if e.telling_port and e.port == port), None)
    if told is not None:
        return told
    owners = {str(m.get("owned_by", "")).lower() for m in models or ()}
    for engine in _LOCAL_FIRST:
        if owners & set(engine.owners):
            return engine.name
    return "llamacpp"  # the engine whose /models names no owner of its own


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
    prober = Prober(base_url, api_key, timeout)
    try:
        return _run(prober, dialect, model)
    finally:
        prober.close()


@dataclass
class _Probe:
    """What the checks share as they run in order: each reads what the earlier ones found.
    `report.dialect` is the dialect chosen so far; the checks that learn better change it."""

    prober: Prober
    report: ProbeReport
    engine: str | None  # the engine advice names: the one the user runs, given or guessed
    plain: Answer = field(default_factory=Answer)  # thinking on, no tools
    tool: Answer = field(default_factory=Answer)  # asked for a tool call

    @property
    def fields(self) -> list[str]:
        """Where the plain answer's reasoning came."""
        return self.plain.reasoning_fields()

    def add(self, name: str, verdict: str, evidence: str, fix: str = "") -> None:
        self.report.checks.append(Check(name, verdict, evidence, fix))

    def ask(self, request: ChatRequest, dialect: str | None = None) -> Answer:
        return self.prober.ask(dialect or self.report.dialect, request)


def _run(prober: Prober, dialect: str | None, model: str | None) -> ProbeReport:
    state = _start(prober, dialect, model)
    for check in CHECKS:
        if not check(state):
            break
    return state.report


def _start(prober: Prober, dialect: str | None, model: str | None) -> _Probe:
    """The models check, which names the model and the first dialect to try."""
    checks: list[Check] = []
    models, where = prober.models()
    tried = dialect or guess_dialect(prober.base_url, models)
    if models:
        ids = [str(m["id"]) for m in models]
        evidence = f"{where} lists {', '.join(ids)}; context {_context(models)}"
        checks.append(Check("models", PASS, evidence))
        model = model or ids[0]
    else:
        fix = "the server must answer GET /v1/models (base_url ends in /v1)"
        checks.append(Check("models", FAIL, where, fix))
        model = model or "deepseek-v4-flash"
    report = ProbeReport(prober.base_url, tried, tried, model, checks)
    # the advice names the engine the user runs (given or guessed), not the wire format chosen
    engine = None if tried == "deepseek" and not hosted(prober.base_url) else tried
    return _Probe(prober, report, engine)


def _streaming(s: _Probe) -> bool:
    """A plain question with thinking on streams an answer; nothing else is asked otherwise."""
    s.plain = s.ask(ChatRequest(s.report.model, (Message("user", ASK_PLAIN),), effort="high"))
    plain = s.plain
    if plain.error is not None:
        s.add("streaming", FAIL, plain.error, "check base_url, the model name and the engine's log")
        return False
    content_chunks = sum(
        1
        for c in plain.chunks
        for ch in c.get("choices") or ()
        if (ch.get("delta") or {}).get("content")
    )
    s.add(
        "streaming",
        PASS if plain.finish and plain.chunks else FAIL,
        f"{len(plain.chunks)} chunks ({content_chunks} with content), finish_reason={plain.finish}",
    )
    return True


def _thinking(s: _Probe) -> bool:
    """Reasoning came in a field of its own; the dialect that reads that field is chosen."""
    fields = s.fields
    if fields:
        where = " and delta.".join(fields)
        s.add(
            "thinking",
            PASS,
            f"reasoning came back in delta.{where} ({len(s.plain.reasoning)} chars)",
        )
    else:
        leaked = "<think>" in s.plain.text or "</think>" in "".join(
            str((ch.get("delta") or {}).get("content") or "")
            for c in s.plain.chunks
            for ch in c.get("choices") or ()
        )
        evidence = "no reasoning_content or reasoning in any chunk"
        if leaked:
            evidence += "; <think> tags came inside the content"
        s.add("thinking", FAIL, evidence, fix_for("thinking", s.engine))
    tried = s.report.dialect
    if fields and DIALECTS[tried].reasoning_field not in fields:
        chosen = next(e.name for e in _LOCAL_FIRST if e.reasoning_field in fields)
        s.report.why = (
            f"the reasoning came in delta.{fields[0]}, the field the {chosen} dialect reads "
            f"and replays (the {tried} dialect uses {DIALECTS[tried].reasoning_field})"
        )
        s.report.dialect = chosen
    return True


def _switch(s: _Probe) -> bool:
    """Thinking turns off with the chosen dialect's switch, or with another one's."""
    chosen, fields = s.report.dialect, s.fields
    off_request = ChatRequest(s.report.model, (Message("user", ASK_PLAIN),), thinking=False)
    off = s.ask(off_request)
    if off.error is not None:
        s.add(
            "thinking switch",
            FAIL,
            f"thinking off: {off.error}",
            f"the {chosen} dialect's switch was refused",
        )
    elif not fields:
        s.add("thinking switch", WARN, "no thinking either way: nothing to switch")
    elif not off.reasoning_fields():
        s.add("thinking switch", PASS, f"thinking off ({chosen} dialect): no reasoning came back")
    else:
        _other_switch(s, off_request)
    return True


def _other_switch(s: _Probe, off_request: ChatRequest) -> None:
    """The chosen dialect's switch is ignored: the first other dialect whose switch works wins."""
    chosen = s.report.dialect
    same_field = [d for d in DIALECTS if d != chosen and DIALECTS[d].reasoning_field in s.fields]
    for candidate in same_field:
        retry = s.ask(off_request, candidate)
        if retry.error is None and not retry.reasoning_fields():
            switched = (
                f"the {chosen} dialect's thinking switch was ignored; the {candidate} "
                "dialect's switch turned thinking off"
            )
            evidence = (
                f"the {chosen} dialect's switch was ignored; the {candidate} dialect's "
                "switch turned thinking off"
            )
            s.add("thinking switch", PASS, evidence)
            s.report.why = f"{s.report.why}; then {switched}" if s.report.why else switched
            s.report.dialect = candidate
            return
    s.add(
        "thinking switch",
        FAIL,
        f"thinking off with the {chosen} dialect's switch (and {', '.join(same_field)}), "
        "reasoning still came back",
        fix_for("switch", s.engine),
    )


def _tool_call(s: _Probe) -> bool:
    """A tool call comes back structured (leaked as text and recovered is a warning)."""
    request = ChatRequest(
        s.report.model, (Message("user", ASK_TOOL),), tools=(PROBE_TOOL,), effort="high"
    )
    s.tool = tool = s.ask(request)
    fix = fix_for("tools", s.engine)
    if tool.error is not None:
        s.add("tool call", FAIL, tool.error, fix)
    elif tool.calls and not tool.leaked:
        call = tool.calls[0]
        s.add("tool call", PASS, f"structured call {call.name}({call.arguments})")
    elif tool.calls:
        call = tool.calls[0]
        evidence = (
            f"leaked as text and recovered by v4code: {call.name}({call.arguments}); "
            "the engine's tool-call parser is missing"
        )
        s.add("tool call", WARN, evidence, fix)
    else:
        s.add("tool call", FAIL, f"no tool call; the answer: {tool.text[:120]!r}", fix)
    return True


def _replay(s: _Probe) -> bool:
    """The tool's result goes back with the reasoning in the dialect's field, and is taken."""
    tool = s.tool
    call = tool.calls[0] if tool.calls else ToolCall("call_probe", "probe_echo", '{"text": "ok"}')
    history = (
        Message("user", ASK_TOOL),
        Message("assistant", tool.text or "", tool.reasoning or "probe reasoning", (call,)),
        Message("tool", "ok", tool_call_id=call.id),
    )
    back = s.ask(ChatRequest(s.report.model, history, tools=(PROBE_TOOL,), effort="high"))
    field_name = DIALECTS[s.report.dialect].reasoning_field
    if back.error is not None:
        s.add(
            "reasoning replay",
            FAIL,
            f"{field_name} on the assistant message: {back.error}",
            "another --dialect may send the field this engine takes",
        )
    else:
        s.add(
            "reasoning replay",
            PASS,
            f"the tool result with {field_name} on the assistant message was accepted; answer {back.text[:80]!r}",
        )
    return True


def _usage(s: _Probe) -> bool:
    """The plain answer's stream carried usage, with the cache hit and miss fields."""
    usage = s.plain.usage_raw
    if usage is None:
        evidence = "no usage in the stream (stream_options.include_usage ignored)"
        s.add("usage", FAIL, evidence, fix_for("usage", s.engine))
        return True
    details = usage.get("prompt_tokens_details")
    cached = "prompt_cache_hit_tokens" in usage or (
        isinstance(details, dict) and "cached_tokens" in details
    )
    keys = ", ".join(sorted(k for k in usage if isinstance(k, str)))
    if cached:
        s.add("usage", PASS, f"usage with cache fields ({keys})")
    else:
        s.add(
            "usage",
            WARN,
            f"usage without cache hit/miss fields ({keys})",
            fix_for("usage", s.engine),
        )
    return True


def _model_name(s: _Probe) -> bool:
    """The stream names the model served; whether an unknown model name is refused."""
    served = s.plain.model
    other = s.ask(
        ChatRequest(UNKNOWN_MODEL, (Message("user", ASK_PLAIN),), thinking=False, max_tokens=8)
    )
    evidence = f"asked for {s.report.model!r}, the stream named {served!r}"
    evidence += (
        "; it also answers a model it does not serve"
        if other.error is None
        else "; an unknown model name is refused"
    )
    s.add("model name", PASS if served else WARN, evidence)
    return True


CHECKS: tuple[Callable[[_Probe], bool], ...] = (
    _streaming,
    _thinking,
    _switch,
    _tool_call,
    _replay,
    _usage,
    _model_name,
)
"""The checks after the models check, in the order they ask; one returning False ends the probe."""


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
