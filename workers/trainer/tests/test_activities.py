"""The Temporal activities through temporalio.testing.ActivityEnvironment (no server needed)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hp import quick_lora
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

from edgetune_trainer import activities, storage, synthetic

PROGRESS_KEYS = {"step", "totalSteps", "epoch", "loss", "learningRate", "tokensPerSecond", "tokensSeen", "checkpointKey"}


@pytest.fixture(scope="module")
def small_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("act")
    train, evals = synthetic.make_dataset(48, 6, seed=3)
    synthetic.write_jsonl(train, d / "train.jsonl")
    synthetic.write_jsonl(evals, d / "eval.jsonl")
    storage.put_file(d / "train.jsonl", "datasets/act/train.jsonl")
    storage.put_file(d / "eval.jsonl", "datasets/act/eval.jsonl")
    return {"trainKey": "datasets/act/train.jsonl", "evalKey": "datasets/act/eval.jsonl"}


def _train_input(tiny_ref: dict[str, Any], keys: dict[str, str], prefix: str) -> dict[str, Any]:
    return {
        "jobId": "ftjob-test",
        "baseModel": tiny_ref,
        "trainKey": keys["trainKey"],
        "hyperparameters": quick_lora(epochs=1),
        "outputPrefix": prefix,
    }


def _env(beats: list[Any]) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    return env


def test_validate_activity(tiny_ref: dict[str, Any], small_keys: dict[str, str]) -> None:
    beats: list[Any] = []
    out = _env(beats).run(
        activities.validate_dataset,
        {
            "jobId": "ftjob-test",
            "baseModel": tiny_ref,
            "maxSeqLen": 256,
            **small_keys,
        },
    )
    assert out["ok"] and out["trainExamples"] == 48 and out["evalExamples"] == 6
    assert beats, "no heartbeat"


def test_train_evaluate_export_activities(tiny_ref: dict[str, Any], small_keys: dict[str, str]) -> None:
    beats: list[Any] = []
    inp = _train_input(tiny_ref, small_keys, "jobs/act-train")
    out = _env(beats).run(activities.train, inp)
    progress = [b[0] for b in beats if b]
    assert [p["step"] for p in progress] == list(range(1, 7))
    assert all(set(p) == PROGRESS_KEYS for p in progress)
    assert out["trainedPrefix"] == "jobs/act-train/adapter" and out["steps"] == 6
    # A retried attempt after completion returns the stored result instead of retraining.
    beats.clear()
    assert _env(beats).run(activities.train, inp) == out and not beats

    ev = _env(beats).run(
        activities.evaluate,
        {
            "jobId": "ftjob-test",
            "baseModel": tiny_ref,
            "trainedPrefix": out["trainedPrefix"],
            "method": "lora",
            "evalKey": small_keys["evalKey"],
            "maxNewTokens": 4,
        },
    )
    assert ev["examples"] == 6 and 0 <= ev["taskAccuracy"] <= 1 and ev["loss"] > 0
    ex = _env(beats).run(
        activities.export_gguf,
        {
            "jobId": "ftjob-test",
            "baseModel": tiny_ref,
            "trainedPrefix": out["trainedPrefix"],
            "method": "lora",
            "outputPrefix": "jobs/act-train",
        },
    )
    assert storage.exists(ex["ggufKey"]) and len(ex["sha256"]) == 64


def test_train_activity_cancel(tiny_ref: dict[str, Any], small_keys: dict[str, str]) -> None:
    env = ActivityEnvironment()
    steps: list[int] = []

    def on_beat(*details: Any) -> None:
        if details:
            steps.append(details[0]["step"])
            if details[0]["step"] == 2:
                env.cancel()

    env.on_heartbeat = on_beat
    with pytest.raises(CancelledError):
        env.run(activities.train, _train_input(tiny_ref, small_keys, "jobs/act-cancel"))
    assert steps == [1, 2]
    assert not storage.exists("jobs/act-cancel/adapter/adapter_config.json")
    assert not storage.exists("jobs/act-cancel/train-result.json")


def test_train_activity_resumes_from_heartbeat(tiny_ref: dict[str, Any], small_keys: dict[str, str]) -> None:
    env = ActivityEnvironment()
    beats: list[dict[str, Any]] = []

    def on_beat(*details: Any) -> None:
        if details:
            beats.append(details[0])
            if details[0]["step"] == 3:
                env.worker_shutdown()

    env.on_heartbeat = on_beat
    inp = _train_input(tiny_ref, small_keys, "jobs/act-resume")
    with pytest.raises(ApplicationError, match="shutting down"):
        env.run(activities.train, inp)
    # Worker shutdown checkpoints before failing, and the last heartbeat carries that key.
    assert beats[-1]["checkpointKey"] == "jobs/act-resume/checkpoints/step-3"

    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2, heartbeat_details=[beats[-1]])
    later: list[Any] = []
    retry.on_heartbeat = lambda *d: later.append(d)
    out = retry.run(activities.train, inp)
    assert out["resumedFromStep"] == 3 and out["steps"] == 6
    assert [d[0]["step"] for d in later if d] == [4, 5, 6]


def test_train_activity_fails_for_good_on_incomplete_settings(tiny_ref: dict[str, Any], small_keys: dict[str, str]):
    inp = _train_input(tiny_ref, small_keys, "jobs/act-incomplete")
    del inp["hyperparameters"]["learningRate"]
    with pytest.raises(ApplicationError) as e:
        _env([]).run(activities.train, inp)
    assert e.value.non_retryable and e.value.type == "IncompleteSettings"
    assert "missing learningRate" in str(e.value)


def test_validate_activity_cancelled_stops_at_a_step_boundary(tiny_ref: dict[str, Any], small_keys: dict[str, str]) -> None:
    """A cancel reaches validate through its heartbeat and stops it between steps, with no exception
    injected into a thread (an injected one once landed in a starting heartbeat thread and hung
    the trainer); the heartbeat thread is gone afterwards."""
    import threading

    env = ActivityEnvironment()
    env.on_heartbeat = lambda *_: env.cancel()
    inp = {"jobId": "ftjob-test", "baseModel": tiny_ref, **small_keys, "maxSeqLen": 256, "objective": "sft"}
    with pytest.raises(CancelledError):
        env.run(activities.validate_dataset, inp)
    assert not [t for t in threading.enumerate() if t.name == "edgetune-heartbeat"]
    # Not cancelled: the same input validates.
    assert ActivityEnvironment().run(activities.validate_dataset, inp)["ok"] is True
    assert activities.validate_dataset.__temporal_activity_definition.no_thread_cancel_exception  # type: ignore[attr-defined]
