"""`v4code engine plan`: the fit arithmetic, the launch commands, the refusals, the sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from v4code.cli import main


def plan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["engine", "plan", *args])
    return result.exit_code, result.output


def test_flash_on_four_h200_fits_with_vllm_and_sglang_commands() -> None:
    code, out = plan("--model", "flash", "--gpu", "h200", "--gpus", "4")
    assert code == 0, out
    assert out.startswith("DeepSeek V4-Flash on 4x h200: fits")
    assert "4 x 141 GB x 0.9 = 508 GB" in out
    assert "160-170 GB; planned at 170    [vLLM recipes (about 160-170 GB)]" in out
    assert "left for KV cache            338 GB" in out
    vllm = next(line for line in out.splitlines() if line.strip().startswith("vllm serve"))
    for flag in (
        "--tokenizer-mode deepseek_v4",
        "--tool-call-parser deepseek_v4",
        "--reasoning-parser deepseek_v4",
        "--enable-auto-tool-choice",
        "--kv-cache-dtype fp8",
        "--block-size 256",
        "--data-parallel-size 4",
    ):
        assert flag in vllm
    sglang = next(line for line in out.splitlines() if "sglang.launch_server" in line)
    assert "--reasoning-parser deepseek-v4 --tool-call-parser deepseekv4" in sglang
    assert "this setup is one the V4 recipes name" in out


def test_pro_on_eight_h200_fits_and_shows_the_disputed_context_cap() -> None:
    code, out = plan("--model", "pro", "--gpu", "h200", "--gpus", "8")
    assert code == 0, out
    assert "fits" in out.splitlines()[0] and "960" in out
    assert "--data-parallel-size 8" in out and "sglang.launch_server" in out
    assert "800K in the guide, 200000 in the yaml" in out


def test_pro_on_eight_h100_is_refused_with_the_numbers_and_two_nodes() -> None:
    code, out = plan("--model", "pro", "--gpu", "h100", "--gpus", "8")
    assert code == 1
    assert "does NOT fit" in out.splitlines()[0]
    assert "8 x 80 GB x 0.9 = 576 GB" in out and "-384 GB" in out
    assert "Nearest setup that fits: 2 nodes of 8x h100" in out
    assert "ray start --head" in out and "ray start --address HEAD_IP:6379" in out
    assert "--pipeline-parallel-size 2" in out
    assert "--nnodes 2 --node-rank 1 --dist-init-addr HEAD_IP:5000" in out
    assert "V4-Pro on H100: UNCONFIRMED" in out


def test_every_figure_has_a_source_or_is_marked() -> None:
    _, out = plan("--model", "flash", "--gpu", "h200", "--gpus", "4", "--json")
    data = json.loads(out)
    for line in data["lines"]:
        assert line["source"], line
    sources = " ".join(line["source"] for line in data["lines"])
    assert "UNCONFIRMED: H200: 141 GB" in sources  # not in the V4 recipes: marked
    kv = next(line for line in data["lines"] if line["what"] == "KV cache")
    assert "not computed" in kv["value"] and "UNCONFIRMED" in kv["source"]
    assert data["serve"]["argv"][:3] == ["vllm", "serve", "deepseek-ai/DeepSeek-V4-Flash"]


def test_config_json_makes_the_kv_arithmetic_exact(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"num_hidden_layers": 10, "kv_lora_rank": 500, "qk_rope_head_dim": 12})
    )
    code, out = plan(
        "--model", "flash", "--gpus", "4", "--context", "100000", "--concurrency", "2",
        "--config", str(config),
    )  # fmt: skip
    assert code == 0, out
    assert "5,120 B/token x 100,000 x 2 = 1.0 GB" in out
    code, out = plan("--model", "flash", "--gpus", "4", "--kv-bytes-per-token", "2000000")
    assert code == 1 and "does NOT fit" in out  # 2 MB/token x 1M tokens: 2 TB of KV


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    code, out = plan("--gpu", "tpu")
    assert code == 2 and "unknown --gpu 'tpu'" in out
    bad = tmp_path / "config.json"
    bad.write_text("[1]")
    code, out = plan("--config", str(bad))
    assert code == 2 and "not a model config.json" in out


def test_apple_and_cpu_plan_llama_cpp_and_say_v4_support_is_unconfirmed() -> None:
    code, out = plan("--model", "flash", "--gpu", "apple", "--memory", "512", "--quant", "q4")
    assert code == 0, out
    assert "llama-server -m MODEL.gguf --jinja --reasoning-format deepseek" in out
    assert "284B params x 4.5 bit / 8 = 160 GB" in out
    assert "llama.cpp and Ollama support for V4: UNCONFIRMED" in out


def test_one_small_device_gets_one_node_with_enough_of_them() -> None:
    code, out = plan("--model", "flash", "--gpu", "h100", "--gpus", "1")
    assert code == 1
    assert "Nearest setup that fits: 1 node of 4x h100 (320 GB) holds" in out
    assert "`--gpus 4 --nodes 1`" in out
    assert "--tp 4 " in out and "--data-parallel-size 4" in out
    assert "--nnodes" not in out and "ray start" not in out


def test_plan_and_serve_cite_public_pages_not_an_unshipped_file(tmp_path: Path) -> None:
    outputs = [
        plan("--model", "pro", "--gpu", "h100", "--gpus", "8")[1],
        plan("--model", "flash", "--gpu", "apple", "--quant", "q4")[1],
        plan("--model", "flash", "--gpu", "atlas-a3", "--gpus", "8", "--json")[1],
    ]
    spec = tmp_path / "plan.json"
    argv = ["vllm", "serve", "x", "--port", "8000"]
    spec.write_text(json.dumps({"serve": {"engine": "vllm", "argv": argv, "model": "x"}}))
    outputs.append(CliRunner().invoke(main, ["engine", "serve", str(spec)]).output)
    for out in outputs:
        assert "DEEPSEEK_API" not in out and "§" not in out, out
    assert "https://github.com/vllm-project/recipes" in outputs[0]
    assert "https://docs.sglang.io/cookbook/autoregressive/DeepSeek/DeepSeek-V4" in outputs[0]
    assert "https://github.com/ggml-org/llama.cpp" in outputs[1]
    assert (
        "vllm-ascend tutorials: https://docs.vllm.ai/projects/ascend"
        in (json.loads(outputs[2])["sources"])
    )
    if shutil.which("vllm") is None:  # the install hint names where V4's version is given
        assert "https://github.com/vllm-project/recipes" in outputs[3]
