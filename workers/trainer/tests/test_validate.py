from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgetune_trainer import validate

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reports_split_and_line(tiny_tokenizer: Any, tmp_path: Path) -> None:
    long_msg = {"messages": [{"role": "user", "content": "word " * 400}, {"role": "assistant", "content": "x"}]}
    train = _write(
        tmp_path / "train.jsonl",
        [
            json.dumps(GOOD),
            "{not json",
            json.dumps({"foo": 1}),
            json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
            json.dumps({"messages": [{"role": "user", "content": "  "}]}),
            json.dumps({"messages": [{"role": "user", "content": "only user"}]}),
            json.dumps(long_msg),
        ],
    )
    evals = _write(tmp_path / "eval.jsonl", [json.dumps(GOOD), "", json.dumps([1])])
    out = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=train, eval_path=evals, max_seq_len=256, context_length=2048
    )
    assert not out["ok"]
    by_line = {(e["split"], e["line"]): e["message"] for e in out["errors"]}
    assert "invalid JSON" in by_line[("train", 2)]
    assert "messages" in by_line[("train", 3)]
    assert "invalid role" in by_line[("train", 4)]
    assert "empty" in by_line[("train", 5)]
    assert "no assistant" in by_line[("train", 6)]
    assert ("train", 7) not in by_line, "a too-long example is truncated, not refused"
    assert "JSON object" in by_line[("eval", 3)]
    assert out["trainExamples"] == 2 and out["evalExamples"] == 1
    assert out["truncatedExamples"] == 1
    assert out["warnings"] == [
        {"line": 7, "split": "train", "message": out["warnings"][0]["message"]},
    ]
    assert "training keeps its first 256 (maxSeqLen)" in out["warnings"][0]["message"]
    assert out["trainTokens"] > 0 and out["maxTokens"] > 0


def test_ok_dataset(tiny_tokenizer: Any, dataset: dict[str, Any]) -> None:
    out = validate.validate_dataset(
        tokenizer=tiny_tokenizer,
        train_path=dataset["train_path"],
        eval_path=dataset["eval_path"],
        max_seq_len=256,
        context_length=2048,
    )
    assert out["ok"], out["errors"][:3]
    assert out["trainExamples"] == 300 and out["evalExamples"] == len(dataset["eval"])
    assert 0 < out["maxTokens"] <= 256


def test_too_long_examples_are_truncated_and_counted(tiny_tokenizer: Any, tmp_path: Path) -> None:
    # The reply after a long question survives only when the cut leaves some of it.
    long_question = {"messages": [{"role": "user", "content": "word " * 400}, {"role": "assistant", "content": "x"}]}
    long_answer = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "word " * 400}]}
    train = _write(tmp_path / "train.jsonl", [json.dumps(GOOD), json.dumps(long_question), json.dumps(long_answer)])
    evals = _write(tmp_path / "eval.jsonl", [json.dumps(GOOD), json.dumps(long_answer)])
    out = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=train, eval_path=evals, max_seq_len=256, context_length=2048
    )
    assert out["ok"], out["errors"]
    assert out["trainExamples"] == 3 and out["evalExamples"] == 2
    assert out["truncatedExamples"] == 3
    by_line = {(w["split"], w["line"]): w["message"] for w in out["warnings"]}
    assert set(by_line) == {("train", 2), ("train", 3), ("eval", 2)}
    assert "teaches nothing" in by_line[("train", 2)], "the question alone fills the 256 tokens"
    assert "teaches nothing" not in by_line[("train", 3)]
    assert out["maxTokens"] > 256, "the longest example is reported at its real length"
    # Tokens trained on count only what is kept: at most 256 per truncated example.
    good_tokens = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=_write(tmp_path / "g.jsonl", [json.dumps(GOOD)]), eval_path=evals,
        max_seq_len=256, context_length=2048,
    )["trainTokens"]
    assert good_tokens < out["trainTokens"] <= good_tokens + 256

    # The model's context caps a larger maxSeqLen, and the warning says which limit applied.
    ctx = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=train, eval_path=evals, max_seq_len=4096, context_length=128
    )
    assert ctx["ok"] and ctx["truncatedExamples"] == 3
    assert "keeps its first 128 (the model context length)" in ctx["warnings"][0]["message"]

    # Nothing left to learn from at all is still an error, named before training starts.
    only_long = _write(tmp_path / "only.jsonl", [json.dumps(long_question)])
    bad = validate.validate_dataset(
        tokenizer=tiny_tokenizer, train_path=only_long, eval_path=evals, max_seq_len=256, context_length=2048
    )
    assert not bad["ok"]
    assert "nothing to train on" in bad["errors"][0]["message"]
