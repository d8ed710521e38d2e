from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from edgetune_trainer import data, models, tiny_model


def test_is_real_lfm2_and_roundtrips(tiny_dir: Path, tmp_path: Path) -> None:
    from transformers import Lfm2ForCausalLM

    model = models.load_model(tiny_dir)
    assert isinstance(model, Lfm2ForCausalLM)
    cfg = model.config
    assert cfg.hidden_size == 256 and "conv" in cfg.layer_types and "full_attention" in cfg.layer_types
    assert sum(p.numel() for p in model.parameters()) < 10_000_000
    model.save_pretrained(tmp_path / "copy")
    again = models.load_model(tmp_path / "copy")
    ids = torch.tensor([[1, 10, 20, 30, 40]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)


def test_generation_is_deterministic(tiny_dir: Path, tmp_path: Path) -> None:
    a = tiny_model.build_tokenizer().to_str()
    b = tiny_model.build_tokenizer().to_str()
    assert a == b
    # The whole checkpoint too (weights included): a fresh generation equals the staged lfm2-tiny.
    fresh = tiny_model.generate(tmp_path / "again")
    for f in sorted(fresh.iterdir()):
        assert f.read_bytes() == (tiny_dir / f.name).read_bytes(), f.name


def test_chat_template_and_bos(tiny_tokenizer: Any) -> None:
    tok = tiny_tokenizer
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]
    text = data.render(tok, msgs, add_generation_prompt=True)
    assert text == (
        "<|startoftext|><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tok.eos_token == "<|im_end|>" and tok.bos_token == "<|startoftext|>"
    assert tok("hello world")["input_ids"][0] == tok.bos_token_id
    ids = data.tokenize_text(tok, text)
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    assert tok.decode(tok("hello, world!", add_special_tokens=False)["input_ids"]) == "hello, world!"
    # The synthetic labels are single tokens (short answers keep the task learnable).
    for label in ("billing", "shipping", "login", "refund"):
        assert len(tok(label, add_special_tokens=False)["input_ids"]) <= 2


def test_labels_only_on_assistant(tiny_tokenizer: Any) -> None:
    tok = tiny_tokenizer
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "where is my package"},
        {"role": "assistant", "content": "shipping"},
    ]
    enc = data.encode(tok, msgs, 256)
    kept = [i for i, lab in zip(enc.input_ids, enc.labels, strict=True) if lab != data.IGNORE_INDEX]
    assert tok.decode(kept) == "shipping<|im_end|>"
    short = data.encode(tok, msgs, 5)
    assert len(short.input_ids) == 5
