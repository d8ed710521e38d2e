"""The worker stages builtin base models at startup so the API can count tokens before any job."""

from __future__ import annotations

import re
from pathlib import Path

from edgetune_trainer import models, storage, tiny_model, worker

ROOT = Path(__file__).resolve().parents[3]


def test_builtin_prefixes_match_the_catalog() -> None:
    catalog = (ROOT / "packages" / "contracts" / "src" / "models.ts").read_text()
    for ref in models.BUILTIN_MODELS:
        block = re.search(r"id: '" + re.escape(ref["id"]) + r"'.*?storagePrefix: '([^']+)'", catalog, re.S)
        assert block is not None, ref["id"]
        assert block.group(1) == ref["storagePrefix"]


def test_stage_builtin_models_puts_tokenizer_and_weights_once(storage_root: Path) -> None:
    ref = {"id": "lfm2-tiny", "storagePrefix": "stage-test/lfm2-tiny", "builtin": True}
    assert models.stage_builtin_models((ref,)) == ["lfm2-tiny"]
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors"):
        assert storage.exists(f"stage-test/lfm2-tiny/{name}"), name
    # Already there: nothing is generated again.
    assert models.stage_builtin_models((ref,)) == []


def test_worker_startup_helper_stages_the_catalog_models(storage_root: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Point the catalog entry at a fresh prefix so this test sees the worker's own staging.
    monkeypatch.setattr(
        models, "BUILTIN_MODELS", ({"id": "lfm2-tiny", "storagePrefix": "stage-worker/lfm2-tiny", "builtin": True},)
    )
    assert not storage.exists("stage-worker/lfm2-tiny/tokenizer.json")
    worker._stage_builtin_models()
    assert storage.exists("stage-worker/lfm2-tiny/tokenizer.json")
    assert storage.exists("stage-worker/lfm2-tiny/config.json")


def test_write_tokenizer_matches_the_staged_model(tmp_path: Path, storage_root: Path) -> None:
    # The JS token counter's tests use write_tokenizer; it must be the staged model's tokenizer.
    ref = {"id": "lfm2-tiny", "storagePrefix": "stage-tok/lfm2-tiny", "builtin": True}
    models.stage_builtin_models((ref,))
    out = tiny_model.write_tokenizer(tmp_path / "tok")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (out / name).read_bytes() == storage.read_bytes(f"stage-tok/lfm2-tiny/{name}"), name
