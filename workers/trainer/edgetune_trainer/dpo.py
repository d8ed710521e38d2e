"""Direct Preference Optimization (Rafailov et al., 2023): the objective, written out.

For a pair (prompt x, chosen y_c, rejected y_r) with sequence log-probabilities summed over the
answer tokens only (the labels `data.encode_preference` builds):

    loss = -log sigmoid(beta * ((pi(y_c|x) - ref(y_c|x)) - (pi(y_r|x) - ref(y_r|x))))

The implicit reward of an answer is beta * (pi - ref). Reward accuracy is the fraction of pairs
whose chosen reward exceeds the rejected one; the reward margin is their mean difference. These
are the numbers TRL reports as rewards/accuracies and rewards/margins, so runs stay comparable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from . import data, hardware


@dataclass(frozen=True)
class DpoStats:
    loss: torch.Tensor
    reward_accuracy: float
    reward_margin: float


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed log-probability of each row's labelled tokens; [batch]."""
    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    mask = shift_labels != data.IGNORE_INDEX
    idx = shift_labels.clamp(min=0).unsqueeze(-1)
    # gather - logsumexp rather than log_softmax: never materializes a second [batch, len, vocab].
    token_logps = shift_logits.gather(-1, idx).squeeze(-1) - torch.logsumexp(shift_logits, dim=-1)
    return (token_logps * mask).sum(-1)


def collate_pairs(pairs: list[data.EncodedPair], pad_id: int) -> dict[str, torch.Tensor]:
    """Chosen rows first, then rejected rows: one forward pass scores both sides."""
    return data.collate([p.chosen for p in pairs] + [p.rejected for p in pairs], pad_id)


def pair_logps(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen, rejected) sequence log-probs of a `collate_pairs` batch under `model`."""
    batch = hardware.to_device(batch, hardware.model_device(model))
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = sequence_logps(logits.float(), batch["labels"])
    n = logps.shape[0] // 2
    return logps[:n], logps[n:]


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> DpoStats:
    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    margins = chosen_rewards - rejected_rewards
    loss = -F.logsigmoid(margins).mean()
    return DpoStats(
        loss=loss,
        reward_accuracy=float((margins.detach() > 0).float().mean()),
        reward_margin=float(margins.detach().mean()),
    )


@torch.no_grad()
def reference_logps(
    model: Any,
    pairs: list[data.EncodedPair],
    pad_id: int,
    batch_size: int = 8,
    tick: Callable[[], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen, rejected) log-probs of every pair under `model`, in `pairs` order; [n] each.
    `tick` runs after every batch (heartbeats, cancellation)."""
    was_training = model.training
    model.eval()
    chosen: list[torch.Tensor] = []
    rejected: list[torch.Tensor] = []
    for i in range(0, len(pairs), batch_size):
        c, r = pair_logps(model, collate_pairs(pairs[i : i + batch_size], pad_id))
        chosen.append(c)
        rejected.append(r)
        if tick is not None:
            tick()
    model.train(was_training)
    empty = torch.zeros(0)
    return (torch.cat(chosen) if chosen else empty), (torch.cat(rejected) if rejected else empty)
