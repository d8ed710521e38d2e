"""Random-weight LFM2 checkpoints of the released sizes, for SPEED ONLY.

No model hub is reachable here, so the real LFM2 weights cannot be had; what decides file size,
quantize time and prefill / decode speed is the architecture, and that is public. These
checkpoints take the released configuration of LiquidAI/LFM2-350M and LiquidAI/LFM2-1.2B
(their config.json: 16 blocks, attention at 2, 5, 8, 10, 12 and 14, the rest double-gated short
convolutions, vocabulary 65 536, tied embeddings, the feed-forward width auto-adjusted from
`block_ff_dim`) with seeded random weights. The tokenizer is lfm2-tiny's byte-level BPE (LFM2's
pre-tokenizer and special tokens), padded by the GGUF converter to the 65 536 rows the model
has; the chat template is the LFM2.5 template that llama.cpp ships
(models/templates/LFM2.5-Instruct.jinja). Their outputs are noise: they are never offered for
training and never report accuracy or quality.

    python -m edgetune_trainer.speed_models --model lfm2-1.2b --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import gguf_convert, tiny_model

SEED = 4321

# Per size: what differs between the released configs. The rest is common to both.
SIZES: dict[str, dict[str, int]] = {
    "lfm2-350m": {"hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 8, "block_ff_dim": 6656},
    "lfm2-1.2b": {"hidden_size": 2048, "num_attention_heads": 32, "num_key_value_heads": 8, "block_ff_dim": 12288},
}
ATTENTION_AT = (2, 5, 8, 10, 12, 14)
LAYERS = 16
VOCAB = 65536
LABEL = "random weights, real configuration: speed only"


def layer_types() -> list[str]:
    return ["full_attention" if i in ATTENTION_AT else "conv" for i in range(LAYERS)]


def chat_template() -> str:
    path = gguf_convert.llama_cpp_dir() / "models" / "templates" / "LFM2.5-Instruct.jinja"
    if not path.is_file():
        raise RuntimeError(f"{path} not found: the LFM2.5 chat template ships with llama.cpp (bash infra/llama-cpp.sh)")
    return path.read_text()


def config(model: str, ids: dict[str, int] | None = None) -> Any:
    """The Lfm2Config of `model` (a key of SIZES); `ids`: the tokenizer's special token ids."""
    from transformers import Lfm2Config

    if model not in SIZES:
        raise ValueError(f"unknown speed model {model!r}; one of {', '.join(SIZES)}")
    size = SIZES[model]
    ids = ids or {tiny_model.PAD: 0, tiny_model.BOS: 1, tiny_model.IM_END: 4}
    c = Lfm2Config(
        vocab_size=VOCAB,
        hidden_size=size["hidden_size"],
        intermediate_size=size["block_ff_dim"],
        block_auto_adjust_ff_dim=True,
        block_multiple_of=256,
        block_ffn_dim_multiplier=1.0,
        num_hidden_layers=LAYERS,
        layer_types=layer_types(),
        num_attention_heads=size["num_attention_heads"],
        num_key_value_heads=size["num_key_value_heads"],
        max_position_embeddings=128000,
        conv_L_cache=3,
        conv_bias=False,
        norm_eps=1e-5,
        initializer_range=0.02,
        tie_word_embeddings=True,
        pad_token_id=ids[tiny_model.PAD],
        bos_token_id=ids[tiny_model.BOS],
        eos_token_id=ids[tiny_model.IM_END],
        dtype="bfloat16",
    )
    c.architectures = ["Lfm2ForCausalLM"]
    return c


def generate(model: str, out_dir: str | Path) -> Path:
    """Write the HF checkpoint of `model` (a key of SIZES) with random weights to `out_dir`."""
    import torch
    from transformers import GenerationConfig, Lfm2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = tiny_model._write_tokenizer(out, tiny_model.build_tokenizer())
    cfg = config(model, ids)
    template = chat_template()
    tc_path = out / "tokenizer_config.json"
    tc: dict[str, Any] = json.loads(tc_path.read_text())
    tc["chat_template"] = template
    tc["model_max_length"] = 32768
    tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    (out / "chat_template.jinja").write_text(template)

    torch.manual_seed(SEED)
    with torch.device("cpu"):
        m = Lfm2ForCausalLM(cfg).to(torch.bfloat16)
    m.eval()
    m.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=ids[tiny_model.BOS], eos_token_id=ids[tiny_model.IM_END], pad_token_id=ids[tiny_model.PAD]).save_pretrained(out)
    (out / "EDGETUNE_SPEED_ONLY").write_text(f"{model}: {LABEL}\n")
    return out


def parameter_count(model: str) -> int:
    """Parameters of the configuration (the released models: about 354M and 1.17B)."""
    s = SIZES[model]
    h, ff_stated = s["hidden_size"], s["block_ff_dim"]
    ff = 256 * ((int(2 * ff_stated / 3) + 255) // 256)  # the auto-adjusted SwiGLU width
    kv = s["num_key_value_heads"] * (h // s["num_attention_heads"])
    mlp = 3 * h * ff
    attn = h * h + 2 * h * kv + h * h + 2 * (h // s["num_attention_heads"])  # q, k, v, out, q/k norms
    conv = 3 * h * h + h * h + 3 * h  # in_proj (B, C, x), out_proj, depthwise kernel 3
    norms = 2 * h
    blocks = sum((attn if t == "full_attention" else conv) + mlp + norms for t in layer_types())
    return VOCAB * h + blocks + h


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate a random-weight LFM2 checkpoint of a released size (speed only)")
    ap.add_argument("--model", required=True, choices=sorted(SIZES))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--gguf", type=Path, help="also convert it to this F16 GGUF (the export's converter)")
    args = ap.parse_args(argv)
    hf = generate(args.model, args.out)
    print(hf)
    if args.gguf:
        print(gguf_convert.convert(hf, args.gguf, "f16"))


if __name__ == "__main__":
    main()
