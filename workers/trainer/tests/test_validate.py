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
    assert "maxSeqLen" in by_line[("train", 7)]
    assert "JSON object" in by_line[("eval", 3)]
    assert out["trainExamples"] == 1 and out["evalExamples"] == 1
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
