"""Measures what a training run really holds: the trainer's own `train()` on a model directory,
a few steps of examples as long as the run's sequence length, in this process, and prints the
peak resident memory (and peak CUDA memory on a GPU) as one JSON line. Each run is a fresh
process, since the peak of a process only grows.

    python -m edgetune_trainer.memory_probe --model-dir DIR --method lora --batch 2 --seq 512

`npm run bench:train-memory` runs it on the LFM2-350M configuration (random weights) next to
the platform's estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from . import hardware, models


def _examples(tokenizer: Any, n: int, seq: int, seed: int) -> list[dict[str, Any]]:
    """Chats whose rendered length passes `seq` tokens, so every batch fills the sequence length."""
    rng = random.Random(seed)
    words = ["route", "ticket", "billing", "refund", "device", "update", "model", "network", "battery", "screen"]
    out = []
    for _ in range(n):
        text = ""
        while len(tokenizer(text)["input_ids"]) < seq:
            text += " ".join(rng.choice(words) for _ in range(64)) + " "
        out.append({"messages": [{"role": "user", "content": text[: len(text) // 2]}, {"role": "assistant", "content": text[len(text) // 2 :]}]})
    return out


def probe(model_dir: str, method: str, batch: int, seq: int, steps: int, objective: str, rank: int, gradient_checkpointing: bool) -> dict[str, Any]:
    from . import train

    tokenizer = models.load_tokenizer(model_dir)
    work = Path(tempfile.mkdtemp(prefix="memory-probe-"))
    os.environ["STORAGE_URL"] = f"file://{work / 'objects'}"
    rows = _examples(tokenizer, batch * steps, seq, seed=1)
    if objective == "dpo":
        rows = [{"prompt": r["messages"][0]["content"], "chosen": r["messages"][1]["content"], "rejected": r["messages"][1]["content"][::-1]} for r in rows]
    train_path = work / "train.jsonl"
    train_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    hp = {
        "method": method,
        "objective": objective,
        "epochs": 1,
        "batchSize": batch,
        "learningRate": 1e-4,
        "loraRank": rank,
        "loraAlpha": rank * 2,
        "maxSeqLen": seq,
        "seed": 1,
        "gradientCheckpointing": gradient_checkpointing,
        **({"beta": 0.1} if objective == "dpo" else {}),
    }
    t0 = time.monotonic()
    try:
        result = train.train(base_model_dir=model_dir, train_path=train_path, hyperparameters=hp, output_prefix="probe/out")
    finally:
        # A full run leaves gigabytes of checkpoints and weights behind.
        shutil.rmtree(work, ignore_errors=True)
    device = hardware.train_device()
    hw = hardware.describe(device)
    return {
        "method": method,
        "objective": objective,
        "batch": batch,
        "seq": seq,
        "rank": rank,
        "steps": steps,
        "gradientCheckpointing": gradient_checkpointing,
        "device": hw["device"],
        "bf16": hw["bf16"],
        "peakRssBytes": hardware.peak_rss_bytes(),
        "peakMemoryBytes": hw["peakMemoryBytes"],
        "seconds": round(time.monotonic() - t0, 1),
        "loss": result.get("metrics", [{}])[-1].get("loss") if result.get("metrics") else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--method", choices=["lora", "full"], required=True)
    p.add_argument("--objective", choices=["sft", "dpo"], default="sft")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--gradient-checkpointing", action="store_true")
    a = p.parse_args()
    # As the trainer's worker runs (worker.py).
    hardware.predictable_allocator()
    print(json.dumps(probe(a.model_dir, a.method, a.batch, a.seq, a.steps, a.objective, a.rank, a.gradient_checkpointing)), flush=True)


if __name__ == "__main__":
    main()
