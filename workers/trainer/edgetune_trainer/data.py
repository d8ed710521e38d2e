"""Chat JSONL -> token ids + loss masks, and batch collation.

Examples are rendered with the base model's own chat template (the exact text the deployed
model will see), and only assistant turns - their content and the closing end-of-turn token -
carry loss. Spans are found by rendering growing prefixes of the conversation, so this works for
any template where a prefix's rendering is a prefix of the full rendering (ChatML, LFM2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def render(tokenizer: Any, messages: list[dict[str, str]], *, add_generation_prompt: bool = False) -> str:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    return str(text)


def tokenize_text(tokenizer: Any, text: str) -> list[int]:
    # The template already contains BOS; never let the tokenizer add a second one.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text plus [start, end) character spans that should carry loss."""
    full = render(tokenizer, messages)
    eos = tokenizer.eos_token or ""
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        start = len(render(tokenizer, messages[:i], add_generation_prompt=True)) if i else 0
        end = len(render(tokenizer, messages[: i + 1]))
        # Stop right after the end-of-turn token; the newline that follows is not predicted at
        # inference time (generation stops at EOS).
        eos_at = full.rfind(eos, start, end) if eos else -1
        if eos_at >= 0:
            end = eos_at + len(eos)
        spans.append((start, end))
    return full, spans


def encode(tokenizer: Any, messages: list[dict[str, str]], max_seq_len: int) -> Encoded:
    full, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    labels: list[int] = []
    for tok_id, (s, e) in zip(ids, enc["offset_mapping"], strict=True):
        inside = any(a <= s < b for a, b in spans) and e > s
        labels.append(tok_id if inside else IGNORE_INDEX)
    return Encoded(ids[:max_seq_len], labels[:max_seq_len])


def prompt_and_reference(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], str]:
    """Prompt ids up to the final assistant turn (with generation prompt) and its reference text."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    text = render(tokenizer, messages[:last], add_generation_prompt=True)
    return tokenize_text(tokenizer, text), messages[last]["content"]


def collate(batch: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example; padding never carries loss or attention."""
    width = max(len(b.input_ids) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, b in enumerate(batch):
        n = len(b.input_ids)
        ids[row, :n] = torch.tensor(b.input_ids, dtype=torch.long)
        labels[row, :n] = torch.tensor(b.labels, dtype=torch.long)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}
