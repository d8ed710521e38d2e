"""Preference tuning (DPO): masking, the loss, learning on a separable task, resume, validation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hp import dpo_settings

from edgetune_trainer import data, dpo, evaluate, hardware, storage, synthetic, train, validate

LOG2 = math.log(2)


def _labelled(enc: data.Encoded) -> list[int]:
    return [t for t in enc.labels if t != data.IGNORE_INDEX]


def test_only_answer_tokens_carry_loss(tiny_tokenizer: Any) -> None:
    rec = {
        "prompt": [
            {"role": "system", "content": "route the ticket"},
            {"role": "user", "content": "my card was charged twice"},
            {"role": "assistant", "content": "which card"},
            {"role": "user", "content": "the invoice card"},
        ],
        "chosen": [{"role": "assistant", "content": "billing", "weight": 0}],
        "rejected": "login",
    }
    pair = data.encode_preference(tiny_tokenizer, rec, 256)
    eos = tiny_tokenizer.eos_token
    for enc, answer in ((pair.chosen, "billing"), (pair.rejected, "login")):
        # Exactly the answer and its end-of-turn token are labelled - not the prompt's assistant
        # turn, and the answer's own weight 0 does not switch it off.
        assert tiny_tokenizer.decode(_labelled(enc)).replace(" ", "") == f"{answer}{eos}"
        at = [i for i, t in enumerate(enc.labels) if t != data.IGNORE_INDEX]
        assert at == list(range(at[0], at[-1] + 1)), "one contiguous answer span"
        assert tiny_tokenizer.decode(enc.input_ids[at[-1] + 1 :]).strip() == "", "only the newline after EOS follows"
    # Both sequences share the prompt, rendered with the generation prompt, token for token.
    prompt_ids, _ = data.prompt_and_reference(tiny_tokenizer, data.preference_as_chat(rec)["messages"])
    n = len(prompt_ids)
    assert pair.chosen.input_ids[:n] == pair.rejected.input_ids[:n] == prompt_ids
    assert pair.chosen.labels[n] != data.IGNORE_INDEX and pair.chosen.labels[n - 1] == data.IGNORE_INDEX
    # String and message forms of the same pair encode identically.
    as_strings = data.encode_preference(
        tiny_tokenizer, {"prompt": "hi there", "chosen": "billing", "rejected": "login"}, 256
    )
    as_messages = data.encode_preference(
        tiny_tokenizer,
        {
            "prompt": [{"role": "user", "content": "hi there"}],
            "chosen": [{"role": "assistant", "content": "billing"}],
            "rejected": [{"role": "assistant", "content": "login"}],
        },
        256,
    )
    assert as_strings == as_messages


def test_sequence_logps_ignore_prompt_positions() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[-100, -100, -100, 3, 1], [-100, -100, 4, 2, -100]])
    got = dpo.sequence_logps(logits, labels)
    lp = F.log_softmax(logits, -1)
    want = torch.stack([lp[0, 2, 3] + lp[0, 3, 1], lp[1, 1, 4] + lp[1, 2, 2]])
    assert torch.allclose(got, want, atol=1e-5)
    # Logits at prompt positions (which predict prompt tokens) do not matter.
    changed = logits.clone()
    changed[0, 0] += 10.0
    changed[1, :1] -= 5.0
    assert torch.allclose(dpo.sequence_logps(changed, labels), got, atol=1e-5)


def test_dpo_loss_formula() -> None:
    pc, pr = torch.tensor([-1.0, -2.0, -3.0]), torch.tensor([-2.0, -1.0, -3.5])
    rc, rr = torch.tensor([-1.5, -1.5, -3.0]), torch.tensor([-1.5, -1.5, -3.0])
    beta = 0.5
    stats = dpo.dpo_loss(pc, pr, rc, rr, beta)
    margins = beta * ((pc - rc) - (pr - rr))  # 0.5, -0.5, 0.25
    assert float(stats.loss) == pytest.approx(float(-F.logsigmoid(margins).mean()))
    assert stats.reward_accuracy == pytest.approx(2 / 3)
    assert stats.reward_margin == pytest.approx(0.25 / 3)
    # Policy equal to the reference: log 2, whatever beta.
    assert float(dpo.dpo_loss(rc, rr, rc, rr, 3.0).loss) == pytest.approx(LOG2)


@pytest.fixture(scope="module")
def prefs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("prefs")
    tr, ev = synthetic.make_preference_dataset(160, 40, seed=42)
    synthetic.write_jsonl(tr, d / "train.jsonl")
    synthetic.write_jsonl(ev, d / "eval.jsonl")
    synthetic.write_jsonl(tr[:48], d / "small.jsonl")
    return {"train": d / "train.jsonl", "eval": d / "eval.jsonl", "small": d / "small.jsonl", "n": len(tr)}


def _dpo_hp(method: str, **over: Any) -> dict[str, Any]:
    return dpo_settings(method, **over)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_dpo_learns_preferences(tiny_dir: Path, prefs: dict[str, Any], method: str) -> None:
    records: list[dict[str, Any]] = []
    hp = _dpo_hp(method)
    out = train.train(
        base_model_dir=tiny_dir,
        train_path=prefs["train"],
        hyperparameters=hp,
        output_prefix=f"jobs/dpo-{method}",
        progress=records.append,
    )
    assert out["objective"] == "dpo" and out["method"] == method
    assert out["steps"] == math.ceil(prefs["n"] / hp["batchSize"]) * hp["epochs"]
    # The first step scores the untouched model against itself (LoRA: adapters off; full:
    # the precomputed reference): the loss is exactly log 2. In bf16 the reference was scored
    # with other examples beside it in its rows, so it differs by bf16's rounding.
    tol = 1e-3 if hardware.uses_bf16(hardware.train_device()) else 1e-4
    assert records[0]["loss"] == pytest.approx(LOG2, abs=tol)
    assert records[0]["rewardMargin"] == pytest.approx(0.0, abs=tol)
    first = records[:5]
    last = records[-5:]
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    assert mean(last, "loss") < 0.6 * mean(first, "loss"), "DPO loss did not decrease"
    assert mean(last, "rewardAccuracy") > mean(first, "rewardAccuracy") + 0.3
    assert mean(last, "rewardAccuracy") >= 0.8 and mean(last, "rewardMargin") > 0.5
    metrics = [json.loads(line) for line in storage.read_bytes(out["metricsKey"]).decode().splitlines()]
    assert len(metrics) == out["steps"] and {"rewardAccuracy", "rewardMargin"} <= set(metrics[-1])

    result = evaluate.evaluate(
        base_model_dir=tiny_dir,
        trained_prefix=out["trainedPrefix"],
        method=method,
        eval_path=prefs["eval"],
        max_new_tokens=8,
        objective="dpo",
        beta=hp["beta"],
    )
    print(f"\ndpo {method}: {json.dumps(result)}")
    assert result["examples"] == 40
    # Held-out pairs: the tuned model prefers the right category far above chance.
    assert result["rewardAccuracy"] >= 0.75, result
    assert result["rewardMargin"] > 0 and result["loss"] < LOG2
    assert 0.0 <= result["taskAccuracy"] <= 1.0 and result["baseTaskAccuracy"] <= 0.2


@pytest.mark.parametrize("method", ["full", "lora"])
def test_dpo_resume_matches_uninterrupted(tiny_dir: Path, prefs: dict[str, Any], method: str) -> None:
    hp = _dpo_hp(method, epochs=1, batchSize=8)
    opts = train.TrainOptions(checkpoint_every_steps=2, checkpoint_min_interval_s=1e9)

    def run(prefix: str, **kw: Any) -> dict[str, Any]:
        return train.train(
            base_model_dir=tiny_dir,
            train_path=prefs["small"],
            hyperparameters=hp,
            output_prefix=prefix,
            options=opts,
            **kw,
        )

    ref_records: list[dict[str, Any]] = []
    full_run = run(f"jobs/dpo-ref-{method}", progress=ref_records.append)
    seen: list[dict[str, Any]] = []
    with pytest.raises(train.TrainingCancelled):
        run(f"jobs/dpo-resume-{method}", progress=seen.append, should_cancel=lambda: len(seen) >= 3)
    key = seen[-1]["checkpointKey"]
    assert key == f"jobs/dpo-resume-{method}/checkpoints/step-2"
    resumed_records: list[dict[str, Any]] = []
    resumed = run(f"jobs/dpo-resume-{method}", resume_from=key, progress=resumed_records.append)
    assert resumed["resumedFromStep"] == 2 and resumed["steps"] == full_run["steps"] == 6
    # The reference is recomputed from the untouched base on resume: same losses, same rewards.
    assert resumed["finalLoss"] == pytest.approx(full_run["finalLoss"], rel=1e-4)
    for a, b in zip(resumed_records, ref_records[2:], strict=True):
        assert a["step"] == b["step"]
        assert a["rewardMargin"] == pytest.approx(b["rewardMargin"], rel=1e-3, abs=1e-5)
        assert a["rewardAccuracy"] == b["rewardAccuracy"]
    lines = storage.read_bytes(resumed["metricsKey"]).decode().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]


def test_validation_checks_the_objectives_format(tiny_tokenizer: Any, prefs: dict[str, Any], tmp_path: Path) -> None:
    good = json.loads(prefs["small"].read_text().splitlines()[0])
    chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    lines = [
        json.dumps(good),
        json.dumps(chat),
        json.dumps({"prompt": "hi", "chosen": "a"}),
        json.dumps({"prompt": "hi", "chosen": [{"role": "user", "content": "a"}], "rejected": "b"}),
        json.dumps({"prompt": "hi", "chosen": "same", "rejected": "same"}),
        json.dumps({"prompt": "word " * 300, "chosen": "a", "rejected": "b"}),
    ]
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "eval.jsonl").write_text(json.dumps(good) + "\n")
    out = validate.validate_dataset(
        tokenizer=tiny_tokenizer,
        train_path=tmp_path / "train.jsonl",
        eval_path=tmp_path / "eval.jsonl",
        max_seq_len=256,
        context_length=2048,
        objective="dpo",
    )
    by_line = {e["line"]: e["message"] for e in out["errors"] if e["split"] == "train"}
    assert set(by_line) == {2, 3, 4, 5}, by_line
    assert "trains with DPO" in by_line[2]
    assert "missing 'rejected'" in by_line[3]
    assert "assistant messages only" in by_line[4]
    assert "identical" in by_line[5]
    # A pair longer than maxSeqLen trains on its first tokens (a warning, not an error).
    assert [w["line"] for w in out["warnings"]] == [6] and out["truncatedExamples"] == 1
    assert "maxSeqLen" in out["warnings"][0]["message"]
    assert out["trainExamples"] == 2 and out["evalExamples"] == 1
    # Both sequences count: more tokens than the chosen conversation alone.
    chosen_len = len(
        data.tokenize_text(tiny_tokenizer, data.render(tiny_tokenizer, data.preference_as_chat(good)["messages"]))
    )
    assert out["trainTokens"] > chosen_len
    # And a supervised job refuses preference pairs.
    sft = validate.validate_dataset(
        tokenizer=tiny_tokenizer,
        train_path=tmp_path / "eval.jsonl",
        eval_path=tmp_path / "eval.jsonl",
        max_seq_len=256,
        context_length=2048,
    )
    assert not sft["ok"] and "preference pair" in sft["errors"][0]["message"]


def test_reference_scoring_heartbeats_and_stops_on_cancel(tiny_dir: Path, prefs: dict[str, Any]) -> None:
    # Full-FT DPO scores the reference before its first step: that work must keep the activity's
    # heartbeat alive and honour a cancellation, as the steps do.
    beats: list[int] = []
    seen: list[dict[str, Any]] = []
    with pytest.raises(train.TrainingCancelled, match="reference"):
        train.train(
            base_model_dir=tiny_dir,
            train_path=prefs["small"],
            hyperparameters=_dpo_hp("full", epochs=1, batchSize=8),
            output_prefix="jobs/dpo-cancel",
            progress=seen.append,
            should_cancel=lambda: len(beats) >= 2,
            keepalive=lambda: beats.append(1),
        )
    assert len(beats) == 2 and seen == []
    assert not storage.exists("jobs/dpo-cancel/model/config.json")
