from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from hp import quick_lora

from edgetune_trainer import evaluate, hardware, storage, synthetic, tiny_model, train


def _check_learned(tiny_dir: Path, dataset: dict[str, Any], trained: dict[str, Any], method: str) -> None:
    out = trained["out"]
    epochs = 3 if method == "full" else int(tiny_model.LORA_RECIPE["epochs"])
    assert out["method"] == method and out["steps"] == math.ceil(300 / 8) * epochs
    losses = [r["loss"] for r in trained["records"]]
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, "loss did not decrease"
    metrics = storage.read_bytes(out["metricsKey"]).decode().splitlines()
    assert len(metrics) == out["steps"] and json.loads(metrics[-1])["step"] == out["steps"]
    result = evaluate.evaluate(
        base_model_dir=tiny_dir,
        trained_prefix=out["trainedPrefix"],
        method=method,
        eval_path=dataset["eval_path"],
        max_new_tokens=8,
    )
    print(f"\n{method}: {json.dumps(result)} train={json.dumps(out)}")
    assert result["examples"] == len(dataset["eval"])
    # Chance is 0.225 and the base model scores 0. Full fine-tuning reaches 1.0; LoRA on this
    # featureless random base lands between 0.775 and 1.0 depending on the seed and the CPU's
    # float kernels (tiny_model.LORA_RECIPE), so its bar is lower but far above chance.
    assert result["taskAccuracy"] >= (0.8 if method == "full" else 0.6), result
    assert result["baseTaskAccuracy"] <= 0.2, result
    assert result["tokenAccuracy"] > 0.8


def test_full_finetune_learns(tiny_dir: Path, dataset: dict[str, Any], trained_full: dict[str, Any]) -> None:
    _check_learned(tiny_dir, dataset, trained_full, "full")
    assert storage.exists(f"{trained_full['out']['trainedPrefix']}/config.json")


def test_lora_learns(tiny_dir: Path, dataset: dict[str, Any], trained_lora: dict[str, Any]) -> None:
    _check_learned(tiny_dir, dataset, trained_lora, "lora")
    assert storage.exists(f"{trained_lora['out']['trainedPrefix']}/adapter_config.json")


@pytest.fixture(scope="module")
def small_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("small") / "train.jsonl"
    synthetic.write_jsonl(synthetic.make_split(48, seed=7), p)
    return p


SMALL_HP = quick_lora(epochs=1, batchSize=8)


def _train_small(tiny_dir: Path, small_train: Path, prefix: str, **kw: Any) -> dict[str, Any]:
    return train.train(
        base_model_dir=tiny_dir, train_path=small_train, hyperparameters=SMALL_HP, output_prefix=prefix, **kw
    )


def test_checkpoint_resume_matches_uninterrupted(tiny_dir: Path, small_train: Path) -> None:
    opts = train.TrainOptions(checkpoint_every_steps=2, checkpoint_min_interval_s=1e9)
    full_run = _train_small(tiny_dir, small_train, "jobs/ref", options=opts)
    seen: list[dict[str, Any]] = []
    with pytest.raises(train.TrainingCancelled):
        _train_small(
            tiny_dir,
            small_train,
            "jobs/resume",
            options=opts,
            progress=seen.append,
            should_cancel=lambda: len(seen) >= 3,
        )
    assert [r["step"] for r in seen] == [1, 2, 3]
    key = seen[-1]["checkpointKey"]
    assert key == "jobs/resume/checkpoints/step-2"
    assert storage.exists(f"{key}/state.json")
    resumed = _train_small(tiny_dir, small_train, "jobs/resume", options=opts, resume_from=key)
    assert resumed["resumedFromStep"] == 2 and resumed["steps"] == full_run["steps"] == 6
    # Same data order and restored optimizer/scheduler/RNG: the result matches the
    # uninterrupted run.
    assert resumed["finalLoss"] == pytest.approx(full_run["finalLoss"], rel=1e-4)
    lines = storage.read_bytes(resumed["metricsKey"]).decode().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gradient_checkpointing_trains_the_same(tiny_dir: Path, small_train: Path, method: str) -> None:
    """The memory plan switches it on to fit a pool: the same steps give the same loss, recomputed."""
    hp = {**SMALL_HP, "method": method}
    plain = train.train(base_model_dir=tiny_dir, train_path=small_train, hyperparameters=hp, output_prefix=f"jobs/gc-off-{method}")
    checkpointed = train.train(
        base_model_dir=tiny_dir,
        train_path=small_train,
        hyperparameters={**hp, "gradientCheckpointing": True},
        output_prefix=f"jobs/gc-on-{method}",
    )
    assert plain["gradientCheckpointing"] is False
    assert checkpointed["gradientCheckpointing"] is True
    assert checkpointed["steps"] == plain["steps"]
    assert checkpointed["finalLoss"] == pytest.approx(plain["finalLoss"], rel=1e-4)


