"""Checkpoints that cost little and never fill the disk: spacing by measured cost, the newest
three kept, LoRA checkpoints without the base weights, and a kill in the middle of a save."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hp import quick_lora

from edgetune_trainer import storage, synthetic, train

HP = quick_lora(epochs=1, batchSize=8)


@pytest.fixture(scope="module")
def small_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("ckpt") / "train.jsonl"
    synthetic.write_jsonl(synthetic.make_split(48, seed=7), p)
    return p


def test_spacing_keeps_saving_under_its_share_of_the_time() -> None:
    c = train.Checkpoints("jobs/x", train.TrainOptions(checkpoint_every_epoch=False), steps_per_epoch=1000, start=0.0)
    assert not c.due(1, 19.0) and c.due(1, 20.0), "the first save waits for the minimum interval"
    c.last_cost, c.last_end = 30.0, 100.0
    # A 30 s save is followed by at least 270 s of training: saving stays at 10 % of the time.
    assert not c.due(2, 100.0 + 269.0) and c.due(2, 100.0 + 270.0)
    assert c.due(1000, 101.0) is False
    c.opts.checkpoint_every_epoch = True
    assert c.due(1000, 101.0), "and one at the end of each epoch"


def test_only_the_newest_three_are_kept_and_lora_ones_hold_the_adapter(tiny_dir: Path, small_train: Path) -> None:
    opts = train.TrainOptions(checkpoint_every_steps=1, checkpoint_min_interval_s=1e9)
    out = train.train(
        base_model_dir=tiny_dir, train_path=small_train, hyperparameters=HP, output_prefix="jobs/keep3", options=opts
    )
    # Six steps: saves after steps 1-5, and only 3, 4 and 5 remain.
    assert train.complete_checkpoints("jobs/keep3") == [3, 4, 5]
    assert not any("/step-1/" in k or "/step-2/" in k for k in storage.list_keys("jobs/keep3/checkpoints"))
    kept = out["checkpoints"]
    assert [c["step"] for c in kept] == [3, 4, 5]
    assert all(c["sizeBytes"] > 0 and c["saveSeconds"] > 0 for c in kept)
    assert out["checkpointSeconds"] >= sum(c["saveSeconds"] for c in kept)
    model_bytes = sum(p.stat().st_size for p in tiny_dir.glob("*.safetensors"))
    assert kept[-1]["sizeBytes"] < model_bytes, (
        "a LoRA checkpoint holds the adapter and its optimizer state, not the base weights"
    )


def test_a_kill_in_the_middle_of_a_save_resumes_from_the_previous_checkpoint(
    tiny_dir: Path, small_train: Path, storage_root: Path
) -> None:
    opts = dict(checkpoint_every_steps=2, checkpoint_min_interval_s=1e9)
    reference = train.train(
        base_model_dir=tiny_dir,
        train_path=small_train,
        hyperparameters=HP,
        output_prefix="jobs/kill-ref",
        options=train.TrainOptions(**opts),
    )
    script = (
        "import json, sys, torch; from edgetune_trainer import train; torch.set_num_threads(1); "
        "a = json.loads(sys.argv[1]); "
        "train.train(base_model_dir=a['model'], train_path=a['data'], hyperparameters=a['hp'], "
        "output_prefix='jobs/kill', options=train.TrainOptions(**a['opts']))"
    )
    arg = json.dumps({"model": str(tiny_dir), "data": str(small_train), "hp": HP, "opts": opts})
    env = {**os.environ, "EDGETUNE_TRAINER_FAULT": "kill-mid-checkpoint:2"}
    proc = subprocess.run(
        [sys.executable, "-c", script, arg],
        env=env,
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # The second save (step 4) was cut before its state.json: incomplete, and step 2 is intact.
    assert storage.exists("jobs/kill/checkpoints/step-4/trainable.safetensors")
    assert not storage.exists("jobs/kill/checkpoints/step-4/state.json")
    assert train.complete_checkpoints("jobs/kill") == [2]
    key = train.latest_checkpoint("jobs/kill")
    assert key == "jobs/kill/checkpoints/step-2"
    resumed: dict[str, Any] = train.train(
        base_model_dir=tiny_dir,
        train_path=small_train,
        hyperparameters=HP,
        output_prefix="jobs/kill",
        options=train.TrainOptions(**opts),
        resume_from=key,
    )
    assert resumed["resumedFromStep"] == 2 and resumed["steps"] == reference["steps"] == 6
    assert resumed["finalLoss"] == pytest.approx(reference["finalLoss"], rel=1e-4)
    assert train.complete_checkpoints("jobs/kill") == [2, 4]
