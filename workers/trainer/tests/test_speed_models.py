from __future__ import annotations

import pytest

from edgetune_trainer import speed_models


@pytest.mark.parametrize(("model", "released"), [("lfm2-350m", 354_483_968), ("lfm2-1.2b", 1_170_340_608)])
def test_speed_models_have_the_released_shapes(model: str, released: int) -> None:
    """The configuration builds the released architecture: its parameter count (on the meta
    device: no memory, no weights) is the released model's (LFM2-350M: 354M, LFM2-1.2B: 1.17B)."""
    import torch
    from transformers import Lfm2ForCausalLM

    cfg = speed_models.config(model)
    with torch.device("meta"):
        m = Lfm2ForCausalLM(cfg)
    count = sum(p.numel() for p in m.parameters())
    assert count == speed_models.parameter_count(model) == released
    assert cfg.vocab_size == 65536 and cfg.num_hidden_layers == 16 and cfg.tie_word_embeddings
    assert [i for i, t in enumerate(cfg.layer_types) if t == "full_attention"] == [2, 5, 8, 10, 12, 14]
    # The feed-forward width is auto-adjusted from block_ff_dim as in the released checkpoints.
    ff = m.model.layers[0].feed_forward.w1.weight.shape[0]
    assert ff == {"lfm2-350m": 4608, "lfm2-1.2b": 8192}[model]


def test_speed_models_use_the_lfm25_template_llama_cpp_ships() -> None:
    template = speed_models.chat_template()
    assert "<|im_start|>" in template and "bos_token" in template
    with pytest.raises(ValueError, match="unknown speed model"):
        speed_models.config("lfm2-9b")
