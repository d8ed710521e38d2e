"""Base model resolution and loading.

Order (BaseModelRef from packages/temporal activities.ts):
  1. `$EDGETUNE_MODEL_DIR/<id>` when that local directory exists (operator-provided weights);
  2. the object store prefix `storagePrefix`, downloaded once into a local cache;
  3. `hubId` via huggingface_hub, only when `HF_HUB_OFFLINE` is unset.
Builtin models (lfm2-tiny) missing from the store are generated and uploaded to `storagePrefix`
first, then loaded through the same object-store path as a real checkpoint, so tests exercise the
production path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from . import storage, tiny_model

MARKER = ".edgetune-complete"


class ModelResolutionError(RuntimeError):
    pass


def cache_root() -> Path:
    env = os.environ.get("EDGETUNE_CACHE_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "edgetune"
    return base / "models"


def _cache_dir_for(prefix: str) -> Path:
    # Readable and collision-free: sanitized prefix + short hash of the exact prefix.
    safe = prefix.strip("/").replace("/", "__")[:80]
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:12]
    return cache_root() / f"{safe}-{digest}"


def _stage_builtin(ref: dict[str, Any]) -> None:
    if ref["id"] != tiny_model.MODEL_ID:
        raise ModelResolutionError(f"unknown builtin model {ref['id']!r}")
    prefix = ref["storagePrefix"].rstrip("/")
    with tempfile.TemporaryDirectory(prefix="edgetune-tiny-") as tmp:
        tiny_model.generate(tmp)
        files = sorted(p for p in Path(tmp).rglob("*") if p.is_file())
        # config.json goes last: its presence in the store marks a complete upload.
        files.sort(key=lambda p: p.name == "config.json")
        for p in files:
            storage.put_file(p, f"{prefix}/{p.relative_to(tmp).as_posix()}")


# The builtin base models of the catalog (packages/contracts/src/models.ts: id, storagePrefix).
# The API counts tokens with their tokenizer from the object store, so the worker stages them when
# it starts instead of waiting for the first job.
BUILTIN_MODELS: tuple[dict[str, Any], ...] = (
    {"id": tiny_model.MODEL_ID, "storagePrefix": "base-models/lfm2-tiny", "builtin": True},
)


def stage_builtin_models(refs: tuple[dict[str, Any], ...] | None = None) -> list[str]:
    """Generates and uploads every builtin model missing from the store; returns the ids staged."""
    staged: list[str] = []
    for ref in BUILTIN_MODELS if refs is None else refs:
        prefix = ref["storagePrefix"].rstrip("/")
        if not storage.exists(f"{prefix}/config.json"):
            _stage_builtin(ref)
            staged.append(ref["id"])
    return staged


def _from_store(prefix: str) -> Path:
    dest = _cache_dir_for(prefix)
    if (dest / MARKER).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dl-", dir=dest.parent))
    try:
        storage.get_prefix(prefix, tmp)
        (tmp / MARKER).write_text(prefix)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def resolve_base_model(ref: dict[str, Any]) -> Path:
    """Local directory of the base model's HF checkpoint."""
    local_root = os.environ.get("EDGETUNE_MODEL_DIR")
    if local_root:
        cand = Path(local_root) / ref["id"]
        if (cand / "config.json").is_file():
            return cand
    prefix = str(ref.get("storagePrefix") or "").rstrip("/")
    if prefix:
        if not storage.exists(f"{prefix}/config.json") and ref.get("builtin"):
            _stage_builtin(ref)
        if storage.exists(f"{prefix}/config.json"):
            return _from_store(prefix)
    hub_id = ref.get("hubId")
    if hub_id and not os.environ.get("HF_HUB_OFFLINE"):
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=hub_id))
    raise ModelResolutionError(
        f"base model {ref['id']!r} not found locally, in the object store at {prefix!r}, "
        "and the hub is not reachable (HF_HUB_OFFLINE set or no hubId)"
    )


def load_tokenizer(model_dir: str | Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(model_dir: str | Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    # float32 on CPU: training stability and exact merges; GPUs could use bf16 later.
    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)


def load_trained(base_dir: str | Path, trained_dir: str | Path, method: str, *, base: Any = None) -> Any:
    """The fine-tuned model in memory: the full checkpoint (method "full"), or the base with the
    LoRA adapter merged in. `base` is the base model when it is already loaded; the adapter is
    merged into it in place."""
    if method == "full":
        return load_model(trained_dir)
    from peft import PeftModel

    if base is None:
        base = load_model(base_dir)
    # Merging makes generation as fast as the base and matches what export ships.
    return PeftModel.from_pretrained(base, str(trained_dir)).merge_and_unload()
