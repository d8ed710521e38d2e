"""Padding-free batches: the same examples give the same loss packed as padded, nothing crosses
from one example to the next, and tokens/s counts real tokens only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from hp import dpo_settings, quick_lora

from edgetune_trainer import data, dpo, hardware, models, packing, synthetic, train


@pytest.fixture(autouse=True)
def float32(monkeypatch: pytest.MonkeyPatch) -> None:
    # Exactness is checked in float32; bf16 is its own test below.
    monkeypatch.setenv("EDGETUNE_TRAIN_BF16", "0")


@pytest.fixture(scope="module")
def model_and_examples(tiny_dir: Path, tiny_tokenizer: Any) -> tuple[Any, list[data.Encoded]]:
    rows, _ = synthetic.make_dataset(12, 2, seed=3)
    # Lengths that differ, as a real batch's do: some turns cut short.
    examples = [
        data.encode(tiny_tokenizer, r["messages"], 256 if i % 3 else 30, r.get("tools")) for i, r in enumerate(rows)
    ]
    model = models.load_model(tiny_dir).eval()
    return model, examples


def test_lfm2_needs_two_separator_positions_and_a_conv_bias_cannot_be_packed(tiny_dir: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_dir)
    assert packing.gap(config) == config.conv_L_cache - 1 == 2
    config.conv_bias = True
    assert packing.gap(config) is None


@pytest.mark.parametrize("row_tokens", [packing.ROW_TOKENS, 100])
def test_packed_examples_score_exactly_as_each_alone(
    model_and_examples: tuple[Any, list[data.Encoded]], tiny_tokenizer: Any, row_tokens: int
) -> None:
    model, examples = model_and_examples
    pad = int(tiny_tokenizer.pad_token_id)
    with torch.no_grad():
        alone = torch.cat(
            [
                dpo.sequence_logps(model(input_ids=torch.tensor([e.input_ids])).logits, torch.tensor([e.labels]))
                for e in examples
            ]
        )
        p = packing.pack(examples, pad, packing.gap(model.config), row_tokens)
        packed = packing.example_logps(model, p)
        # Without the separators the convolutions would see the previous example's last tokens.
        leaky = packing.example_logps(model, packing.pack(examples, pad, 0, row_tokens))
    # Short rows: several of them, padded to the longest (row padding must not leak either).
    assert (p.input_ids.shape[0] > 1) == (row_tokens < sum(len(e.input_ids) for e in examples))
    torch.testing.assert_close(packed, alone, rtol=1e-5, atol=1e-4)
    assert not torch.allclose(leaky, alone, rtol=1e-5, atol=1e-4)


def test_the_packed_loss_is_the_padded_loss(
    model_and_examples: tuple[Any, list[data.Encoded]], tiny_tokenizer: Any
) -> None:
    model, examples = model_and_examples
    pad = int(tiny_tokenizer.pad_token_id)
    p = packing.pack(examples, pad, 2)
    with torch.no_grad():
        padded = model(**data.collate(examples, pad)).loss
        packed = packing.sft_loss(model, p)
    torch.testing.assert_close(packed, padded, rtol=1e-5, atol=1e-5)
    # Real tokens only: no padding, no separators.
    assert p.real_tokens == sum(len(e.input_ids) for e in examples)
    assert p.input_ids.shape[1] == p.real_tokens + 2 * (len(examples) - 1)
    # Logits only where an answer token is predicted.
    assert p.targets.numel() == sum(sum(1 for t in e.labels[1:] if t != data.IGNORE_INDEX) for e in examples)


@pytest.fixture(scope="module")
def small_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("small-packing") / "train.jsonl"
    synthetic.write_jsonl(synthetic.make_split(48, seed=7), p)
    return p


def _steps(tiny_dir: Path, path: Path, hp: dict[str, Any], prefix: str, pack: bool) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    out = train.train(
        base_model_dir=tiny_dir,
        train_path=path,
        hyperparameters=hp,
        output_prefix=prefix,
        progress=records.append,
        options=train.TrainOptions(packing=pack, checkpoint_min_interval_s=1e9, checkpoint_every_epoch=False),
    )
    assert out["packing"] is pack
    return records


def test_sft_trains_the_same_packed_and_padded(tiny_dir: Path, small_train: Path) -> None:
    hp = quick_lora(epochs=1)
    padded = _steps(tiny_dir, small_train, hp, "jobs/pack-off", False)
    packed = _steps(tiny_dir, small_train, hp, "jobs/pack-on", True)
    assert [r["loss"] for r in packed] == pytest.approx([r["loss"] for r in padded], rel=1e-4)
    # Both count the examples' real tokens: padding is not a token trained on.
    assert [r["tokensSeen"] for r in packed] == [r["tokensSeen"] for r in padded]


@pytest.mark.parametrize("method", ["lora", "full"])
def test_dpo_trains_the_same_packed_and_padded(tiny_dir: Path, tmp_path: Path, method: str) -> None:
    pairs, _ = synthetic.make_preference_dataset(12, 2, seed=5)
    path = tmp_path / "pairs.jsonl"
    synthetic.write_jsonl(pairs, path)
    hp = dpo_settings(method, epochs=1, batchSize=4)
    padded = _steps(tiny_dir, path, hp, f"jobs/dpo-pack-off-{method}", False)
    packed = _steps(tiny_dir, path, hp, f"jobs/dpo-pack-on-{method}", True)
    for key in ("loss", "rewardMargin"):
        assert [r[key] for r in packed] == pytest.approx([r[key] for r in padded], rel=1e-4, abs=1e-5)
    assert [r["tokensSeen"] for r in packed] == [r["tokensSeen"] for r in padded]


def test_bf16_where_the_cpu_has_it_with_float32_master_weights(
    tiny_dir: Path, small_train: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETUNE_TRAIN_DEVICE", "cpu")
    monkeypatch.setenv("EDGETUNE_TRAIN_BF16", "auto")
    device = torch.device("cpu")
    if not hardware.uses_bf16(device):
        pytest.skip("this CPU has no native bf16 instructions")
    model = train._wrap_lora(models.load_model(tiny_dir), quick_lora())
    converted = hardware.frozen_linears_to_bf16(model)
    assert converted > 0
    dtypes = {n: p.dtype for n, p in model.named_parameters()}
    assert all(d == torch.float32 for n, d in dtypes.items() if "lora_" in n)
    assert dtypes["base_model.model.model.layers.0.feed_forward.w1.base_layer.weight"] == torch.bfloat16
    assert model.get_input_embeddings().weight.dtype == torch.float32
    result = train.train(
        base_model_dir=tiny_dir,
        train_path=small_train,
        hyperparameters=quick_lora(epochs=1),
        output_prefix="jobs/bf16",
    )
    assert result["hardware"]["bf16"] is True
    monkeypatch.setenv("EDGETUNE_TRAIN_BF16", "0")
    assert hardware.uses_bf16(device) is False
    monkeypatch.setenv("EDGETUNE_TRAIN_BF16", "maybe")
    with pytest.raises(ValueError, match="EDGETUNE_TRAIN_BF16 must be auto, 0 or 1"):
        hardware.uses_bf16(device)


def test_a_step_whose_answers_were_all_cut_off_trains_nothing_and_fails_nothing(tiny_dir: Path) -> None:
    model = models.load_model(tiny_dir)
    # Prompt tokens only: no label anywhere.
    p = packing.pack([data.Encoded([1, 2, 3], [data.IGNORE_INDEX] * 3)], 0, 2)
    assert p.targets.numel() == 0
    loss = packing.sft_loss(model, p)
    loss.backward()
    # DPO's loss over such pairs must backpropagate too.
    packing.example_logps(model, p).sum().backward()
    assert float(loss) == 0.0 and all(q.grad is None for q in model.parameters())


def test_threads_follow_the_cores_this_process_may_use() -> None:
    import os

    assert 1 <= hardware.cores() <= len(os.sched_getaffinity(0))
