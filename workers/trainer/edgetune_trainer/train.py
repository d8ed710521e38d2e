"""The training loop (LoRA or full fine-tuning; supervised or DPO), independent of Temporal.

A plain PyTorch loop rather than HF Trainer: we need per-step progress callbacks (Temporal
heartbeats), a cancellation check between steps, and checkpoints that resume on another machine
with the exact same data order - all simpler to guarantee in ~200 lines we own.

Data order depends only on (seed, epoch), and a checkpoint stores the global step, so a resumed
run visits exactly the batches the interrupted run would have visited.

The objective is the only thing that differs between supervised fine-tuning ("sft": next-token
loss on the assistant turns) and preference tuning ("dpo", see dpo.py): both share batching,
optimizer, schedule, checkpoints and progress records; DPO adds its reward metrics to them.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from . import data, dpo, hardware, models, packing, storage

LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "out_proj", "in_proj", "w1", "w2", "w3"]

# Every setting a run needs. They come complete from the orchestrator (the model catalog in
# packages/contracts is their one source); a missing one is a bug upstream, never something to
# guess here, where a guess would quietly train with numbers nobody chose.
REQUIRED_SETTINGS = (
    "method",
    "objective",
    "epochs",
    "learningRate",
    "batchSize",
    "loraRank",
    "loraAlpha",
    "maxSeqLen",
    "seed",
)


class IncompleteSettingsError(ValueError):
    """The hyperparameters a run was given lack a setting (named in the message)."""


def require_settings(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The settings as given, after checking that none is missing (`beta` too, for DPO)."""
    missing = [k for k in REQUIRED_SETTINGS if hyperparameters.get(k) is None]
    if hyperparameters.get("objective") == "dpo" and hyperparameters.get("beta") is None:
        missing.append("beta")
    if missing:
        raise IncompleteSettingsError(
            f"training settings are incomplete: missing {', '.join(missing)}; the orchestrator must send every setting"
        )
    return hyperparameters


ProgressFn = Callable[[dict[str, Any]], None]
CancelFn = Callable[[], bool]


class TrainingCancelled(Exception):
    """Raised between steps when the cancellation check returns True; carries the checkpoints kept
    and the time spent saving, as a finished run's result does."""

    def __init__(
        self, message: str, checkpoints: list[dict[str, Any]] | None = None, checkpoint_seconds: float = 0.0
    ) -> None:
        super().__init__(message)
        self.checkpoints = checkpoints or []
        self.checkpoint_seconds = checkpoint_seconds


@dataclass
class TrainOptions:
    # Checkpoints cost at most this share of the wall time: after a save that took d seconds, the
    # next is due once training has run d * (1 - overhead) / overhead seconds (and at least
    # checkpoint_min_interval_s), plus one at the end of each epoch.
    checkpoint_overhead: float = 0.10
    checkpoint_min_interval_s: float = 20.0
    checkpoint_every_epoch: bool = True
    # A fixed spacing in steps on top of the above (tests); None: time and epochs only.
    checkpoint_every_steps: int | None = None
    # The newest complete checkpoints kept; older ones are deleted once a newer one is complete.
    keep_checkpoints: int = 3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # Padding-free batches (packing.py) wherever the architecture can be packed exactly; False
    # trains on padded batches (the same examples per step, the same loss).
    packing: bool = True


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def lora_config(rank: int, alpha: int) -> Any:
    """The adapters the trainer puts on a model (also what bench:train gives the other trainers)."""
    from peft import LoraConfig

    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=LORA_TARGET_MODULES,
        bias="none",
        task_type="CAUSAL_LM",
    )


def _wrap_lora(model: Any, hp: dict[str, Any]) -> Any:
    from peft import get_peft_model

    return get_peft_model(model, lora_config(int(hp["loraRank"]), int(hp["loraAlpha"])))


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def _lr_lambda(total: int, warmup: int) -> Callable[[int], float]:
    def fn(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return fn


def _batch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed * 1000 + epoch)
    perm = torch.randperm(n, generator=g).tolist()
    return [perm[i : i + batch_size] for i in range(0, n, batch_size)]


