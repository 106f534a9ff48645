"""Does a DeepSeek V4 model fit the given hardware, and how is it launched there.

The arithmetic: weights at the chosen precision, plus the KV cache for the context and the
concurrency, against the devices' memory less a runtime share. V4's KV-cache bytes per token
are not published in the V4 model cards or recipes, so without `--kv-bytes-per-token` or the model's
config.json the plan reports the memory left for the KV cache instead of claiming a fit for a
context it cannot compute.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from v4code.engines.hardware import (
    DEVICES,
    MODELS,
    QUANT_BITS,
    RECIPE_SETUPS,
    RUNTIME_SHARE,
    UNCONFIRMED,
    Device,
    ModelSpec,
)
from v4code.engines.launch import launch_commands
from v4code.engines.sources import VLLM_RECIPES, cited
from v4code.engines.table import LOCAL
from v4code.errors import ConfigError

GB = 1e9
ENGINES = tuple(e.name for e in LOCAL)
"""The engines a plan may name (`--engine`), from engines/table.py."""


@dataclass(frozen=True)
class PlanRequest:
    model: str = "flash"
    gpu: str = "h200"
    gpus: int = 1
    nodes: int = 1
    quant: str = "native"
    context: int | None = None
    concurrency: int = 1
    engine: str | None = None
    memory_gb: float | None = None  # per device; overrides the table (Apple, CPU, odd parts)
    kv_bytes_per_token: float | None = None
    config_json: Path | None = None


@dataclass
class Line:
    """One row of the arithmetic: what, how much, and where the number comes from."""

    what: str
    value: str
    source: str


@dataclass
class Plan:
    request: dict[str, Any]
    fits: bool
    lines: list[Line]
    engines: list[str]
    commands: dict[str, list[str]]  # engine -> shell lines (every node's, in order)
    notes: list[str] = field(default_factory=list)
    alternative: str | None = None
    alternative_commands: dict[str, list[str]] = field(default_factory=dict)
    serve: dict[str, Any] | None = None  # what `engine serve` runs: argv, port, model
    sources: list[str] = field(default_factory=list)  # "name: address" of every source cited

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def kv_from_config(path: Path) -> tuple[float, str]:
    """KV bytes per token from a model's config.json (MLA layout: latent + rope key per layer,
    one byte each with --kv-cache-dtype fp8). An upper bound for V4: its compressed attention
    (CSA/HCA) stores less; how much less is not published."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path} as a model config.json: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is not a model config.json (not an object)")
    raw = dict(raw)
    try:
        layers = int(raw["num_hidden_layers"])
        if "kv_lora_rank" in raw:
            per_layer = int(raw["kv_lora_rank"]) + int(raw.get("qk_rope_head_dim", 0))
            how = "MLA: layers x (kv_lora_rank + qk_rope_head_dim) x 1 byte (fp8)"
        else:
            heads = int(raw.get("num_key_value_heads") or raw["num_attention_heads"])
            head_dim = int(
                raw.get("head_dim", int(raw["hidden_size"]) // int(raw["num_attention_heads"]))
            )
            per_layer = 2 * heads * head_dim
            how = "layers x 2 x kv_heads x head_dim x 1 byte (fp8)"
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"{path}: needs num_hidden_layers and kv_lora_rank (or attention head counts)"
        ) from None
    return float(
        layers * per_layer
    ), f"{path.name}: {how}; an upper bound for V4's compressed attention"


def make_plan(req: PlanRequest) -> Plan:
    spec, device = _checked(req)
    lines, per_device, usable = _memory_lines(req, device)
    weights = _weights(req, spec, lines)
    context = req.context or int(spec.context.value)
    lines.append(
        Line(
            "context per sequence",
            f"{context:,} tokens",
            "--context" if req.context else spec.context.note(),
        )
    )
    kv_left = usable - weights
    lines.append(Line("left for KV cache", f"{kv_left:,.0f} GB", "usable - weights"))
    fits = _kv_lines(req, context, kv_left, lines)
    engines = _engines(req, device.family)
    notes = _notes(req, spec, device.family, engines)
    alternative, alternative_commands = None, {}
    if not fits:
        alternative, gpus, nodes = _alternative(req, weights, per_device)
        if nodes:
            alternative_commands = {
                e: launch_commands(e, spec.repo, gpus, nodes, context)[0] for e in engines
            }
    commands: dict[str, list[str]] = {}
    serve = None
    if fits:
        for engine in engines:
            commands[engine], argv = launch_commands(
                engine, spec.repo, req.gpus, req.nodes, context
            )
            if serve is None and argv is not None:
                serve = {"engine": engine, "argv": argv, "model": spec.repo}
    shown = [*commands.values(), *alternative_commands.values()]
    cites = " ".join([line.source for line in lines] + notes + [s for c in shown for s in c])
    return Plan(
        sources=cited(cites),
        request={k: str(v) if isinstance(v, Path) else v for k, v in asdict(req).items()},
        fits=fits,
        lines=lines,
        engines=engines,
        commands=commands,
        notes=notes,
        alternative=alternative,
        alternative_commands=alternative_commands,
        serve=serve,
    )


