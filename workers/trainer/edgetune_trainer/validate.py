"""Dataset validation against the base model's real tokenizer and context length.

Errors name the split and the 1-based line so the portal can point at the exact record. The
error list is capped so the Temporal payload stays far below its 256 KB warning size.

An example longer than the job trains on (maxSeqLen, or the model's context when smaller) is not
an error: the upload already warned that training truncates such examples, so they train on
their first tokens (data.encode) and come back as warnings with a count. Failing here, minutes
after an upload that was accepted, would break that promise.

A supervised job ("sft") trains on chat records; a DPO job on preference pairs, whose length is
that of the longer conversation (prompt + chosen or prompt + rejected), since both are trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import data

MAX_ERRORS = 200
MAX_WARNINGS = 20


def _check_message(i: int, m: Any, call_ids: set[str]) -> str | None:
    if not isinstance(m, dict):
        return f"message {i} must be an object"
    role = m.get("role")
    if role not in data.ROLES:
        return f"message {i} has invalid role {role!r} (expected system, user, assistant or tool)"
    content = m.get("content")
    calls = m.get("tool_calls")
    if calls is not None:
        if role != "assistant" or not isinstance(calls, list) or not calls:
            return f"message {i} has tool_calls, which must be a non-empty list on an assistant message"
        for c in calls:
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                return f"message {i} has a tool call without a function name"
            if isinstance(c.get("id"), str):
                call_ids.add(c["id"])
        if content is not None and not isinstance(content, str):
            return f"message {i} has non-string content"
    elif role == "tool":
        if not isinstance(content, str):
            return f"message {i} (tool) has non-string content"
        if m.get("tool_call_id") is not None and m.get("tool_call_id") not in call_ids:
            return f"message {i} (tool) answers an unknown tool call {m.get('tool_call_id')!r}"
    elif not isinstance(content, str) or not content.strip():
        return f"message {i} has empty or non-string content"
    weight = m.get("weight")
    if weight is not None and weight not in (0, 1):
        return f"message {i} has weight {weight!r} (expected 0 or 1)"
    return None


def _check_record(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "record must be a JSON object"
    if "chosen" in obj or "rejected" in obj:
        return "a preference pair, but this job trains supervised on chat records (messages)"
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "missing or empty 'messages' array"
    tools = obj.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "'tools' must be a list"
    call_ids: set[str] = set()
    for i, m in enumerate(msgs, start=1):
        problem = _check_message(i, m, call_ids)
        if problem:
            return problem
    if not any(m["role"] == "assistant" for m in msgs):
        return "no assistant message"
    if not any(m["role"] == "assistant" and m.get("weight") != 0 for m in msgs):
        return "every assistant message has weight 0: nothing to learn from"
    return None


def _check_side(name: str, v: Any, assistant_only: bool) -> str | None:
    if isinstance(v, str):
        return None if v.strip() else f"'{name}' is empty"
    if not isinstance(v, list) or not v:
        return f"'{name}' must be a non-empty string or a non-empty list of messages"
    call_ids: set[str] = set()
    for i, m in enumerate(v, start=1):
        problem = _check_message(i, m, call_ids)
        if problem:
            return f"'{name}' {problem}"
        if assistant_only and m["role"] != "assistant":
            return f"'{name}' message {i} has role {m['role']!r}; an answer holds assistant messages only"
    return None


def _check_preference(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "record must be a JSON object"
    if "messages" in obj:
        return "a chat record, but this job trains with DPO on preference pairs (prompt, chosen, rejected)"
    for name in ("prompt", "chosen", "rejected"):
        if name not in obj:
            return f"missing '{name}'"
        problem = _check_side(name, obj[name], name != "prompt")
        if problem:
            return problem
    if obj["chosen"] == obj["rejected"]:
        return "'chosen' and 'rejected' are identical"
    return None


def _token_count(tokenizer: Any, obj: dict[str, Any], objective: str) -> tuple[int, int]:
    """(longest sequence, tokens trained on) of one valid record."""
    if objective == "dpo":
        chosen, rejected = data.preference_conversations(obj)
        a = len(data.tokenize_text(tokenizer, data.render(tokenizer, chosen)))
        b = len(data.tokenize_text(tokenizer, data.render(tokenizer, rejected)))
        return max(a, b), a + b
    n = len(data.tokenize_text(tokenizer, data.render(tokenizer, obj["messages"], tools=obj.get("tools"))))
    return n, n


def _trained_after_truncation(tokenizer: Any, obj: dict[str, Any], objective: str, limit: int) -> int:
    """Tokens still trained on once a too-long example is cut to its first `limit` tokens."""
    if objective == "dpo":
        pair = data.encode_preference(tokenizer, obj, limit)
        return sum(1 for x in pair.chosen.labels if x != data.IGNORE_INDEX) + sum(
            1 for x in pair.rejected.labels if x != data.IGNORE_INDEX
        )
    enc = data.encode(tokenizer, obj["messages"], limit, obj.get("tools"))
    return sum(1 for x in enc.labels if x != data.IGNORE_INDEX)


def validate_split(
    path: str | Path,
    split: str,
    tokenizer: Any,
    max_seq_len: int,
    context_length: int,
    objective: str = "sft",
) -> dict[str, Any]:
    """Errors, warnings (truncated examples) and counts for one JSONL file."""
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    examples = tokens = max_tokens = truncated = 0
    limit = min(max_seq_len, context_length) if context_length > 0 else max_seq_len
    which = "maxSeqLen" if limit == max_seq_len else "the model context length"
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append({"line": lineno, "split": split, "message": f"invalid JSON: {e.msg}"})
                continue
            problem = _check_preference(obj) if objective == "dpo" else _check_record(obj)
            if problem is not None:
                errors.append({"line": lineno, "split": split, "message": problem})
                continue
            n, trained = _token_count(tokenizer, obj, objective)
            if n > limit:
                truncated += 1
                trained = _trained_after_truncation(tokenizer, obj, objective, limit)
                if len(warnings) < MAX_WARNINGS:
                    cut = f"example has {n} tokens; training keeps its first {limit} ({which})"
                    if trained == 0:
                        cut += ", which hold none of the answer: it teaches nothing"
                    warnings.append({"line": lineno, "split": split, "message": cut})
            examples += 1
            tokens += trained
            max_tokens = max(max_tokens, n)
    if examples == 0 and not errors:
        errors.append({"line": 1, "split": split, "message": "split has no examples"})
    return {
        "errors": errors,
        "warnings": warnings,
        "examples": examples,
        "tokens": tokens,
        "max_tokens": max_tokens,
        "truncated": truncated,
    }


def validate_dataset(
    *,
    tokenizer: Any,
    train_path: str | Path,
    eval_path: str | Path,
    max_seq_len: int,
    context_length: int,
    objective: str = "sft",
) -> dict[str, Any]:
    """Returns the ValidateDatasetOutput dict (activities.ts)."""
    t = validate_split(train_path, "train", tokenizer, max_seq_len, context_length, objective)
    e = validate_split(eval_path, "eval", tokenizer, max_seq_len, context_length, objective)
    errors = (t["errors"] + e["errors"])[:MAX_ERRORS]
    if not errors and t["tokens"] == 0:
        limit = min(max_seq_len, context_length) if context_length > 0 else max_seq_len
        errors = [{"line": 1, "split": "train", "message": f"no example has an answer within the first {limit} tokens: nothing to train on"}]
    return {
        "ok": not errors,
        "errors": errors,
        "warnings": (t["warnings"] + e["warnings"])[:MAX_WARNINGS],
        "truncatedExamples": t["truncated"] + e["truncated"],
        "trainExamples": t["examples"],
        "evalExamples": e["examples"],
        "trainTokens": t["tokens"],
        "maxTokens": max(t["max_tokens"], e["max_tokens"]),
    }
