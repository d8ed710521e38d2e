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

from . import gguf_convert, models, storage


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


def export_gguf(*, base_model_dir: str | Path, trained_prefix: str, method: str, output_prefix: str) -> dict[str, Any]:
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
    return {
        "ggufKey": key,
        "sizeBytes": size,
        "sha256": digest,
        "llamaCppVersion": gguf_convert.llama_cpp_version(),
        "chatTemplate": chat_template,
    }
