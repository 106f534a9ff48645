"""Hardware and model figures as data, each with where it comes from.

`source` names the public page a figure is quoted from (engines/sources.py has the addresses);
a figure no V4 source gives is marked UNCONFIRMED with where it was taken from instead, so the
plan can say which of its numbers are facts and which are the usual vendor figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from v4code.engines.sources import (
    DEEPSEEK_PRICING,
    DYNAMO,
    SGLANG_COOKBOOK,
    V4_FLASH_CARD,
    V4_PRO_CARD,
    VLLM_ASCEND,
    VLLM_RECIPES,
)

UNCONFIRMED = "UNCONFIRMED"


@dataclass(frozen=True)
class Figure:
    """A number and its provenance; `confirmed` only when a published V4 source states it."""

    value: float
    source: str
    confirmed: bool

    def note(self) -> str:
        return self.source if self.confirmed else f"{UNCONFIRMED}: {self.source}"


def _vendor(value: float, what: str) -> Figure:
    return Figure(value, f"{what} (vendor datasheet; not in the V4 recipes)", False)


@dataclass(frozen=True)
class Device:
    kind: str
    label: str
    memory_gb: Figure  # usable memory per device; per machine for unified memory and CPU RAM
    family: str  # "nvidia", "amd", "ascend", "apple", "cpu"


DEVICES: dict[str, Device] = {
    d.kind: d
    for d in (
        Device("h200", "NVIDIA H200", _vendor(141, "H200: 141 GB HBM3e"), "nvidia"),
        Device("h100", "NVIDIA H100", _vendor(80, "H100 SXM: 80 GB HBM3"), "nvidia"),
        Device(
            "b200", "NVIDIA B200", _vendor(180, "B200: 180 GB HBM3e as DGX B200 lists it"), "nvidia"
        ),
        Device("a100-80", "NVIDIA A100 80GB", _vendor(80, "A100 80GB"), "nvidia"),
        Device("a100-40", "NVIDIA A100 40GB", _vendor(40, "A100 40GB"), "nvidia"),
        Device("mi300x", "AMD MI300X", _vendor(192, "MI300X: 192 GB HBM3"), "amd"),
        Device("rtx4090", "NVIDIA RTX 4090", _vendor(24, "RTX 4090: 24 GB GDDR6X"), "nvidia"),
        Device(
            "atlas-a3",
            "Huawei Atlas 800 A3 NPU",
            Figure(128, f"{VLLM_ASCEND} (Atlas 800 A3: 128 GB x 8)", True),
            "ascend",
        ),
        Device(
            "atlas-a2",
            "Huawei Atlas 800 A2 NPU",
            Figure(64, f"{VLLM_ASCEND} (Atlas 800 A2: 64 GB x 8)", True),
            "ascend",
        ),
        Device(
            "apple",
            "Apple M-series (unified memory)",
            _vendor(192, "M2/M3 Ultra top configuration: 192 GB; pass --memory for yours"),
            "apple",
        ),
        Device("cpu", "CPU RAM", _vendor(256, "a placeholder; pass --memory for yours"), "cpu"),
    )
}

# Runtime headroom: vLLM takes 90% of each GPU by default (--gpu-memory-utilization 0.9); the
# rest is CUDA context, activations and fragmentation. The same share is used for every engine.
RUNTIME_SHARE = Figure(0.9, "vLLM's default --gpu-memory-utilization; not in the V4 recipes", False)


@dataclass(frozen=True)
class ModelSpec:
    key: str
    repo: str
    total_params_b: Figure  # billions
    active_params_b: Figure
    native_weights_gb: tuple[Figure, Figure]  # (low, high) for the released FP4+FP8 checkpoint
    context: Figure  # tokens
    recipes: tuple[str, ...]  # setups the engines' published V4 recipes name


CONTEXT_1M = Figure(1_048_576, f"{DEEPSEEK_PRICING} (1M context; 1,048,576 tokens)", True)

MODELS: dict[str, ModelSpec] = {
    "flash": ModelSpec(
        "flash",
        "deepseek-ai/DeepSeek-V4-Flash",
        Figure(284, f"{V4_FLASH_CARD} (284B total)", True),
        Figure(13, f"{V4_FLASH_CARD} (13B active)", True),
        (
            Figure(160, f"{VLLM_RECIPES} (about 160-170 GB)", True),
            Figure(170, f"{VLLM_RECIPES} (about 160-170 GB)", True),
        ),
        CONTEXT_1M,
        (
            f"4x H200/B200/B300 DP+EP ({VLLM_RECIPES}; {DYNAMO})",
            f"4x B200/GB200/GB300/H200 ({SGLANG_COOKBOOK})",
            f"8x RTX PRO 6000, 1x DGX Station GB300, 2x DGX Spark TP2 ({VLLM_RECIPES})",
            f"1x Atlas 800 A3 or A2, w8a8 ({VLLM_ASCEND})",
        ),
    ),
    "pro": ModelSpec(
        "pro",
        "deepseek-ai/DeepSeek-V4-Pro",
        Figure(1600, f"{V4_PRO_CARD} (1.6T total)", True),
        Figure(49, f"{V4_PRO_CARD} (49B active)", True),
        (
            Figure(865, f"{VLLM_RECIPES} (about 865 GB on disk)", True),
            Figure(960, f"{VLLM_RECIPES} (about 960 GB of FP4+FP8 weights)", True),
        ),
        CONTEXT_1M,
        (
            f"8x H200 DP+EP ({VLLM_RECIPES}; context cap disputed: 800K in the guide, "
            f"200000 in the yaml, 86016 in Dynamo's FP8 recipe ({DYNAMO}))",
            f"8x B200/B300 TP+EP, 8x B200 NVFP4 full 1M context ({VLLM_RECIPES}; {DYNAMO})",
            f"2 nodes of 8x H200 with SGLang FP8 (16 GPUs; {SGLANG_COOKBOOK})",
            f"2x Atlas 800 A3 or 4x A2, w4a8 ({VLLM_ASCEND})",
        ),
    ),
}

# Bits per weight for --quant; "native" is the released checkpoint (FP4 experts, FP8 rest).
QUANT_BITS: dict[str, float] = {"bf16": 16, "fp8": 8, "int8": 8, "q8": 8.5, "fp4": 4, "q4": 4.5}

# Setups the published V4 recipes name as working: (model, device, devices per node, nodes).
RECIPE_SETUPS: frozenset[tuple[str, str, int, int]] = frozenset(
    {
        ("flash", "h200", 4, 1),
        ("flash", "b200", 4, 1),
        ("flash", "h200", 8, 1),
        ("flash", "b200", 8, 1),
        ("flash", "atlas-a3", 8, 1),
        ("flash", "atlas-a2", 8, 1),
        ("pro", "h200", 8, 1),
        ("pro", "b200", 8, 1),
        ("pro", "h200", 8, 2),
        ("pro", "atlas-a3", 8, 2),
        ("pro", "atlas-a2", 8, 4),
    }
)
