"""Merge the trained weights into a 16/32-bit HF checkpoint and convert it to GGUF F16.

Merging a LoRA adapter into a quantized base silently ruins a fine-tune, so a base carrying a
`quantization_config` is refused, and the merged config never carries one. The tokenizer and
chat template are saved next to the weights so the GGUF gets `tokenizer.chat_template` and the
right BOS/EOS.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from . import data, gguf_convert, models, storage


class QuantizedBaseError(RuntimeError):
    pass


def merged_hf_dir(base_dir: Path, trained_dir: Path, method: str, out_dir: Path) -> Path:
    base_cfg = json.loads((base_dir / "config.json").read_text())
    if base_cfg.get("quantization_config"):
        raise QuantizedBaseError("refusing to merge into a quantized base model; use 16/32-bit weights")
    model = models.load_trained(base_dir, trained_dir, method)
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer = models.load_tokenizer(base_dir)
    tokenizer.save_pretrained(out_dir)
    # Keep the template inside tokenizer_config.json too: every consumer (convert_hf_to_gguf's
    # SpecialVocab, older transformers) finds it there.
    tc_path = out_dir / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    if not tc.get("chat_template") and tokenizer.chat_template:
        tc["chat_template"] = tokenizer.chat_template
        tc_path.write_text(json.dumps(tc, indent=2) + "\n")
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    if cfg.pop("quantization_config", None) is not None:
        cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    return out_dir


PARITY_ROLES = {"system", "user", "assistant"}
MAX_PARITY_TOKENS = 4096


def parity_prompt(tokenizer: Any, eval_path: Path) -> dict[str, Any]:
    """The first evaluation example's prompt as training renders and tokenizes it: every device
    benchmark renders the same prompt with the GGUF's own template and must get these very ids.
    Returns {"promptTokenIds": [...]} or {"parityUnchecked": reason}."""
    with eval_path.open(encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), None)
    if first is None:
        return {"parityUnchecked": "the evaluation split is empty"}
    rec = json.loads(first)
    messages = rec.get("messages")
    if not isinstance(messages, list) or rec.get("tools"):
        return {"parityUnchecked": "the first evaluation example is not a plain chat (tools or another format)"}
    if any(m.get("role") not in PARITY_ROLES or not isinstance(m.get("content"), str) or m.get("tool_calls") for m in messages):
        return {"parityUnchecked": "the first evaluation example has turns other than system, user and assistant text"}
    if not any(m.get("role") == "assistant" for m in messages):
        return {"parityUnchecked": "the first evaluation example has no assistant turn"}
    ids, _ = data.prompt_and_reference(tokenizer, messages)
    if len(ids) > MAX_PARITY_TOKENS:
        return {"parityUnchecked": f"the first evaluation prompt has {len(ids)} tokens (checked up to {MAX_PARITY_TOKENS})"}
    return {"promptTokenIds": ids}


def export_gguf(
    *, base_model_dir: str | Path, trained_prefix: str, method: str, output_prefix: str, eval_key: str | None = None
) -> dict[str, Any]:
    """Returns the ExportGgufOutput dict (activities.ts)."""
    base_dir = Path(base_model_dir)
    key = f"{output_prefix.rstrip('/')}/model-f16.gguf"
    with tempfile.TemporaryDirectory(prefix="edgetune-export-") as tmp:
        t = Path(tmp)
        storage.get_prefix(trained_prefix, t / "trained")
        hf = merged_hf_dir(base_dir, t / "trained", method, t / "merged")
        gguf_path = gguf_convert.convert(hf, t / "model-f16.gguf", "f16")
        digest = storage.sha256_file(gguf_path)
        size = gguf_path.stat().st_size
        storage.put_file(gguf_path, key)
        # The template the converter put into the GGUF (merged_hf_dir keeps it in this file).
        chat_template = str(json.loads((hf / "tokenizer_config.json").read_text()).get("chat_template") or "")
        parity: dict[str, Any] = {}
        if eval_key:
            parity = parity_prompt(models.load_tokenizer(hf), storage.get_file(eval_key, t / "eval.jsonl"))
    return {
        **parity,
        "ggufKey": key,
        "sizeBytes": size,
        "sha256": digest,
        "llamaCppVersion": gguf_convert.llama_cpp_version(),
        "chatTemplate": chat_template,
    }
