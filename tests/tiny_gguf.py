"""A tiny llama-architecture GGUF whose greedy output is fixed, for tests against a real engine.

Attention and FFN outputs are zeroed, so the hidden state is the last token's embedding and
the next token depends on that token only: each token of an answer points at the next, the last
at end-of-sequence. The chat template turns the conversation into one trigger character chosen
from the last message, and the trigger starts one of the scenarios below. Tokens are GPT-2
byte-level pieces of at most 8 characters (llama-cpp-python drops pieces over 32 bytes).
"""

from __future__ import annotations

from pathlib import Path

from fake_api import dsml_markup, v31_markup

SCENARIOS: dict[str, str] = {
    # a plain answer with its thinking inline (an engine without a reasoning parser)
    "A": "<think>Probing.</think>It works.",
    # a V4 DSML tool call written as text
    "B": dsml_markup([("probe_echo", {"text": "ok"})]),
    # a V3.1 tool call written as text
    "C": v31_markup("probe_echo", {"text": "ok"}),
    # the final answer after a tool result
    "D": "Done: the tool result is in.",
    # a scripted task: write hello.txt through a leaked DSML call
    "E": dsml_markup(
        [("write_file", {"path": "hello.txt", "content": "hello from a local engine\n"})]
    ),
}

CHAT_TEMPLATE = (
    "{%- set last = messages[-1] -%}"
    "{%- set text = last['content'] if last['content'] is string else '' -%}"
    "{%- if last['role'] == 'tool' -%}D"
    "{%- elif 'hello.txt' in text -%}E"
    "{%- elif 'v31' in text -%}C"
    "{%- elif 'probe_echo' in text -%}B"
    "{%- else -%}A"
    "{%- endif -%}"
)

PIECE = 8  # characters per token piece: at most 24 bytes of UTF-8


def _byte_chars() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    chars = {b: b for b in keep}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = 256 + extra
            extra += 1
    return {b: chr(c) for b, c in chars.items()}


def _pieces(text: str, used: set[str]) -> list[str]:
    """Split text into pieces no other token has (llama.cpp refuses duplicate token texts),
    each 2 to 12 characters and at most 30 bytes (a single character is its byte token)."""
    pieces: list[str] = []
    pos = 0
    while pos < len(text):
        for size in (PIECE, 7, 6, 5, 4, 3, 2, 9, 10, 11, 12):
            piece = text[pos : pos + size]
            rest = len(text) - pos - len(piece)
            if len(piece) >= 2 and rest != 1 and piece not in used and len(piece.encode()) <= 30:
                break
        else:
            raise ValueError(f"no unique piece at {text[pos : pos + PIECE]!r}")
        used.add(piece)
        pieces.append(piece)
        pos += len(piece)
    return pieces


def write_model(path: Path) -> Path:
    import gguf
    import numpy as np

    enc = _byte_chars()
    tokens = [enc[b] for b in range(256)]
    types = [gguf.TokenType.NORMAL] * 256
    bos, eos = len(tokens), len(tokens) + 1
    tokens += ["<|begin|>", "<|end|>"]
    types += [gguf.TokenType.CONTROL] * 2
    successor: dict[int, int] = {}
    used = {bytes([b]).decode("latin-1") for b in range(128)}
    for trigger, text in SCENARIOS.items():
        previous = ord(trigger)
        for piece in _pieces(text, used):
            tokens.append("".join(enc[b] for b in piece.encode("utf-8")))
            types.append(gguf.TokenType.NORMAL)
            successor[previous] = len(tokens) - 1
            previous = len(tokens) - 1
        successor[previous] = eos
    n_vocab = len(tokens)
    sources = sorted(successor)
    n_embd = -(-len(sources) // 64) * 64
    n_head, n_head_kv, n_ff = 2, 1, 64
    head_dim = n_embd // n_head

    embed = np.zeros((n_vocab, n_embd), dtype=np.float32)
    output = np.zeros((n_vocab, n_embd), dtype=np.float32)
    for dim, token in enumerate(sources):
        embed[token, dim] = 1.0
        output[successor[token], dim] = 50.0

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("v4code-test-tiny")
    w.add_context_length(32768)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{enc[32]} {enc[32]}"])
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    zeros = np.zeros
    ones = np.ones(n_embd, dtype=np.float32)
    w.add_tensor("token_embd.weight", embed)
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", output)
    w.add_tensor("blk.0.attn_norm.weight", ones)
    w.add_tensor("blk.0.attn_q.weight", zeros((n_embd, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.attn_k.weight", zeros((head_dim * n_head_kv, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.attn_v.weight", zeros((head_dim * n_head_kv, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.attn_output.weight", zeros((n_embd, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", ones)
    w.add_tensor("blk.0.ffn_gate.weight", zeros((n_ff, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.ffn_up.weight", zeros((n_ff, n_embd), dtype=np.float32))
    w.add_tensor("blk.0.ffn_down.weight", zeros((n_embd, n_ff), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
