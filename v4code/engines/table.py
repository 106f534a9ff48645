"""Every engine v4code speaks to, one record each: adding an engine is one entry in `ENGINES`.

Everything else reads the record: `choices.py` offers the names (`--dialect`, `--engine`),
`backends/dialects.py` builds each engine's dialect from `switches` and `reasoning_field`,
`engines/launch.py` writes the `launch` template out, `engine serve` knows and installs the
engine by `programs` and `modules`, `engine probe` guesses it by `owners` and `port` and
advises by `advice`. Flags and advice are quoted from the engines' V4 pages (engines/sources.py
has their addresses); what those pages leave open says UNCONFIRMED.

A leaf: it imports only engines/sources.py (a leaf too), so the ground layer may read it.
The records are named tuples, not dataclasses: `v4code --help` reads this table, and a
named tuple costs a fraction of a frozen dataclass to define.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from v4code.engines.sources import (
    LLAMACPP_SERVER,
    OLLAMA_OPENAI,
    SGLANG_COOKBOOK,
    SOURCES,
    VLLM_RECIPES,
)


class Advice(NamedTuple):
    """What to change on the engine, by what the probe found missing."""

    thinking: str  # no reasoning came back
    tools: str  # no structured tool call
    switch: str  # thinking would not turn off
    usage: str  # no usage, or usage without cache fields


class Launch(NamedTuple):
    """How `engine plan` writes the engine's command for V4. Every string may name {repo},
    {context}, {port}, {gpus} (per node), {nodes} and {devices} (gpus x nodes); `per_node`
    also {rank}. Without `many_nodes` or `per_node` a multi-node plan shows the one-node form."""

    argv: tuple[str, ...]
    one_node: tuple[str, ...] = ()  # appended on a single node
    comment: str = ""  # the single-node line's trailing comment
    notes: tuple[str, ...] = ()  # comment lines above the single-node form
    servable: bool = False  # `engine serve` may run the single-node command on this machine
    many_nodes: tuple[str, ...] = ()  # appended to the one command run on the head node
    many_comment: str = ""
    many_notes: tuple[str, ...] = ()  # lines above the multi-node form (how the nodes join)
    per_node: tuple[str, ...] = ()  # appended to each node's own command, one line per node


class Engine(NamedTuple):
    name: str  # the value of --dialect and --engine, and of a profile's `dialect`
    label: str  # as people write it
    switches: str  # how thinking and effort are switched: a key of backends/dialects.SWITCHES
    reasoning_field: str  # the field assistant messages carry their reasoning in, on input
    advice: Advice
    port: int | None = None  # its default port on 127.0.0.1; None for a hosted API
    telling_port: bool = False  # a server on `port` is taken to be this engine
    owners: tuple[str, ...] = ()  # `owned_by` values in GET /models that name it
    families: tuple[str, ...] = ()  # device families `engine plan` proposes it for
    launch: Launch | None = None
    programs: Mapping[str, str] = {}  # program -> how to install it
    modules: Mapping[str, str] = {}  # `python -m` module -> install
    v4_unconfirmed: bool = False  # its V4 support is not confirmed by its own pages
    source: str = ""  # the page (engines/sources.py) its flags are quoted from

    @property
    def local(self) -> bool:
        return self.port is not None


# Flags the V4 pages quote; llama.cpp's also serve a GGUF (`engine serve --gguf`).
VLLM_V4 = (
    "--trust-remote-code",
    "--tokenizer-mode", "deepseek_v4",
    "--tool-call-parser", "deepseek_v4",
    "--reasoning-parser", "deepseek_v4",
    "--enable-auto-tool-choice",
    "--kv-cache-dtype", "fp8",
    "--block-size", "256",
)  # fmt: skip
SGLANG_V4 = ("--reasoning-parser", "deepseek-v4", "--tool-call-parser", "deepseekv4")
LLAMACPP_V4 = ("--jinja", "--reasoning-format", "deepseek")
_BIND = ("--host", "127.0.0.1", "--port", "{port}")

DEEPSEEK = Engine(
    "deepseek",
    "DeepSeek",
    switches="deepseek",
    reasoning_field="reasoning_content",
    owners=("deepseek",),
    advice=Advice(
        thinking="use a thinking-capable model ID",
        tools="every V4 model ID calls tools on DeepSeek's API: check the model ID",
        switch="DeepSeek takes thinking: {type: disabled}",
        usage="nothing: DeepSeek always reports usage",
    ),
)

VLLM = Engine(
    "vllm",
    "vLLM",
    switches="chat-template",
    reasoning_field="reasoning",
    port=8000,
    owners=("vllm",),
    families=("nvidia", "amd", "ascend"),
    source=VLLM_RECIPES,
    advice=Advice(
        thinking="start vLLM with --reasoning-parser deepseek_v4",
        tools="start vLLM with --tool-call-parser deepseek_v4 --enable-auto-tool-choice",
        switch="vLLM takes chat_template_kwargs.thinking with the deepseek_v4 tokenizer mode",
        usage="vLLM reports usage with stream_options.include_usage; cache fields need "
        "--enable-prompt-tokens-details (UNCONFIRMED)",
    ),
    programs={
        "vllm": "pip install vllm (a CUDA machine; V4 needs vLLM 0.20.0 or later: "
        "https://github.com/vllm-project/recipes)"
    },
    launch=Launch(
        # the V4 row of the recipe table; on one node the recipes' DP+EP
        argv=("vllm", "serve", "{repo}", *VLLM_V4, "--max-model-len", "{context}", *_BIND),
        one_node=("--data-parallel-size", "{gpus}", "--enable-expert-parallel"),
        comment=f"--enable-expert-parallel: vLLM's EP flag, UNCONFIRMED in the {VLLM_RECIPES}",
        servable=True,
        many_nodes=(
            "--tensor-parallel-size",
            "{gpus}",
            "--pipeline-parallel-size",
            "{nodes}",
            "--enable-expert-parallel",
            "--distributed-executor-backend",
            "ray",
        ),  # fmt: skip
        many_comment="multi-node TP x PP: vLLM's Ray launch, UNCONFIRMED for V4",
        many_notes=(
            "# on the head node:",
            "ray start --head --port 6379",
            "# on each of the other nodes:",
            "ray start --address HEAD_IP:6379",
            "# then on the head node, once `ray status` shows every GPU:",
        ),
    ),
)

SGLANG = Engine(
    "sglang",
    "SGLang",
    switches="chat-template",
    reasoning_field="reasoning_content",
    port=30000,
    owners=("sglang",),
    families=("nvidia", "amd"),
    source=SGLANG_COOKBOOK,
    advice=Advice(
        thinking="start SGLang with --reasoning-parser deepseek-v4",
        tools="start SGLang with --tool-call-parser deepseekv4",
        switch="SGLang takes chat_template_kwargs.thinking with --reasoning-parser deepseek-v4",
        usage="upgrade SGLang: usage with stream_options.include_usage is expected",
    ),
    modules={"sglang.launch_server": 'pip install "sglang[all]"'},
    launch=Launch(
        argv=(
            "python",
            "-m",
            "sglang.launch_server",
            "--model-path",
            "{repo}",
            "--trust-remote-code",
            *SGLANG_V4,
            "--tp",
            "{devices}",
            "--context-length",
            "{context}",
            *_BIND,
        ),  # fmt: skip
        comment=f"--tp/--context-length: SGLang's flags, UNCONFIRMED in the {SGLANG_COOKBOOK}",
        servable=True,
        many_notes=(
            f"# thinking on by default: SGLANG_DEFAULT_THINKING=1 ({SGLANG_COOKBOOK}; "
            "partly UNCONFIRMED)",
        ),
        per_node=(
            "--nnodes",
            "{nodes}",
            "--node-rank",
            "{rank}",
            "--dist-init-addr",
            "HEAD_IP:5000",
        ),  # fmt: skip
    ),
)

LLAMACPP = Engine(
    "llamacpp",
    "llama.cpp",
    switches="llama.cpp",
    reasoning_field="reasoning_content",
    port=8080,
    owners=("llamacpp",),
    families=("apple", "cpu"),
    source=LLAMACPP_SERVER,
    v4_unconfirmed=True,
    advice=Advice(
        thinking="start llama-server with --jinja --reasoning-format deepseek",
        tools="start llama-server with --jinja (its native DeepSeek parser)",
        switch="llama-server: --reasoning-budget 0 turns thinking off server-wide; the "
        "per-request chat_template_kwargs needs a current build",
        usage="llama-server sends usage on the last chunk; llama-cpp-python's server "
        "does not: costs and cache hits stay unknown",
    ),
    programs={
        "llama-server": "build llama.cpp (https://github.com/ggml-org/llama.cpp) or "
        'pip install "llama-cpp-python[server]"'
    },
    modules={
        "llama_cpp.server": 'pip install "llama-cpp-python[server]" (builds llama.cpp: minutes)'
    },
    launch=Launch(
        argv=("llama-server", "-m", "MODEL.gguf", *LLAMACPP_V4, "-c", "{context}", *_BIND),
        notes=(
            f"# a V4 GGUF conversion: llama.cpp's V4 support is UNCONFIRMED ({LLAMACPP_SERVER})",
        ),
    ),
)

OLLAMA = Engine(
    "ollama",
    "Ollama",
    switches="ollama",
    reasoning_field="reasoning",
    port=11434,
    telling_port=True,
    owners=("library", "ollama"),
    families=("apple", "cpu"),
    source=OLLAMA_OPENAI,
    v4_unconfirmed=True,
    advice=Advice(
        thinking="use a model with thinking; Ollama maps it to `reasoning`",
        tools="use a model whose template declares tools",
        switch="Ollama takes reasoning_effort none with a thinking model",
        usage=f"Ollama reports no cache fields ({SOURCES[OLLAMA_OPENAI]}): nothing to change",
    ),
    programs={"ollama": "install Ollama from https://ollama.com"},
    launch=Launch(
        argv=("ollama", "serve"),
        notes=(
            f"# Ollama's OpenAI endpoint is http://localhost:{{port}}/v1 ({OLLAMA_OPENAI});",
            "# a local V4 model in Ollama's library is UNCONFIRMED",
        ),
    ),
)

ENGINES: dict[str, Engine] = {e.name: e for e in (DEEPSEEK, VLLM, SGLANG, LLAMACPP, OLLAMA)}
"""Every engine by name, in the order choices and messages list them."""
LOCAL: tuple[Engine, ...] = tuple(e for e in ENGINES.values() if e.local)
"""The engines run on the user's machines, in the order advice for all of them names them."""
