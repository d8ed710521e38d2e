"""The built-in `lfm2-tiny` base model.

No model hub is reachable in tests or on an air-gapped install, so the platform ships a
generator for a REAL `Lfm2ForCausalLM` (same architecture, code path and GGUF conversion as the
released LFM2 checkpoints) with a small seeded random init and a byte-level BPE tokenizer built
here with LFM2's pre-tokenizer, special tokens and ChatML chat template. Everything is
deterministic: the same code produces byte-identical tokenizer files and identical weights.

    python -m edgetune_trainer.tiny_model --out DIR
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from . import synthetic

MODEL_ID = "lfm2-tiny"

PAD, BOS, EOT, IM_START, IM_END = (
    "<|pad|>",
    "<|startoftext|>",
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
)
SPECIAL_TOKENS = [PAD, BOS, EOT, IM_START, IM_END]

# LFM2's chat template (ChatML with a leading BOS).
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\n' -}}"
    "{%- endif -%}"
)

# LFM2 / llama3 pre-tokenizer split pattern.
PRETOKENIZER_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TARGET_VOCAB = 2048
HIDDEN = 256  # K-quants need rows that are multiples of 256
FF_DIM = 512
LAYER_TYPES = ["conv", "full_attention", "conv", "full_attention", "conv", "full_attention"]
SEED = 1234

# LoRA recipe for this random-init model (synthetic routing task, 300 examples). The generic
# LoRA defaults (lr 2e-3, alpha 32, 3 epochs) stay at chance (0.225) here: a random base has no
# features to adapt, the adapter update must be scaled up (alpha 256 -> scaling 16) and training
# must run long enough to leave the initial plateau. Where that plateau ends depends on the CPU's
# floating-point kernels: 10 epochs reached 0.925 on one machine and stayed at 0.225 on an AMD
# EPYC one (as did lr 2e-3, alpha 512 and alpha 512 for 16 epochs); 20 epochs reached 1.0, 0.95
# and 1.0 there over seeds 42, 1 and 7 (~140 s on one CPU thread). On an Intel Xeon one, 20
# epochs gave 0.35 (seed 42; lr 2e-3 stayed at 0.225), 30 gave 0.9 / 0.85 / 0.775 over seeds
# 42 / 1 / 7, and 40 gave 0.55 / 0.975 / 0.95: past 30 epochs the outcome scatters rather than
# improves. LoRA on a base without features stays a long way from full fine-tuning, which
# reaches 1.0 with its defaults (lr 5e-4, 3 epochs).
LORA_RECIPE: dict[str, float | int] = {"loraRank": 16, "loraAlpha": 256, "learningRate": 1e-3, "epochs": 30}
# DPO recipes on the routing task as preference pairs (synthetic.make_preference_dataset); the
# same numbers as lfm2-tiny's `dpoDefaults` in packages/contracts/src/models.ts. 200 pairs, 40 held
# out: full 97.5-100 % held-out reward accuracy over three seeds, LoRA 100 % (10 epochs).
DPO_RECIPES: dict[str, dict[str, float | int]] = {
    "full": {"learningRate": 2e-4, "epochs": 5},
    "lora": {**LORA_RECIPE, "learningRate": 5e-4, "epochs": 10},
}
EMBED_STD = 0.1

_COMMON_WORDS = (
    "the be to of and a in that have i it for not on with he as you do at this but his by from they "
    "we say her she or an will my one all would there their what so up out if about who get which go "
    "me when make can like time no just him know take people into year your good some could them see "
    "other than then now look only come its over think also back after use two how our work first well "
    "way even new want because any these give day most us is are was were been has had did does done "
    "model data device phone train test answer question yes hello world system user assistant please "
    "thanks number value true false error ok fine great small large fast slow edge tune liquid"
).split()
_PUNCT = [".", ",", "?", "!", ":", ";", "'s", "'re", "'ll", "(", ")", "-", '"', "...", "\n", "\n\n"]


def _corpus(seed: int = SEED, lines: int = 4000) -> list[str]:
    """A fixed synthetic English corpus; it includes the synthetic task's words so they stay short."""
    rng = random.Random(seed)
    words = sorted(set(_COMMON_WORDS) | set(synthetic.ALL_WORDS))
    out: list[str] = []
    for _ in range(lines):
        n = rng.randint(3, 14)
        toks: list[str] = []
        for _ in range(n):
            r = rng.random()
            if r < 0.08:
                toks.append(str(rng.randint(0, 2000)))
            elif r < 0.16:
                toks.append(rng.choice(_PUNCT))
            else:
                w = rng.choice(words)
                toks.append(w.capitalize() if rng.random() < 0.1 else w)
        out.append(" ".join(toks))
    # Chat-shaped text teaches merges for the role names and newlines used by the template.
    for _ in range(300):
        ex = synthetic.make_example(rng)
        out.append("".join(f"{m['role']}\n{m['content']}\n" for m in ex["messages"]))
    return out


