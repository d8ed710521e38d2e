"""Held-out evaluation: loss, token accuracy and task accuracy (trained vs. untrained base).

Task accuracy is exact match (strip + casefold) of the greedily generated final assistant turn
against the reference; it is the same metric the device agents compute on quantized GGUFs, so
numbers stay comparable along the pipeline.

A DPO job's held-out split holds preference pairs. Its loss is the DPO loss of the trained model
against the base (the reference), with reward accuracy (share of pairs where the chosen answer
gained more log-probability over the reference than the rejected one) and the mean reward margin;
token and task accuracy are measured on prompt + chosen as a chat, so "task accuracy" means
producing the preferred answer - the same conversion the device benchmarks get.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from . import data, dpo, models, storage


def normalize(text: str) -> str:
    return text.strip().casefold()


@torch.no_grad()
def loss_and_token_accuracy(
    model: Any, tokenizer: Any, rows: list[dict[str, Any]], max_seq_len: int
) -> tuple[float, float]:
    model.eval()
    total_loss, total_tokens, correct = 0.0, 0, 0
    pad = int(tokenizer.pad_token_id)
    encoded = [data.encode(tokenizer, r["messages"], max_seq_len, r.get("tools")) for r in rows]
    for i in range(0, len(encoded), 8):
        batch = data.collate(encoded[i : i + 8], pad)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        # Position t predicts token t+1.
        shift_logits = logits[:, :-1, :]
        shift_labels = batch["labels"][:, 1:]
        mask = shift_labels != data.IGNORE_INDEX
        n = int(mask.sum())
        if n == 0:
            continue
        loss = torch.nn.functional.cross_entropy(shift_logits[mask].float(), shift_labels[mask], reduction="sum")
        total_loss += float(loss)
        correct += int((shift_logits.argmax(-1)[mask] == shift_labels[mask]).sum())
        total_tokens += n
    if total_tokens == 0:
        return float("nan"), 0.0
    return total_loss / total_tokens, correct / total_tokens


@torch.no_grad()
def pair_logps(model: Any, tokenizer: Any, pairs: list[data.EncodedPair]) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    return dpo.reference_logps(model, pairs, int(tokenizer.pad_token_id))


@torch.no_grad()
def generate_answer(model: Any, tokenizer: Any, prompt_ids: list[int], max_new_tokens: int) -> str:
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))


def task_accuracy(model: Any, tokenizer: Any, rows: list[dict[str, Any]], max_new_tokens: int) -> float:
    model.eval()
    if not rows:
        return 0.0
    hits = 0
    for r in rows:
        prompt, reference = data.prompt_and_reference(tokenizer, r["messages"], r.get("tools"))
        answer = generate_answer(model, tokenizer, prompt, max_new_tokens)
        hits += int(normalize(answer) == normalize(reference))
    return hits / len(rows)


def evaluate(
    *,
    base_model_dir: str | Path,
    trained_prefix: str,
    method: str,
    eval_path: str | Path,
    max_new_tokens: int = 32,
    max_seq_len: int = 2048,
    objective: str = "sft",
    beta: float | None = None,
) -> dict[str, Any]:
    """Returns the EvaluateOutput dict (activities.ts). `beta`: the job's, required for DPO."""
    if objective == "dpo" and beta is None:
        raise ValueError("evaluating a DPO job needs its beta; the orchestrator must send it")
    rows = data.read_jsonl(eval_path)
    tokenizer = models.load_tokenizer(base_model_dir)
    pairs: list[data.EncodedPair] = []
    if objective == "dpo":
        pairs = [data.encode_preference(tokenizer, r, max_seq_len) for r in rows]
        rows = [data.preference_as_chat(r) for r in rows]
    # The base is loaded once: scored first, then the LoRA adapter is merged into it in place.
    base = models.load_model(base_model_dir)
    base_acc = task_accuracy(base, tokenizer, rows, max_new_tokens)
    ref = pair_logps(base, tokenizer, pairs) if pairs else None
    if method == "full":
        base = None  # replaced by the full checkpoint: one model in memory at a time
    with tempfile.TemporaryDirectory(prefix="edgetune-eval-") as tmp:
        storage.get_prefix(trained_prefix, tmp)
        trained = models.load_trained(base_model_dir, tmp, method, base=base)
    loss, tok_acc = loss_and_token_accuracy(trained, tokenizer, rows, max_seq_len)
    acc = task_accuracy(trained, tokenizer, rows, max_new_tokens)
    out: dict[str, Any] = {
        "loss": loss,
        "tokenAccuracy": tok_acc,
        "taskAccuracy": acc,
        "baseTaskAccuracy": base_acc,
        "examples": len(rows),
    }
    if ref is not None:
        pol = pair_logps(trained, tokenizer, pairs)
        assert beta is not None  # checked above
        stats = dpo.dpo_loss(pol[0], pol[1], ref[0], ref[1], beta)
        out.update(
            loss=float(stats.loss),
            rewardAccuracy=stats.reward_accuracy,
            rewardMargin=stats.reward_margin,
        )
    return out
