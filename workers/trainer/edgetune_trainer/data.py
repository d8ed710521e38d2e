"""Chat JSONL -> token ids + loss masks, and batch collation; preference pairs the same way.

Examples are rendered with the base model's own chat template (the exact text the deployed
model will see), and only assistant turns - their content and the closing end-of-turn token -
carry loss; an assistant turn with `"weight": 0` is context only. Spans are found by rendering
growing prefixes of the conversation, so this works for any template where a prefix's rendering
is a prefix of the full rendering (ChatML, LFM2).

Records may carry OpenAI-style tools: `tools` on the record, `tool_calls` on assistant messages
(content may then be null) and `tool` messages. Templates that read `tool_calls` get them as they
are; for the others (LFM2 expects calls written in the assistant text) the calls are written into
the content between the template's tool-call markers, so they are trained on like any answer.

Preference records (`{"prompt", "chosen", "rejected"}`, each side a string or messages) become two
conversations, prompt + chosen and prompt + rejected, encoded by the same code: the answer is the
assistant turn after the prompt's generation prompt, and only it carries loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant", "tool")
TOOL_CALL_START = "<|tool_call_start|>"
TOOL_CALL_END = "<|tool_call_end|>"


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]


@dataclass(frozen=True)
class EncodedPair:
    chosen: Encoded
    rejected: Encoded


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _template_source(tokenizer: Any) -> str:
    t = getattr(tokenizer, "chat_template", None)
    if isinstance(t, dict):
        t = t.get("default") or next(iter(t.values()), "")
    return t if isinstance(t, str) else ""


def _calls_text(tokenizer: Any, calls: list[dict[str, Any]]) -> str:
    """Tool calls as text: a JSON list of {name, arguments}, inside the tool-call markers when the
    tokenizer has them (LFM2), bare otherwise."""
    out = []
    for c in calls:
        fn = c.get("function") or {}
        args: Any = fn.get("arguments", "{}")
        try:
            args = json.loads(args) if isinstance(args, str) else args
        except json.JSONDecodeError:
            pass
        out.append({"name": fn.get("name"), "arguments": args})
    text = json.dumps(out, ensure_ascii=False)
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    if TOOL_CALL_START in vocab and TOOL_CALL_END in vocab:
        return f"{TOOL_CALL_START}{text}{TOOL_CALL_END}"
    return text


def for_template(tokenizer: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages the chat template can render: null content becomes text, and tool calls are
    written into the content unless the template renders `tool_calls` itself."""
    native = "tool_calls" in _template_source(tokenizer)
    out: list[dict[str, Any]] = []
    for m in messages:
        m2 = dict(m)
        content = m2.get("content")
        if not isinstance(content, str):
            content = "" if content is None else json.dumps(content, ensure_ascii=False)
        calls = m2.get("tool_calls")
        if calls and not native:
            content = content + _calls_text(tokenizer, calls)
            m2.pop("tool_calls", None)
        m2["content"] = content
        out.append(m2)
    return out


def render(
    tokenizer: Any,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = False,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": add_generation_prompt}
    if tools:
        kwargs["tools"] = tools
    text = tokenizer.apply_chat_template(for_template(tokenizer, messages), **kwargs)
    return str(text)


def tokenize_text(tokenizer: Any, text: str) -> list[int]:
    # The template already contains BOS; never let the tokenizer add a second one.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def assistant_spans(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text plus [start, end) character spans that should carry loss."""
    full = render(tokenizer, messages, tools=tools)
    eos = tokenizer.eos_token or ""
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant" or m.get("weight") == 0:
            continue
        start = len(render(tokenizer, messages[:i], add_generation_prompt=True, tools=tools)) if i else 0
        end = len(render(tokenizer, messages[: i + 1], tools=tools))
        # Stop right after the end-of-turn token; the newline that follows is not predicted at
        # inference time (generation stops at EOS).
        eos_at = full.rfind(eos, start, end) if eos else -1
        if eos_at >= 0:
            end = eos_at + len(eos)
        spans.append((start, end))
    return full, spans


def encode(
    tokenizer: Any, messages: list[dict[str, Any]], max_seq_len: int, tools: list[dict[str, Any]] | None = None
) -> Encoded:
    full, spans = assistant_spans(tokenizer, messages, tools)
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    labels: list[int] = []
    for tok_id, (s, e) in zip(ids, enc["offset_mapping"], strict=True):
        inside = any(a <= s < b for a, b in spans) and e > s
        labels.append(tok_id if inside else IGNORE_INDEX)
    return Encoded(ids[:max_seq_len], labels[:max_seq_len])


def prompt_and_reference(
    tokenizer: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> tuple[list[int], str]:
    """Prompt ids up to the final assistant turn (with generation prompt) and its reference text
    (tool calls included, as the template writes them)."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    text = render(tokenizer, messages[:last], add_generation_prompt=True, tools=tools)
    # Decoding a generation drops special tokens, so the reference leaves the markers out too.
    reference = for_template(tokenizer, [messages[last]])[0]["content"]
    reference = reference.replace(TOOL_CALL_START, "").replace(TOOL_CALL_END, "")
    return tokenize_text(tokenizer, text), reference


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


def preference_sides(
    rec: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(prompt, chosen, rejected) as message lists: a string prompt is one user turn, a string
    answer one assistant turn (the stored format keeps strings as they were uploaded)."""

    def side(v: Any, role: str) -> list[dict[str, Any]]:
        return [{"role": role, "content": v}] if isinstance(v, str) else [dict(m) for m in v]

    return side(rec["prompt"], "user"), side(rec["chosen"], "assistant"), side(rec["rejected"], "assistant")


def preference_conversations(rec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(prompt + chosen, prompt + rejected) as chat messages."""
    prompt, chosen, rejected = preference_sides(rec)
    # Assistant turns inside the prompt are context (weight 0); every answer turn carries loss,
    # whatever weight it was given, since the whole answer is what is preferred or rejected.
    context = [{**m, "weight": 0} if m["role"] == "assistant" else m for m in prompt]

    def answer(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in m.items() if k != "weight"} for m in msgs]

    return context + answer(chosen), context + answer(rejected)


def encode_preference(tokenizer: Any, rec: dict[str, Any], max_seq_len: int) -> EncodedPair:
    chosen, rejected = preference_conversations(rec)
    return EncodedPair(encode(tokenizer, chosen, max_seq_len), encode(tokenizer, rejected, max_seq_len))


def preference_as_chat(rec: dict[str, Any]) -> dict[str, Any]:
    """The pair as the chat record of its preferred answer (what task accuracy is measured on)."""
    chosen, _ = preference_conversations(rec)
    return {"messages": chosen}
