"""Padding-free batches: a step's examples laid end to end in one row, and the loss on them.

A padded batch spends compute on nothing: a 60-token and a 900-token chat padded to 900 tokens
each is 1800 positions for 960 real tokens. Packing keeps the step's examples (the same batch,
the same loss) and drops the padding. Logits are computed only where a label is predicted (the
assistant turns), not for every prompt token: the vocabulary projection and its softmax are a
fifth of a small model's work per position.

Nothing may cross from one example to the next:
- attention: position ids restart at 0 for every example, and transformers builds the
  block-diagonal causal mask from them (masking_utils.find_packed_sequence_indices);
- LFM2's short convolutions look back `conv_L_cache - 1` positions. That many separator positions
  sit between examples, and the conv layers' padding mask zeroes them; with no bias on the
  convolution's input projection it then sees zeros before each example, exactly the causal zero
  padding an example alone sees. A model with that bias cannot be packed exactly (`gap` is None)
  and trains on padded batches instead;
- loss: no position predicts the first token of the next example, nor a separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from . import data


def gap(config: Any) -> int | None:
    """Separator positions needed between examples for this architecture; None: not packable."""
    kinds = set(getattr(config, "layer_types", None) or [])
    if "conv" not in kinds:
        return 0
    if getattr(config, "conv_bias", False):
        return None
    return int(getattr(config, "conv_L_cache", 3)) - 1


# Rows are filled up to this many tokens (or the step's longest example, if longer): attention
# over a packed row costs the square of its length, blocks of other examples included, so one
# row of a whole step would spend a third of the step on attention at LFM2-350M.
ROW_TOKENS = 1024


@dataclass(frozen=True)
class Packed:
    input_ids: torch.Tensor  # [rows, T]
    position_ids: torch.Tensor  # [rows, T], restarting at 0 for every example (and every separator run)
    real: torch.Tensor  # [rows, T] bool: an example's token, not a separator or row padding
    keep: torch.Tensor  # [rows, T] bool: positions whose next token carries loss
    targets: torch.Tensor  # [n_keep]: the tokens those positions predict, in `keep`'s row-major order
    target_example: torch.Tensor  # [n_keep]: which example (index in the list packed) each belongs to
    examples: int
    real_tokens: int


def _rows(lengths: list[int], sep: int, limit: int) -> list[list[int]]:
    """Best-fit decreasing: each example, longest first, goes to the fullest row it still fits."""
    rows: list[list[int]] = []
    used: list[int] = []
    for k in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        best = -1
        for r, u in enumerate(used):
            if u + sep + lengths[k] <= limit and (best < 0 or u > used[best]):
                best = r
        if best < 0:
            rows.append([k])
            used.append(lengths[k])
        else:
            rows[best].append(k)
            used[best] += sep + lengths[k]
    return rows


def pack(examples: list[data.Encoded], pad_id: int, sep: int, row_tokens: int = ROW_TOKENS) -> Packed:
    lengths = [len(e.input_ids) for e in examples]
    limit = max([row_tokens, *lengths])
    layout = _rows(lengths, sep, limit)
    width = 0
    cols: list[tuple[list[int], list[int], list[bool], list[int], list[int]]] = []
    for row in layout:
        ids: list[int] = []
        pos: list[int] = []
        real: list[bool] = []
        labels: list[int] = []
        owner: list[int] = []
        for j, k in enumerate(row):
            e = examples[k]
            if j and sep:
                ids += [pad_id] * sep
                pos += list(range(sep))
                real += [False] * sep
                labels += [data.IGNORE_INDEX] * sep
                owner += [-1] * sep
            n = len(e.input_ids)
            ids += e.input_ids
            pos += list(range(n))
            real += [True] * n
            # The first token is never predicted: in a packed row the position before it is another
            # example's (or a separator).
            labels += [data.IGNORE_INDEX, *e.labels[1:]]
            owner += [k] * n
        width = max(width, len(ids))
        cols.append((ids, pos, real, labels, owner))
    for ids, pos, real, labels, owner in cols:
        # Row padding is one more segment of its own, like a separator.
        fill = width - len(ids)
        ids += [pad_id] * fill
        pos += list(range(fill))
        real += [False] * fill
        labels += [data.IGNORE_INDEX] * fill
        owner += [-1] * fill
    lab = torch.tensor([c[3] for c in cols], dtype=torch.long)
    keep = torch.zeros_like(lab, dtype=torch.bool)
    keep[:, :-1] = lab[:, 1:] != data.IGNORE_INDEX
    shifted_lab = torch.full_like(lab, data.IGNORE_INDEX)
    shifted_lab[:, :-1] = lab[:, 1:]
    shifted_owner = torch.full_like(lab, -1)
    shifted_owner[:, :-1] = torch.tensor([c[4] for c in cols], dtype=torch.long)[:, 1:]
    return Packed(
        input_ids=torch.tensor([c[0] for c in cols], dtype=torch.long),
        position_ids=torch.tensor([c[1] for c in cols], dtype=torch.long),
        real=torch.tensor([c[2] for c in cols], dtype=torch.bool),
        keep=keep,
        targets=shifted_lab[keep],
        target_example=shifted_owner[keep],
        examples=len(examples),
        real_tokens=sum(lengths),
    )


def _attention_masks(model: Any, p: Packed, device: torch.device) -> dict[str, Any]:
    """One mask per layer type, as the model's forward accepts them: the packed causal mask for
    attention layers (built by transformers from the restarting position ids), the real-token mask
    for conv layers (zero on separators)."""
    from transformers.masking_utils import create_causal_mask

    config = model.config
    dtype = next(model.parameters()).dtype
    shape_only = torch.empty((*p.input_ids.shape, 0), dtype=dtype, device=device)
    out: dict[str, Any] = {}
    for kind in set(config.layer_types):
        if kind == "conv":
            out[kind] = p.real.to(device)
        else:
            out[kind] = create_causal_mask(
                config=config,
                inputs_embeds=shape_only,
                attention_mask=None,
                past_key_values=None,
                position_ids=p.position_ids.to(device),
            )
    return out


def forward_logits(model: Any, p: Packed) -> torch.Tensor:
    """Logits at the `keep` positions only: [n_keep, vocab]."""
    device = next(model.parameters()).device
    out = model(
        input_ids=p.input_ids.to(device),
        position_ids=p.position_ids.to(device),
        attention_mask=_attention_masks(model, p, device),
        logits_to_keep=p.keep.to(device),
        use_cache=False,
    )
    return out.logits


def _no_targets(model: Any, *shape: int) -> torch.Tensor:
    """Zeros that backpropagate nothing, for a step whose examples lost every answer token to
    truncation: a leaf asking for a gradient (when gradients are on), so the step's backward runs."""
    return torch.zeros(shape, device=next(model.parameters()).device, requires_grad=torch.is_grad_enabled())


def sft_loss(model: Any, p: Packed) -> torch.Tensor:
    """Mean next-token loss over every answer token of the step: the value transformers' own loss
    gives the same examples padded."""
    if p.targets.numel() == 0:
        return _no_targets(model)
    logits = forward_logits(model, p)
    return F.cross_entropy(logits.float(), p.targets.to(logits.device))


def example_logps(model: Any, p: Packed) -> torch.Tensor:
    """Summed log-probability of each example's answer tokens: [examples]."""
    if p.targets.numel() == 0:
        return _no_targets(model, p.examples)
    device = next(model.parameters()).device
    logits = forward_logits(model, p).float()
    targets = p.targets.to(device)
    # gather - logsumexp: never a second [n_keep, vocab] tensor.
    token = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    return torch.zeros(p.examples, device=device, dtype=token.dtype).index_add(0, p.target_example.to(device), token)