class _Sft:
    """Next-token loss on the assistant turns of chat records."""

    def __init__(self, tokenizer: Any, rows: list[dict[str, Any]], max_seq_len: int, sep: int | None) -> None:
        self.examples = [data.encode(tokenizer, r["messages"], max_seq_len, r.get("tools")) for r in rows]
        self.pad_id = int(tokenizer.pad_token_id)
        # Separator positions between packed examples; None: padded batches.
        self.sep = sep

    def tokens(self) -> int:
        return sum(len(e.input_ids) for e in self.examples)

    def step(self, model: Any, idx: list[int]) -> tuple[torch.Tensor, dict[str, Any], int]:
        chosen = [self.examples[i] for i in idx]
        if self.sep is not None:
            p = packing.pack(chosen, self.pad_id, self.sep)
            return packing.sft_loss(model, p), {}, p.real_tokens
        batch = hardware.to_device(data.collate(chosen, self.pad_id), hardware.model_device(model))
        out = model(**batch)
        return out.loss, {}, int(batch["attention_mask"].sum())


class _Dpo:
    """DPO on preference pairs against the base model as the reference policy.

    Reference log-probs: with LoRA the base is the same model with its adapters switched off, so
    each step scores the batch once more with them disabled (no second copy of the weights). Full
    fine-tuning changes the base weights themselves; instead of holding a frozen copy (twice the
    memory) the reference log-probs of every pair are computed once, before the first step and
    before a checkpoint's weights are loaded, from the untouched base. They depend only on the
    base and the data, so a resumed run recomputes exactly the same numbers.
    """

    def __init__(
        self, tokenizer: Any, rows: list[dict[str, Any]], max_seq_len: int, beta: float, sep: int | None
    ) -> None:
        self.pairs = [data.encode_preference(tokenizer, r, max_seq_len) for r in rows]
        self.pad_id = int(tokenizer.pad_token_id)
        self.beta = beta
        self.sep = sep
        self.ref: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def examples(self) -> list[data.EncodedPair]:
        return self.pairs

    def tokens(self) -> int:
        return sum(len(p.chosen.input_ids) + len(p.rejected.input_ids) for p in self.pairs)

    def score(self, model: Any, pairs: list[data.EncodedPair]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(chosen, rejected) answer log-probs under `model`, and the real tokens scored."""
        if self.sep is not None:
            p = packing.pack([x.chosen for x in pairs] + [x.rejected for x in pairs], self.pad_id, self.sep)
            logps = packing.example_logps(model, p)
            return logps[: len(pairs)], logps[len(pairs) :], p.real_tokens
        batch = dpo.collate_pairs(pairs, self.pad_id)
        c, r = dpo.pair_logps(model, batch)
        return c, r, int(batch["attention_mask"].sum())

    def precompute_reference(self, model: Any, batch_size: int, tick: Callable[[], None]) -> None:
        if self.sep is None:
            self.ref = dpo.reference_logps(model, self.pairs, self.pad_id, batch_size, tick=tick)
            return
        was_training = model.training
        model.eval()
        chosen: list[torch.Tensor] = []
        rejected: list[torch.Tensor] = []
        with torch.no_grad():
            for i in range(0, len(self.pairs), batch_size):
                c, r, _ = self.score(model, self.pairs[i : i + batch_size])
                chosen.append(c.float())
                rejected.append(r.float())
                tick()
        model.train(was_training)
        self.ref = torch.cat(chosen), torch.cat(rejected)

    def step(self, model: Any, idx: list[int]) -> tuple[torch.Tensor, dict[str, Any], int]:
        pairs = [self.pairs[i] for i in idx]
        if self.ref is not None:
            ref_c, ref_r = self.ref[0][idx], self.ref[1][idx]
        else:
            with torch.no_grad(), model.disable_adapter():
                ref_c, ref_r, _ = self.score(model, pairs)
        pol_c, pol_r, n_tokens = self.score(model, pairs)
        stats = dpo.dpo_loss(pol_c, pol_r, ref_c.to(pol_c.device), ref_r.to(pol_r.device), self.beta)
        extra = {"rewardAccuracy": stats.reward_accuracy, "rewardMargin": stats.reward_margin}
        return stats.loss, extra, n_tokens


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _fault(point: str) -> None:
    """Test-only fault point: the process kills itself here, as a power cut or OOM kill would."""
    if os.environ.get("EDGETUNE_TRAINER_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class Checkpoints:
    """When to save, what is kept, and what saving cost.

    A checkpoint is complete once its state.json exists (written last); an incomplete one is never
    resumed from, and the previous complete ones stay until a newer one is complete."""

    def __init__(self, prefix: str, opts: TrainOptions, steps_per_epoch: int, start: float) -> None:
        self.prefix = prefix
        self.opts = opts
        self.steps_per_epoch = steps_per_epoch
        self.last_end = start
        self.last_cost = 0.0
        self.total_s = 0.0
        self.saves = 0
        self.kept: list[dict[str, Any]] = []

    def due(self, step: int, now: float) -> bool:
        o = self.opts
        if o.checkpoint_every_steps and step % o.checkpoint_every_steps == 0:
            return True
        if o.checkpoint_every_epoch and step % self.steps_per_epoch == 0:
            return True
        gap = max(o.checkpoint_min_interval_s, self.last_cost * (1 - o.checkpoint_overhead) / o.checkpoint_overhead)
        return now - self.last_end >= gap

    def save(
        self, step: int, model: Any, optimizer: torch.optim.Optimizer, scheduler: Any, metrics: list[dict[str, Any]]
    ) -> str:
        began = time.monotonic()
        key = f"{self.prefix}/checkpoints/step-{step}"
        size = 0
        with tempfile.TemporaryDirectory(prefix="edgetune-ckpt-") as tmp:
            t = Path(tmp)
            # Only what training changes: a LoRA checkpoint holds the adapter and its optimizer state.
            save_file(_trainable_state(model), str(t / "trainable.safetensors"))
            torch.save(optimizer.state_dict(), t / "optimizer.pt")
            torch.save(scheduler.state_dict(), t / "scheduler.pt")
            torch.save({"torch": torch.get_rng_state(), "python": random.getstate()}, t / "rng.pt")
            (t / "metrics.jsonl").write_bytes(_jsonl(metrics))
            size = sum(p.stat().st_size for p in t.iterdir())
            storage.put_dir(t, key)
        self.saves += 1
        # Every file but state.json is written: a kill here leaves this checkpoint incomplete.
        _fault(f"kill-mid-checkpoint:{self.saves}")
        # state.json last: a checkpoint without it is incomplete and never resumed from.
        storage.write_bytes(f"{key}/state.json", json.dumps({"step": step}).encode())
        storage.write_bytes(f"{self.prefix}/metrics.jsonl", _jsonl(metrics))
        cost = time.monotonic() - began
        self.kept = [c for c in self.kept if c["step"] != step] + [
            {"step": step, "key": key, "sizeBytes": size, "saveSeconds": cost}
        ]
        for old in self.kept[: -self.opts.keep_checkpoints]:
            storage.delete_prefix(old["key"])
        self.kept = self.kept[-self.opts.keep_checkpoints :]
        self.last_cost = cost
        self.total_s += cost
        self.last_end = time.monotonic()
        return key

    def adopt_existing(self) -> None:
        """On resume: the complete checkpoints already in storage count toward the ones kept."""
        self.kept = [
            {"step": n, "key": f"{self.prefix}/checkpoints/step-{n}", "sizeBytes": None, "saveSeconds": None}
            for n in complete_checkpoints(self.prefix)
        ]


def complete_checkpoints(prefix: str) -> list[int]:
    """The steps of a job's complete checkpoints (those with their state.json), oldest first."""
    return sorted(
        int(k.split("/checkpoints/step-")[1].split("/")[0])
        for k in storage.list_keys(f"{prefix.rstrip('/')}/checkpoints")
        if k.endswith("/state.json")
    )


def latest_checkpoint(prefix: str) -> str | None:
    """The newest complete checkpoint under a job's prefix (what a resume after a crash starts from)."""
    steps = complete_checkpoints(prefix)
    return f"{prefix.rstrip('/')}/checkpoints/step-{steps[-1]}" if steps else None


def _load_checkpoint(
    key: str, model: Any, optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[int, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="edgetune-resume-") as tmp:
        t = Path(tmp)
        storage.get_prefix(key, t)
        state = json.loads((t / "state.json").read_text())
        tensors = load_file(str(t / "trainable.safetensors"))
        params = dict(model.named_parameters())
        missing = [n for n, p in params.items() if p.requires_grad and n not in tensors]
        if missing:
            raise RuntimeError(f"checkpoint {key} does not match the model (missing {missing[:3]})")
        with torch.no_grad():
            for n, v in tensors.items():
                params[n].copy_(v)
        optimizer.load_state_dict(torch.load(t / "optimizer.pt", weights_only=False))
        scheduler.load_state_dict(torch.load(t / "scheduler.pt", weights_only=False))
        rng = torch.load(t / "rng.pt", weights_only=False)
        torch.set_rng_state(rng["torch"])
        random.setstate(rng["python"])
        metrics = [json.loads(line) for line in (t / "metrics.jsonl").read_text().splitlines() if line]
    return int(state["step"]), metrics


def train(
    *,
    base_model_dir: str | Path,
    train_path: str | Path,
    hyperparameters: dict[str, Any],
    output_prefix: str,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    resume_from: str | None = None,
    options: TrainOptions | None = None,
    checkpoint_on_stop: CancelFn | None = None,
    keepalive: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train and upload the result; returns the TrainOutput dict (activities.ts).

    `keepalive` is called during long work before the first step (DPO reference scoring), where
    no progress record exists yet to report."""
    hp = require_settings(hyperparameters)
    opts = options or TrainOptions()
    prefix = output_prefix.rstrip("/")
    method = str(hp["method"])
    if method not in ("lora", "full"):
        raise ValueError(f"unknown training method {method!r}")
    objective = str(hp["objective"])
    if objective not in ("sft", "dpo"):
        raise ValueError(f"unknown training objective {objective!r}")
    started = time.monotonic()
    set_seed(int(hp["seed"]))

    tokenizer = models.load_tokenizer(base_model_dir)
    device = hardware.train_device()
    hardware.reset_peak(device)
    model = models.load_model(base_model_dir).to(device)
    if hp.get("gradientCheckpointing"):
        # The plan switches it on when the activations would not fit otherwise: each block's
        # activations are recomputed in the backward pass instead of kept.
        model.config.use_cache = False
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if method == "lora":
        model = _wrap_lora(model, hp)
        if hardware.uses_bf16(device):
            # The frozen base is only ever read in bf16: stored so, it is not cast again every step.
            hardware.frozen_linears_to_bf16(model)
    model.train()
    sep = packing.gap(model.config) if opts.packing else None

    rows = data.read_jsonl(train_path)
    task: _Sft | _Dpo
    if objective == "dpo":
        task = _Dpo(tokenizer, rows, int(hp["maxSeqLen"]), float(hp["beta"]), sep)
    else:
        task = _Sft(tokenizer, rows, int(hp["maxSeqLen"]), sep)
    if not task.examples:
        raise ValueError("training split is empty")
    bs = max(1, int(hp["batchSize"]))
    if isinstance(task, _Dpo) and method == "full":

        def tick() -> None:
            if keepalive is not None:
                keepalive()
            if should_cancel is not None and should_cancel():
                raise TrainingCancelled("stopped while scoring the reference model")

        with hardware.autocast(device):
            task.precompute_reference(model, bs, tick)
    steps_per_epoch = math.ceil(len(task.examples) / bs)
    total = steps_per_epoch * int(hp["epochs"])
    warmup = max(1, int(total * opts.warmup_ratio))

    trainable = [p for p in model.parameters() if p.requires_grad]
    # The fused kernel (one pass over each parameter's state, on CPU and CUDA) rather than a loop of
    # tensor ops: the optimizer step of a full fine-tune is a visible share of each step.
    optimizer = torch.optim.AdamW(
        trainable, lr=float(hp["learningRate"]), weight_decay=opts.weight_decay, fused=device.type in ("cpu", "cuda")
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(total, warmup))

    step = 0
    metrics: list[dict[str, Any]] = []
    if resume_from:
        step, metrics = _load_checkpoint(resume_from, model, optimizer, scheduler)
    resumed_from = step

    tokens_seen = 0
    train_tokens = task.tokens() * int(hp["epochs"])
    loop_start = time.monotonic()
    ckpts = Checkpoints(prefix, opts, steps_per_epoch, loop_start)
    if resume_from:
        ckpts.adopt_existing()
    checkpoint_key: str | None = resume_from
    loss_val = float("nan")
    order_cache: dict[int, list[list[int]]] = {}

    while step < total:
        if should_cancel is not None and should_cancel():
            if checkpoint_on_stop is not None and checkpoint_on_stop() and step > resumed_from:
                # Keep the work done so far: the heartbeat carrying this key lets a retried
                # attempt (e.g. after a worker shutdown) resume here.
                checkpoint_key = ckpts.save(step, model, optimizer, scheduler, metrics)
                if progress is not None and metrics:
                    progress({**metrics[-1], "checkpointKey": checkpoint_key})
            raise TrainingCancelled(f"stopped at step {step}", ckpts.kept, ckpts.total_s)
        epoch = step // steps_per_epoch
        if epoch not in order_cache:
            order_cache = {epoch: _batch_order(len(task.examples), bs, int(hp["seed"]), epoch)}
        with hardware.autocast(device):
            loss, extra, n_tokens = task.step(model, order_cache[epoch][step % steps_per_epoch])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, opts.max_grad_norm)
        lr = float(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        loss_val = float(loss.detach())
        tokens_seen += n_tokens
        tps = tokens_seen / max(1e-6, time.monotonic() - loop_start)

        now = time.monotonic()
        record: dict[str, Any] = {
            "step": step,
            "totalSteps": total,
            "epoch": step / steps_per_epoch,
            "loss": loss_val,
            "learningRate": lr,
            "tokensPerSecond": tps,
            # Tokens trained so far: the platform prices a running job from it (spending cap).
            "tokensSeen": tokens_seen,
            "checkpointKey": checkpoint_key,
            **extra,
        }
        metrics.append(dict(record))
        if step < total and ckpts.due(step, now):
            checkpoint_key = ckpts.save(step, model, optimizer, scheduler, metrics)
            record["checkpointKey"] = checkpoint_key
            metrics[-1]["checkpointKey"] = checkpoint_key
        if progress is not None:
            progress(record)

    trained_prefix = f"{prefix}/adapter" if method == "lora" else f"{prefix}/model"
    with tempfile.TemporaryDirectory(prefix="edgetune-out-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        storage.put_dir(tmp, trained_prefix)
    metrics_key = f"{prefix}/metrics.jsonl"
    storage.write_bytes(metrics_key, _jsonl(metrics))
    elapsed = time.monotonic() - started
    result = {
        "trainedPrefix": trained_prefix,
        "method": method,
        "objective": objective,
        "steps": step,
        "finalLoss": loss_val,
        "trainTokens": train_tokens,
        "durationS": elapsed,
        "tokensPerSecond": tokens_seen / max(1e-6, time.monotonic() - loop_start),
        "resumedFromStep": resumed_from,
        "metricsKey": metrics_key,
        # The checkpoints kept (newest last) and what saving cost: under opts.checkpoint_overhead.
        "checkpoints": ckpts.kept,
        "checkpointSeconds": ckpts.total_s,
        # What trained it (GPU or CPU, bf16 or not) and its peak memory: the job records both.
        "hardware": hardware.describe(device),
        # Whether the memory plan's gradient checkpointing was in effect.
        "gradientCheckpointing": bool(getattr(model, "is_gradient_checkpointing", False)),
        # Padding-free batches (False: padded, for an architecture that cannot be packed exactly).
        "packing": sep is not None,
    }
    storage.write_bytes(f"{prefix}/train-result.json", json.dumps(result).encode())
    return result


def existing_result(output_prefix: str) -> dict[str, Any] | None:
    """A completed run's TrainOutput, so a retried activity returns it instead of retraining."""
    key = f"{output_prefix.rstrip('/')}/train-result.json"
    if storage.exists(key):
        return dict(json.loads(storage.read_bytes(key)))
    return None
