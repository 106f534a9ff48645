"""The public pages the engine figures, flags and advice are quoted from.

`engine plan`, `serve` and `probe` cite a source by its short name; the name and its address
are listed here once, so every citation a user reads leads to a page they can open.
"""

from __future__ import annotations

import re

VLLM_RECIPES = "vLLM recipes"
VLLM_REASONING = "vLLM reasoning outputs"
SGLANG_COOKBOOK = "SGLang V4 cookbook"
LLAMACPP_SERVER = "llama.cpp server README"
OLLAMA_OPENAI = "Ollama OpenAI compatibility"
VLLM_ASCEND = "vllm-ascend tutorials"
DYNAMO = "NVIDIA Dynamo V4 recipes"
V4_PRO_CARD = "DeepSeek-V4-Pro model card"
V4_FLASH_CARD = "DeepSeek-V4-Flash model card"
DEEPSEEK_PRICING = "DeepSeek models & pricing"

SOURCES: dict[str, str] = {
    VLLM_RECIPES: "https://github.com/vllm-project/recipes (models/deepseek-ai)",
    VLLM_REASONING: "https://docs.vllm.ai/en/stable/features/reasoning_outputs.html",
    SGLANG_COOKBOOK: "https://docs.sglang.io/cookbook/autoregressive/DeepSeek/DeepSeek-V4",
    LLAMACPP_SERVER: "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
    OLLAMA_OPENAI: "https://docs.ollama.com/api/openai-compatibility",
    VLLM_ASCEND: "https://docs.vllm.ai/projects/ascend",
    DYNAMO: "https://docs.nvidia.com/dynamo/ (recipes: deepseek-v4-pro, deepseek-v4-flash)",
    V4_PRO_CARD: "https://huggingface.co/deepseek-ai/DeepSeek-V4-Pro",
    V4_FLASH_CARD: "https://huggingface.co/deepseek-ai/DeepSeek-V4-Flash",
    DEEPSEEK_PRICING: "https://api-docs.deepseek.com/quick_start/pricing",
}


def cited(text: str) -> list[str]:
    """`name: address` for every source `text` names, in the table's order."""
    return [
        f"{name}: {url}"
        for name, url in SOURCES.items()
        if re.search(rf"(?<![\w-]){re.escape(name)}", text)
    ]