def _checked(req: PlanRequest) -> tuple[ModelSpec, Device]:
    """The model and device the request names; ConfigError for a name not in the tables."""
    spec = MODELS.get(req.model)
    if spec is None:
        raise ConfigError(f"unknown model {req.model!r}: flash or pro")
    device = DEVICES.get(req.gpu)
    if device is None:
        raise ConfigError(f"unknown --gpu {req.gpu!r}; one of {', '.join(DEVICES)}")
    if req.quant != "native" and req.quant not in QUANT_BITS:
        raise ConfigError(f"unknown --quant {req.quant!r}; native or {', '.join(QUANT_BITS)}")
    if req.engine is not None and req.engine not in ENGINES:
        raise ConfigError(f"unknown --engine {req.engine!r}; one of {', '.join(ENGINES)}")
    return spec, device


def _memory_lines(req: PlanRequest, device: Device) -> tuple[list[Line], float, float]:
    """The memory rows: per device, how many, what is usable; and those two figures."""
    count = req.gpus * req.nodes
    per_device = req.memory_gb if req.memory_gb is not None else device.memory_gb.value
    memory_source = "--memory" if req.memory_gb is not None else device.memory_gb.note()
    usable = count * per_device * RUNTIME_SHARE.value
    lines = [
        Line("memory per device", f"{per_device:g} GB", memory_source),
        Line("devices", f"{req.gpus} x {req.nodes} node(s) = {count}", "command line"),
        Line(
            "usable for weights + KV",
            f"{count} x {per_device:g} GB x {RUNTIME_SHARE.value:g} = {usable:,.0f} GB",
            RUNTIME_SHARE.note(),
        ),
    ]
    return lines, per_device, usable


def _weights(req: PlanRequest, spec: ModelSpec, lines: list[Line]) -> float:
    """The weights' GB at the requested precision, with its row added to `lines`."""
    if req.quant == "native":
        low, high = spec.native_weights_gb
        lines.append(
            Line(
                "weights (FP4 experts + FP8)",
                f"{low.value:g}-{high.value:g} GB; planned at {high.value:g}",
                high.note(),
            )
        )
        return high.value
    bits = QUANT_BITS[req.quant]
    weights = spec.total_params_b.value * bits / 8
    lines.append(
        Line(
            f"weights ({req.quant})",
            f"{spec.total_params_b.value:g}B params x {bits:g} bit / 8 = {weights:,.0f} GB",
            f"computed from {spec.total_params_b.note()}; no such checkpoint is published "
            f"in the V4 model cards: {UNCONFIRMED}",
        )
    )
    return weights


def _kv_lines(req: PlanRequest, context: int, kv_left: float, lines: list[Line]) -> bool:
    """Add the KV-cache rows; whether the KV cache fits (weights alone, when it is unknown)."""
    kv_bytes: float | None = req.kv_bytes_per_token
    kv_source = "--kv-bytes-per-token"
    if kv_bytes is None and req.config_json is not None:
        kv_bytes, kv_source = kv_from_config(req.config_json)
    if kv_bytes is None:
        lines.append(
            Line(
                "KV cache",
                "not computed: V4's KV bytes per token are not published",
                f"{UNCONFIRMED}: pass --config config.json or --kv-bytes-per-token",
            )
        )
        return kv_left > 0
    need = kv_bytes * context * req.concurrency / GB
    lines.append(
        Line(
            "KV cache",
            f"{kv_bytes:,.0f} B/token x {context:,} x {req.concurrency} = {need:,.1f} GB",
            kv_source,
        )
    )
    if kv_left > 0 and kv_bytes > 0:
        lines.append(
            Line(
                "tokens the KV budget holds",
                f"{kv_left * GB / kv_bytes:,.0f} (all sequences together)",
                "left for KV / bytes per token",
            )
        )
    return kv_left > 0 and need <= kv_left