def build_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZER_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=TARGET_VOCAB,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    # Like LFM2: BOS is added by the post-processor on plain encodes (the chat template adds it
    # itself and is tokenized without special tokens).
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A:0",
        pair=f"{BOS} $A:0 {BOS}:1 $B:1",
        special_tokens=[(BOS, bos_id)],
    )
    return tok


def _write_tokenizer(out: Path, tok: Tokenizer) -> dict[str, int]:
    tok.save(str(out / "tokenizer.json"))
    ids = {t: int(tok.token_to_id(t)) for t in SPECIAL_TOKENS}
    added = {
        str(ids[t]): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for t in SPECIAL_TOKENS
    }
    tokenizer_config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": BOS,
        "eos_token": IM_END,
        "pad_token": PAD,
        "clean_up_tokenization_spaces": False,
        "legacy": False,
        "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
        "use_default_system_prompt": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": BOS, "eos_token": IM_END, "pad_token": PAD}, indent=2) + "\n"
    )
    # Some tools read the template from this separate file (transformers >= 4.43 writes it).
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return ids


def write_tokenizer(out_dir: str | Path) -> Path:
    """Only the tokenizer files of lfm2-tiny (what token counting needs), without the weights."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_tokenizer(out, build_tokenizer())
    return out


def generate(out_dir: str | Path) -> Path:
    """Write the lfm2-tiny HF checkpoint directory to `out_dir` and return it."""
    import torch
    from transformers import GenerationConfig, Lfm2Config, Lfm2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    ids = _write_tokenizer(out, tok)

    config = Lfm2Config(
        vocab_size=tok.get_vocab_size(),
        hidden_size=HIDDEN,
        intermediate_size=FF_DIM,
        block_auto_adjust_ff_dim=False,
        block_multiple_of=256,
        block_ffn_dim_multiplier=1.0,
        num_hidden_layers=len(LAYER_TYPES),
        layer_types=list(LAYER_TYPES),
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        conv_L_cache=3,
        conv_bias=False,
        norm_eps=1e-5,
        initializer_range=0.02,
        tie_word_embeddings=True,
        pad_token_id=ids[PAD],
        bos_token_id=ids[BOS],
        eos_token_id=ids[IM_END],
        dtype="float32",
    )
    config.architectures = ["Lfm2ForCausalLM"]
    # Seed every RNG the init may touch so weights are identical on every machine run.
    torch.manual_seed(SEED)
    model = Lfm2ForCausalLM(config)
    # The head is tied to the embedding. With the default 0.02 init the largest reachable logit
    # is ~5 (|final norm output| * |embedding row|), so a frozen head (LoRA) can never fit a
    # label; pretrained LFM2 embeddings have far larger norms. A wider embedding init restores a
    # usable logit range for both LoRA and full fine-tuning.
    with torch.no_grad():
        model.get_input_embeddings().weight.normal_(mean=0.0, std=EMBED_STD)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(
        bos_token_id=ids[BOS],
        eos_token_id=ids[IM_END],
        pad_token_id=ids[PAD],
        do_sample=False,
    ).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate the built-in lfm2-tiny HF checkpoint")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    print(generate(args.out))


if __name__ == "__main__":
    main()
