"""The launch command lines each engine needs for DeepSeek V4, from the engines' published V4
recipes (engines/sources.py has their addresses).

Flags the V4 recipes quote are used as quoted; the few generic engine flags they do not
quote (parallel sizes by name, ports) carry a `# UNCONFIRMED` comment in the printed line.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from v4code.engines.sources import (
    LLAMACPP_SERVER,
    OLLAMA_OPENAI,
    SGLANG_COOKBOOK,
    VLLM_RECIPES,
)

if TYPE_CHECKING:
    from v4code.engines.plan import PlanRequest

PORTS = {"vllm": 8000, "sglang": 30000, "llamacpp": 8080, "ollama": 11434}

# The V4 row of vLLM's recipe table (vLLM recipes).
VLLM_V4 = [
    "--trust-remote-code",
    "--tokenizer-mode", "deepseek_v4",
    "--tool-call-parser", "deepseek_v4",
    "--reasoning-parser", "deepseek_v4",
    "--enable-auto-tool-choice",
    "--kv-cache-dtype", "fp8",
    "--block-size", "256",
]  # fmt: skip
# SGLang's V4 parsers (SGLang V4 cookbook).
SGLANG_V4 = ["--reasoning-parser", "deepseek-v4", "--tool-call-parser", "deepseekv4"]
# llama-server's template and reasoning flags (llama.cpp server README).
LLAMACPP_V4 = ["--jinja", "--reasoning-format", "deepseek"]


def _line(argv: list[str], comment: str = "") -> str:
    text = shlex.join(argv)
    return f"{text}  # {comment}" if comment else text


def launch_commands(
    engine: str, repo: str, req: PlanRequest, context: int
) -> tuple[list[str], list[str] | None]:
    """(shell lines to show, argv `engine serve` can run on this machine or None)."""
    port = PORTS[engine]
    if engine == "vllm":
        return _vllm(repo, req, context, port)
    if engine == "sglang":
        return _sglang(repo, req, context, port)
    if engine == "llamacpp":
        argv = ["llama-server", "-m", "MODEL.gguf", *LLAMACPP_V4, "-c", str(context)]
        argv += ["--host", "127.0.0.1", "--port", str(port)]
        return [
            f"# a V4 GGUF conversion: llama.cpp's V4 support is UNCONFIRMED ({LLAMACPP_SERVER})",
            _line(argv),
        ], None
    lines = [
        f"# Ollama's OpenAI endpoint is http://localhost:11434/v1 ({OLLAMA_OPENAI});",
        "# a local V4 model in Ollama's library is UNCONFIRMED",
        "ollama serve",
    ]
    return lines, None


def _vllm(
    repo: str, req: PlanRequest, context: int, port: int
) -> tuple[list[str], list[str] | None]:
    argv = ["vllm", "serve", repo, *VLLM_V4, "--max-model-len", str(context)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    if req.nodes == 1:
        # the recipes' single-node DP+EP with --data-parallel-size N
        single = [*argv, "--data-parallel-size", str(req.gpus), "--enable-expert-parallel"]
        return [
            _line(
                single,
                f"--enable-expert-parallel: vLLM's EP flag, UNCONFIRMED in the {VLLM_RECIPES}",
            )
        ], single
    multi = [
        *argv,
        "--tensor-parallel-size", str(req.gpus),
        "--pipeline-parallel-size", str(req.nodes),
        "--enable-expert-parallel",
        "--distributed-executor-backend", "ray",
    ]  # fmt: skip
    lines = [
        "# on the head node:",
        "ray start --head --port 6379",
        "# on each of the other nodes:",
        "ray start --address HEAD_IP:6379",
        "# then on the head node, once `ray status` shows every GPU:",
        _line(multi, "multi-node TP x PP: vLLM's Ray launch, UNCONFIRMED for V4"),
    ]
    return lines, None


def _sglang(
    repo: str, req: PlanRequest, context: int, port: int
) -> tuple[list[str], list[str] | None]:
    argv = ["python", "-m", "sglang.launch_server", "--model-path", repo, "--trust-remote-code"]
    argv += [*SGLANG_V4, "--tp", str(req.gpus * req.nodes), "--context-length", str(context)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    if req.nodes == 1:
        return [
            _line(
                argv, f"--tp/--context-length: SGLang's flags, UNCONFIRMED in the {SGLANG_COOKBOOK}"
            )
        ], argv
    lines = [
        f"# thinking on by default: SGLANG_DEFAULT_THINKING=1 ({SGLANG_COOKBOOK}; partly UNCONFIRMED)"
    ]
    for rank in range(req.nodes):
        node = [*argv, "--nnodes", str(req.nodes), "--node-rank", str(rank)]
        node += ["--dist-init-addr", "HEAD_IP:5000"]
        lines += [f"# node {rank}{' (head)' if rank == 0 else ''}:", _line(node)]
    return lines, None
