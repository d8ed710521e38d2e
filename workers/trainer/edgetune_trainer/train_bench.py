"""One row of `npm run bench:train`: one trainer, one method, a fixed wall time after warm-up, on
a model directory and a chat dataset; prints one JSON line.

    python -m edgetune_trainer.train_bench --trainer edgetune|trl|transformers --method lora|full \\
        --model-dir DIR --seconds 120 --warmup-seconds 30

Every trainer gets the same examples (each shuffles them with its own seeded sampler), the same
LoRA adapters (train.lora_config), learning rate and examples per step, and the same compute
precision (bf16 autocast where the hardware has it, hardware.uses_bf16). Loss is on the
assistant answer only, in all three. Tokens are the real tokens of the examples (prompt and
answer) a trainer processed in the timed window, never padding or separators, counted at the
model's input. Each row runs in a fresh process.

- edgetune: `train.train()` as a job runs it (its own checkpoints included), stopped by its
  cancellation check when the time is up.
- trl: `SFTTrainer` as its documentation recommends for speed: `packing=True` (best-fit
  decreasing, which makes it padding-free) where it can pack LFM2 (a GPU with `causal_conv1d`,
  see _conv_kernel_present; padded batches of the same examples otherwise), prompt-completion
  data so the loss is on the completion, `max_length` the dataset's longest example, packed rows
  of about the same tokens as edgetune's step. Checkpoints at its defaults (every 500 steps: none
  in this window).
- transformers: a plain `Trainer` on padded batches of the same examples.
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

import torch

from . import data, hardware, models, packing, train, worker

LORA_RANK = 16
LEARNING_RATE = 1e-4
SEED = 7


def support_set(tokenizer: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """Chats shaped like a support set: a system prompt, a question and an answer whose lengths
    vary the way real tickets do (log-normal: most short, a few long)."""
    rng = random.Random(seed)
    words = (
        "account billing refund invoice device firmware update reset password network battery screen "
        "order shipping delay warranty replace install error code log restart settings cable charger "
        "please thanks the a to of and is in it for on with your my we can not how what when"
    ).split()

    def text(tokens: int) -> str:
        return " ".join(rng.choice(words) for _ in range(max(1, tokens)))

    systems = [text(int(rng.lognormvariate(4.0, 0.5))) for _ in range(8)]
    out = []
    for _ in range(n):
        question = text(int(min(900, rng.lognormvariate(3.8, 0.8))))
        answer = text(int(min(900, rng.lognormvariate(4.3, 0.7))))
        out.append(
            {
                "messages": [
                    {"role": "system", "content": rng.choice(systems)},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return out


class _Window:
    """Real tokens seen at the model's input, sampled at step ends: the timed window starts at the
    first step end after the warm-up and ends at the last step end before the deadline."""

    def __init__(self, warmup_s: float, seconds: float) -> None:
        self.tokens = 0
        self.began = time.monotonic()
        self.warm_at = self.began + warmup_s
        self.deadline = self.warm_at + seconds
        self.start: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None
        self.steps = 0

    def count_input(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids")
        if ids is None and args:
            ids = args[0]
        if ids is None:
            return
        mask = kwargs.get("attention_mask")
        # A padded batch's real tokens are its mask; a padding-free one has no padding to leave out.
        self.tokens += int(mask.sum()) if isinstance(mask, torch.Tensor) and mask.ndim == 2 else int(ids.numel())

    def step_end(self, tokens: int | None = None) -> bool:
        """Records a step end; True once the time is up."""
        now = time.monotonic()
        seen = self.tokens if tokens is None else tokens
        if now >= self.warm_at:
            if self.start is None:
                self.start = (now, seen)
            else:
                self.last = (now, seen)
                self.steps += 1
        return now >= self.deadline

    def result(self) -> tuple[float, int, float]:
        if self.start is None or self.last is None:
            raise RuntimeError("no step finished inside the timed window: raise --seconds")
        wall = self.last[0] - self.start[0]
        toks = self.last[1] - self.start[1]
        return toks / wall, toks, wall


def _settings(method: str, batch: int, max_len: int) -> dict[str, Any]:
    return {
        "method": method,
        "objective": "sft",
        "epochs": 1000,
        "learningRate": LEARNING_RATE,
        "batchSize": batch,
        "loraRank": LORA_RANK,
        "loraAlpha": 2 * LORA_RANK,
        "maxSeqLen": max_len,
        "seed": SEED,
    }


def run_edgetune(model_dir: str, rows_path: Path, method: str, batch: int, max_len: int, w: _Window) -> dict[str, Any]:
    from transformers import AutoConfig

    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    os.environ["STORAGE_URL"] = f"file://{work / 'objects'}"
    stop = False
    saving = 0.0

    def progress(rec: dict[str, Any]) -> None:
        nonlocal stop
        stop = stop or w.step_end(int(rec["tokensSeen"]))

    began = time.monotonic()
    try:
        train.train(
            base_model_dir=model_dir,
            train_path=rows_path,
            hyperparameters=_settings(method, batch, max_len),
            output_prefix="bench/out",
            progress=progress,
            should_cancel=lambda: stop,
        )
    except train.TrainingCancelled as stopped:
        saving = stopped.checkpoint_seconds
    # Saving's share of the run's time in train() (model loading included).
    overhead = 100 * saving / max(1e-9, time.monotonic() - began)
    kept = len(train.complete_checkpoints("bench/out"))
    shutil.rmtree(work, ignore_errors=True)
    return {
        "checkpoint_overhead_pct": overhead,
        "checkpoints_kept": kept,
        "packing": packing.gap(AutoConfig.from_pretrained(model_dir)) is not None,
    }


def _hf_rows(tokenizer: Any, rows: list[dict[str, Any]], max_len: int) -> list[dict[str, Any]]:
    enc = [data.encode(tokenizer, r["messages"], max_len) for r in rows]
    return [{"input_ids": e.input_ids, "labels": e.labels} for e in enc]


def _lora(method: str) -> Any:
    return train.lora_config(LORA_RANK, 2 * LORA_RANK) if method == "lora" else None


def _callback(w: _Window) -> Any:
    from transformers import TrainerCallback

    class Stop(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if w.step_end():
                control.should_training_stop = True
            return control

    return Stop()


def _common_args(out: str, bf16: bool) -> dict[str, Any]:
    return {
        "output_dir": out,
        "learning_rate": LEARNING_RATE,
        "num_train_epochs": 1000,
        "lr_scheduler_type": "linear",
        "warmup_steps": 0.1,
        "max_grad_norm": 1.0,
        "logging_steps": 1000000,
        "report_to": [],
        "seed": SEED,
        "bf16": bf16,
        "use_cpu": not hardware.train_device().type == "cuda",
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
    }


def run_trl(
    model_dir: str,
    rows: list[dict[str, Any]],
    method: str,
    batch: int,
    tokens_per_step: int,
    max_len: int,
    w: _Window,
    bf16: bool,
) -> dict[str, Any]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tokenizer = models.load_tokenizer(model_dir)
    model = models.load_model(model_dir)
    model.register_forward_pre_hook(w.count_input, with_kwargs=True)
    ds = Dataset.from_list([{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows])
    out = tempfile.mkdtemp(prefix="bench-trl-")
    packs = _conv_kernel_present()
    cfg = SFTConfig(
        **_common_args(out, bf16),
        packing=packs,
        max_length=max_len,
        # Packed: rows of up to max_length tokens, as many as make edgetune's tokens per step.
        per_device_train_batch_size=max(1, round(tokens_per_step / max_len)) if packs else batch,
        completion_only_loss=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=ds,
        processing_class=tokenizer,
        peft_config=_lora(method),
        callbacks=[_callback(w)],
    )
    if packs and trainer.padding_free is not True:
        raise RuntimeError("TRL did not switch padding-free on with packing")
    trainer.train()
    kept = len(list(Path(out).glob("checkpoint-*")))
    shutil.rmtree(out, ignore_errors=True)
    return {"checkpoint_overhead_pct": 0.0, "checkpoints_kept": kept, "packing": packs}


def _conv_kernel_present() -> bool:
    """TRL's packing hands LFM2's convolutions the sequence boundaries (`seq_idx`), which only the
    `causal_conv1d` CUDA kernel honours: without it transformers refuses packed LFM2 batches
    ("can't keep packed sequences apart without causal_conv1d"). So on a CPU, TRL runs padded."""
    try:
        import causal_conv1d  # noqa: F401
    except ImportError:
        return False
    return hardware.train_device().type == "cuda"


def run_transformers(
    model_dir: str, rows: list[dict[str, Any]], method: str, batch: int, max_len: int, w: _Window, bf16: bool
) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    tokenizer = models.load_tokenizer(model_dir)
    model = models.load_model(model_dir)
    if method == "lora":
        from peft import get_peft_model

        model = get_peft_model(model, _lora(method))
    model.register_forward_pre_hook(w.count_input, with_kwargs=True)
    ds = Dataset.from_list(_hf_rows(tokenizer, rows, max_len))
    out = tempfile.mkdtemp(prefix="bench-hf-")
    args = TrainingArguments(**_common_args(out, bf16), per_device_train_batch_size=batch, remove_unused_columns=False)
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=data.IGNORE_INDEX)
    trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator, callbacks=[_callback(w)])
    trainer.train()
    kept = len(list(Path(out).glob("checkpoint-*")))
    shutil.rmtree(out, ignore_errors=True)
    return {"checkpoint_overhead_pct": 0.0, "checkpoints_kept": kept}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="One row of npm run bench:train")
    ap.add_argument("--trainer", choices=["edgetune", "trl", "transformers"], required=True)
    ap.add_argument("--method", choices=["lora", "full"], required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--model", default="lfm2-350m")
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=8, help="examples per step")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--warmup-seconds", type=float, default=30)
    a = ap.parse_args(argv)

    # As the trainer's worker runs: its threads and its allocator.
    worker.configure_torch()
    hardware.predictable_allocator()
    tokenizer = models.load_tokenizer(a.model_dir)
    rows = support_set(tokenizer, a.examples, SEED)
    lengths = [len(data.encode(tokenizer, r["messages"], 1 << 20).input_ids) for r in rows]
    max_len = max(lengths)
    tokens_per_step = round(a.batch * sum(lengths) / len(lengths))
    work = Path(tempfile.mkdtemp(prefix="bench-train-data-"))
    rows_path = work / "train.jsonl"
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bf16 = hardware.uses_bf16(hardware.train_device())

    w = _Window(a.warmup_seconds, a.seconds)
    if a.trainer == "edgetune":
        extra = run_edgetune(a.model_dir, rows_path, a.method, a.batch, max_len, w)
    elif a.trainer == "trl":
        extra = run_trl(a.model_dir, rows, a.method, a.batch, tokens_per_step, max_len, w, bf16)
    else:
        extra = run_transformers(a.model_dir, rows, a.method, a.batch, max_len, w, bf16)
    shutil.rmtree(work, ignore_errors=True)
    tps, toks, wall = w.result()
    print(
        json.dumps(
            {
                "model": a.model,
                "method": a.method,
                "trainer": a.trainer,
                "tokens_per_s": round(tps, 2),
                "peak_rss_bytes": hardware.peak_rss_bytes(),
                "checkpoint_overhead_pct": round(extra["checkpoint_overhead_pct"], 2),
                "checkpoints_kept": extra["checkpoints_kept"],
                "window_tokens": toks,
                "window_seconds": round(wall, 1),
                "window_steps": w.steps,
                "bf16": bf16,
                "device": hardware.train_device().type,
                "mean_example_tokens": round(sum(lengths) / len(lengths), 1),
                "packing": extra.get("packing", a.trainer == "edgetune"),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