def _notes(req: PlanRequest, spec: ModelSpec, family: str, engines: list[str]) -> list[str]:
    """Whether the recipes name this setup, their recipes, and what no source confirms."""
    recipe = (req.model, req.gpu, req.gpus, req.nodes) in RECIPE_SETUPS
    notes = [
        "this setup is one the V4 recipes name"
        if recipe
        else f"this setup is not one the V4 recipes name: {UNCONFIRMED} that it runs"
    ]
    notes.extend(f"recipe: {r}" for r in spec.recipes)
    if req.model == "pro" and req.gpu == "h100":
        notes.append(
            f"V4-Pro on H100: {UNCONFIRMED} (not in the hardware list of the {VLLM_RECIPES})"
        )
    doubtful = [e for e in LOCAL if e.v4_unconfirmed]
    if any(family in e.families or e.name in engines for e in doubtful):
        names = " and ".join(e.label for e in doubtful)
        notes.append(
            f"{names} support for V4: {UNCONFIRMED} ({'; '.join(e.source for e in doubtful)})"
        )
    return notes


def _engines(req: PlanRequest, family: str) -> list[str]:
    if req.engine is not None:
        return [req.engine]
    return [e.name for e in LOCAL if family in e.families]


# Devices per node the plan proposes: powers of two up to a full node of 8, so the tensor- and
# data-parallel sizes divide the model's heads and experts evenly.
NODE_SIZES = (1, 2, 4, 8)


def _alternative(req: PlanRequest, weights: float, per_device: float) -> tuple[str, int, int]:
    """The nearest larger setup of the same devices that holds the weights with a KV margin of
    10% of them (a floor, not a computed KV size): one node with enough devices when a node of
    up to 8 does, else as few full nodes as hold them. Returns (text, devices per node, nodes)."""
    need = weights * 1.1
    device = per_device * RUNTIME_SHARE.value
    if device <= 0:
        return "no setup of these devices holds the weights", 0, 0
    devices = max(math.ceil(need / device), req.gpus * req.nodes + 1)
    single = next((n for n in NODE_SIZES if n >= max(devices, req.gpus)), None)
    if single is not None:
        gpus, nodes = single, 1
        where = f"1 node of {gpus}x {req.gpu}"
    else:
        gpus = max(NODE_SIZES[-1], req.gpus)
        nodes = math.ceil(devices / gpus)
        where = f"{nodes} nodes of {gpus}x {req.gpu}"
    return (
        f"{where} ({nodes * gpus * per_device:,.0f} GB) hold{'s' if nodes == 1 else ''} "
        f"the {weights:,.0f} GB of weights with room for KV cache: "
        f"`--gpus {gpus} --nodes {nodes}` (at least {devices} devices)",
        gpus,
        nodes,
    )


def render(plan: Plan) -> str:
    """The plan as text: the verdict, the arithmetic with sources, the commands, the notes."""
    r = plan.request
    head = f"DeepSeek V4-{str(r['model']).capitalize()} on {r['gpus']}x {r['gpu']}"
    if int(r["nodes"]) > 1:
        head += f" x {r['nodes']} nodes"
    out = [f"{head}: {'fits' if plan.fits else 'does NOT fit'}", ""]
    width = max(len(line.what) for line in plan.lines)
    for line in plan.lines:
        out.append(f"  {line.what.ljust(width)}  {line.value}    [{line.source}]")
    if plan.alternative:
        out += ["", f"Nearest setup that fits: {plan.alternative}"]
        for engine, lines in plan.alternative_commands.items():
            out += ["", f"{engine} on that setup:"]
            out += [f"  {line}" for line in lines]
    for engine, lines in plan.commands.items():
        out += ["", f"{engine}:"]
        out += [f"  {line}" for line in lines]
    if plan.notes:
        out += ["", "Notes:"]
        out += [f"  - {note}" for note in plan.notes]
    if plan.sources:
        out += ["", "Sources:"]
        out += [f"  {source}" for source in plan.sources]
    return "\n".join(out)
