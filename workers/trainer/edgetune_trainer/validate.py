"""Dataset validation against the base model's real tokenizer and context length.

Errors name the split and the 1-based line so the portal can point at the exact record. The
error list is capped so the Temporal payload stays far below its 256 KB warning size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import data

MAX_ERRORS = 200


def _check_record(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "record must be a JSON object"
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "missing or empty 'messages' array"
    for i, m in enumerate(msgs, start=1):
        if not isinstance(m, dict):
            return f"message {i} must be an object"
        role = m.get("role")
        if role not in data.ROLES:
            return f"message {i} has invalid role {role!r} (expected system, user or assistant)"
        content = m.get("content")
        if not isinstance(content, str) or not content.strip():
            return f"message {i} has empty or non-string content"
    if not any(m["role"] == "assistant" for m in msgs):
        return "no assistant message"
    return None


def validate_split(
    path: str | Path, split: str, tokenizer: Any, max_seq_len: int, context_length: int
) -> tuple[list[dict[str, Any]], int, int, int]:
    """(errors, examples, total tokens, max tokens) for one JSONL file."""
    errors: list[dict[str, Any]] = []
    examples = tokens = max_tokens = 0
    limit = min(max_seq_len, context_length) if context_length > 0 else max_seq_len
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append({"line": lineno, "split": split, "message": f"invalid JSON: {e.msg}"})
                continue
            problem = _check_record(obj)
            if problem is None:
                n = len(data.tokenize_text(tokenizer, data.render(tokenizer, obj["messages"])))
                if n > limit:
                    which = "maxSeqLen" if limit == max_seq_len else "the model context length"
                    problem = f"example has {n} tokens, longer than {which} ({limit})"
                else:
                    examples += 1
                    tokens += n
                    max_tokens = max(max_tokens, n)
            if problem is not None:
                errors.append({"line": lineno, "split": split, "message": problem})
    if examples == 0 and not errors:
        errors.append({"line": 1, "split": split, "message": "split has no examples"})
    return errors, examples, tokens, max_tokens


def validate_dataset(
    *, tokenizer: Any, train_path: str | Path, eval_path: str | Path, max_seq_len: int, context_length: int
) -> dict[str, Any]:
    """Returns the ValidateDatasetOutput dict (activities.ts)."""
    t_err, t_n, t_tok, t_max = validate_split(train_path, "train", tokenizer, max_seq_len, context_length)
    e_err, e_n, _e_tok, e_max = validate_split(eval_path, "eval", tokenizer, max_seq_len, context_length)
    errors = (t_err + e_err)[:MAX_ERRORS]
    return {
        "ok": not t_err and not e_err,
        "errors": errors,
        "trainExamples": t_n,
        "evalExamples": e_n,
        "trainTokens": t_tok,
        "maxTokens": max(t_max, e_max),
    }
