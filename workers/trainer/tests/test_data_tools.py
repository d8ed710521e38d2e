"""Chat records with tools, tool calls, tool messages and per-message weights."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from edgetune_trainer import data, validate

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
TOOL_RECORD: dict[str, Any] = {
    "tools": TOOLS,
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "assistant", "content": "It is 21 degrees."},
    ],
}


def _labelled_text(tokenizer: Any, enc: data.Encoded) -> str:
    return str(tokenizer.decode([t for t in enc.labels if t != data.IGNORE_INDEX]))


def test_tool_calls_render_into_the_assistant_turn_and_carry_loss(tiny_tokenizer: Any) -> None:
    text = data.render(tiny_tokenizer, TOOL_RECORD["messages"], tools=TOOLS)
    assert '"name": "get_weather"' in text and '"city": "Paris"' in text
    assert "<|im_start|>tool\n" in text
    enc = data.encode(tiny_tokenizer, TOOL_RECORD["messages"], 512, TOOLS)
    learned = _labelled_text(tiny_tokenizer, enc)
    assert "get_weather" in learned and "21 degrees" in learned
    # The tool's answer and the user's question are context, not targets.
    assert "temp" not in learned and "Paris?" not in learned


def test_weight_zero_turns_are_left_out_of_the_loss(tiny_tokenizer: Any) -> None:
    msgs = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "bad old answer", "weight": 0},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "good new answer", "weight": 1},
    ]
    learned = _labelled_text(tiny_tokenizer, data.encode(tiny_tokenizer, msgs, 512))
    assert "good new answer" in learned
    assert "bad old answer" not in learned
    unweighted = [{k: v for k, v in m.items() if k != "weight"} for m in msgs]
    assert "bad old answer" in _labelled_text(tiny_tokenizer, data.encode(tiny_tokenizer, unweighted, 512))


def test_a_template_that_renders_tool_calls_gets_them_unchanged(tiny_tokenizer: Any) -> None:
    tok = copy.copy(tiny_tokenizer)
    tok.chat_template = (
        "{%- for m in messages -%}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
        "{%- if m.tool_calls is defined -%}"
        "{%- for c in m.tool_calls -%}CALL:{{ c.function.name }}{%- endfor -%}"
        "{%- endif -%}"
        "<|im_end|>\n{%- endfor -%}{%- if add_generation_prompt -%}<|im_start|>assistant\n{%- endif -%}"
    )
    text = data.render(tok, TOOL_RECORD["messages"], tools=TOOLS)
    assert "CALL:get_weather" in text
    assert '"arguments"' not in text


def test_prompt_and_reference_of_a_tool_call_answer(tiny_tokenizer: Any) -> None:
    msgs = TOOL_RECORD["messages"][:2]
    _prompt, reference = data.prompt_and_reference(tiny_tokenizer, msgs, TOOLS)
    assert json.loads(reference) == [{"name": "get_weather", "arguments": {"city": "Paris"}}]


def test_validate_accepts_tools_and_weights_and_names_bad_ones(tiny_tokenizer: Any, tmp_path: Path) -> None:
    weighted = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "a", "weight": 0},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "b"},
        ]
    }
    all_zero = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]}
    unknown_call = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "tool", "tool_call_id": "nope", "content": "x"},
            {"role": "assistant", "content": "a"},
        ]
    }
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(json.dumps(r) for r in [TOOL_RECORD, weighted, all_zero, unknown_call]) + "\n")
    evals = tmp_path / "eval.jsonl"
    evals.write_text(json.dumps(TOOL_RECORD) + "\n")
    out = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=train, eval_path=evals, max_seq_len=512, context_length=2048
    )
    by_line = {e["line"]: e["message"] for e in out["errors"] if e["split"] == "train"}
    assert set(by_line) == {3, 4}, out["errors"]
    assert "weight 0" in by_line[3]
    assert "unknown tool call" in by_line[4]
    assert out["trainExamples"] == 2 and out["evalExamples"] == 1
