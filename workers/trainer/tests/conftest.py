"""Shared fixtures: one storage root, one lfm2-tiny and one dataset per test session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

# One thread by default: on a shared 2-core machine two OpenMP threads contending with other
# processes were ~8x slower per step than one. Set TRAIN_THREADS to override.
torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))

from hp import settings  # noqa: E402

from edgetune_trainer import models, storage, synthetic  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def storage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("objects")
    os.environ["STORAGE_URL"] = f"file://{root}"
    os.environ["EDGETUNE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("EDGETUNE_MODEL_DIR", None)
    return root


@pytest.fixture(scope="session")
def tiny_ref(storage_root: Path) -> dict[str, Any]:
    return {
        "id": "lfm2-tiny",
        "storagePrefix": "models/lfm2-tiny",
        "hubId": None,
        "builtin": True,
        "contextLength": 2048,
    }


@pytest.fixture(scope="session")
def tiny_dir(tiny_ref: dict[str, Any]) -> Path:
    return models.resolve_base_model(tiny_ref)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_dir: Path) -> Any:
    return models.load_tokenizer(tiny_dir)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory, storage_root: Path) -> dict[str, Any]:
    """The default-sized synthetic task, in storage and on local disk."""
    d = tmp_path_factory.mktemp("data")
    train, evals = synthetic.make_dataset(300, 40, seed=42)
    synthetic.write_jsonl(train, d / "train.jsonl")
    synthetic.write_jsonl(evals, d / "eval.jsonl")
    storage.put_file(d / "train.jsonl", "datasets/synth/train.jsonl")
    storage.put_file(d / "eval.jsonl", "datasets/synth/eval.jsonl")
    return {
        "train_path": d / "train.jsonl",
        "eval_path": d / "eval.jsonl",
        "train_key": "datasets/synth/train.jsonl",
        "eval_key": "datasets/synth/eval.jsonl",
        "train": train,
        "eval": evals,
    }


def _train(tiny_dir: Path, dataset: dict[str, Any], method: str, prefix: str) -> dict[str, Any]:
    from edgetune_trainer import train

    hp = settings(method)
    records: list[dict[str, Any]] = []
    out = train.train(
        base_model_dir=tiny_dir,
        train_path=dataset["train_path"],
        hyperparameters=hp,
        output_prefix=prefix,
        progress=records.append,
    )
    return {"out": out, "records": records, "prefix": prefix}


@pytest.fixture(scope="session")
def trained_full(tiny_dir: Path, dataset: dict[str, Any]) -> dict[str, Any]:
    return _train(tiny_dir, dataset, "full", "jobs/full")


@pytest.fixture(scope="session")
def trained_lora(tiny_dir: Path, dataset: dict[str, Any]) -> dict[str, Any]:
    return _train(tiny_dir, dataset, "lora", "jobs/lora")