def test_cancellation_stops_loop(tiny_dir: Path, small_train: Path) -> None:
    seen: list[dict[str, Any]] = []
    with pytest.raises(train.TrainingCancelled):
        _train_small(tiny_dir, small_train, "jobs/cancel", progress=seen.append, should_cancel=lambda: len(seen) >= 1)
    assert len(seen) == 1
    assert not storage.exists("jobs/cancel/adapter/adapter_config.json")


@pytest.mark.parametrize("missing", train.REQUIRED_SETTINGS)
def test_incomplete_settings_are_refused_with_the_missing_one_named(tmp_path: Path, missing: str) -> None:
    hp = {k: v for k, v in SMALL_HP.items() if k != missing}
    with pytest.raises(train.IncompleteSettingsError, match=rf"missing {missing}\b"):
        # Refused before anything is loaded: neither path needs to exist.
        train.train(
            base_model_dir=tmp_path / "none",
            train_path=tmp_path / "none.jsonl",
            hyperparameters=hp,
            output_prefix="jobs/x",
        )
    # None counts as missing too: the trainer puts no value of its own in its place.
    with pytest.raises(train.IncompleteSettingsError, match=rf"missing {missing}\b"):
        train.require_settings({**SMALL_HP, missing: None})


def test_dpo_settings_need_beta_and_evaluation_too(tmp_path: Path) -> None:
    dpo_hp = {**SMALL_HP, "objective": "dpo"}
    with pytest.raises(train.IncompleteSettingsError, match=r"missing beta\b"):
        train.require_settings(dpo_hp)
    assert train.require_settings({**dpo_hp, "beta": 0.2}) == {**dpo_hp, "beta": 0.2}
    # Supervised settings need no beta.
    assert train.require_settings(SMALL_HP) == SMALL_HP
    with pytest.raises(ValueError, match="needs its beta"):
        evaluate.evaluate(
            base_model_dir=tmp_path / "none",
            trained_prefix="jobs/x",
            method="lora",
            eval_path=tmp_path / "none.jsonl",
            objective="dpo",
        )


def test_training_records_the_hardware_and_its_peak_memory(tiny_dir: Path, small_train: Path) -> None:
    result = _train_small(tiny_dir, small_train, "jobs/hardware")
    hw = result["hardware"]
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert hw["device"] == expected
    assert hw["name"] and hw["peakMemoryBytes"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_gpu_training_learns_in_bf16_and_reports_gpu_memory(
    tiny_dir: Path, small_train: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETUNE_TRAIN_DEVICE", "cuda")
    result = _train_small(tiny_dir, small_train, "jobs/gpu")
    hw = result["hardware"]
    assert hw["device"] == "cuda" and hw["bf16"] == torch.cuda.is_bf16_supported()
    assert 0 < hw["peakMemoryBytes"] <= hw["memoryBytes"]
    assert math.isfinite(result["finalLoss"])


def test_a_cpu_only_choice_is_honoured_and_a_bad_one_refused(
    tiny_dir: Path, small_train: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETUNE_TRAIN_DEVICE", "cpu")
    assert _train_small(tiny_dir, small_train, "jobs/cpu")["hardware"]["device"] == "cpu"
    monkeypatch.setenv("EDGETUNE_TRAIN_DEVICE", "tpu")
    with pytest.raises(ValueError, match="EDGETUNE_TRAIN_DEVICE must be auto, cpu or cuda"):
        _train_small(tiny_dir, small_train, "jobs/tpu")


def test_the_allocator_is_made_predictable_on_glibc() -> None:
    # The trainer's worker calls it at start; the memory plan's constants were measured with it.
    assert hardware.predictable_allocator() is True
