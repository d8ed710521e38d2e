from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgetune_trainer import data, export, gguf_convert, models, storage

LLAMA = gguf_convert.llama_cpp_dir()


def _reader(path: Path) -> Any:
    if str(LLAMA / "gguf-py") not in sys.path:
        sys.path.insert(0, str(LLAMA / "gguf-py"))
    from gguf import GGUFReader

    return GGUFReader(str(path))


def _field(reader: Any, name: str) -> Any:
    f = reader.fields[name]
    return f.contents()


def test_tiny_hash_is_registered(tiny_tokenizer: Any) -> None:
    # If this fails the tiny tokenizer changed: update EXTRA_PRE_TOKENIZERS with the new hash.
    assert gguf_convert.EXTRA_PRE_TOKENIZERS.get(gguf_convert.chkhsh(tiny_tokenizer)) == "lfm2"


def test_refuses_quantized_base(tiny_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "qbase"
    shutil.copytree(tiny_dir, fake)
    cfg = json.loads((fake / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    (fake / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(export.QuantizedBaseError):
        export.merged_hf_dir(fake, fake, "full", tmp_path / "out")


@pytest.fixture(scope="module")
def exported() -> dict[str, dict[str, Any]]:
    """ExportGgufOutput per method, filled by _export (each model is exported once per module)."""
    return {}


def _export(
    exported: dict[str, dict[str, Any]], tiny_dir: Path, method: str, trained: dict[str, Any]
) -> dict[str, Any]:
    if method not in exported:
        exported[method] = export.export_gguf(
            base_model_dir=tiny_dir,
            trained_prefix=trained["out"]["trainedPrefix"],
            method=method,
            output_prefix=f"exports/{method}",
        )
    return exported[method]


@pytest.mark.parametrize("method", ["lora", "full"])
def test_export_gguf(
    method: str,
    request: pytest.FixtureRequest,
    exported: dict[str, dict[str, Any]],
    tiny_dir: Path,
    tiny_tokenizer: Any,
    tmp_path: Path,
) -> None:
    out = _export(exported, tiny_dir, method, request.getfixturevalue(f"trained_{method}"))
    assert out["ggufKey"] == f"exports/{method}/model-f16.gguf"
    local = storage.get_file(out["ggufKey"], tmp_path / "m.gguf")
    assert storage.sha256_file(local) == out["sha256"] and local.stat().st_size == out["sizeBytes"]
    assert out["llamaCppVersion"] and out["llamaCppVersion"] != "unknown"
    assert "<|im_start|>" in out["chatTemplate"]
    r = _reader(local)
    assert _field(r, "general.architecture") == "lfm2"
    assert _field(r, "tokenizer.ggml.pre") == "lfm2"
    assert _field(r, "tokenizer.chat_template") == tiny_tokenizer.chat_template
    assert _field(r, "tokenizer.ggml.bos_token_id") == tiny_tokenizer.bos_token_id
    assert _field(r, "tokenizer.ggml.eos_token_id") == tiny_tokenizer.eos_token_id
    assert _field(r, "tokenizer.ggml.add_bos_token") is True
    tokens = _field(r, "tokenizer.ggml.tokens")
    vocab = tiny_tokenizer.get_vocab()
    assert len(tokens) == models.load_model(tiny_dir).config.vocab_size
    assert all(tokens[i] == t for t, i in vocab.items())
    names = {t.name for t in r.tensors}
    assert "token_embd.weight" in names and any(n.endswith("shortconv.conv.weight") for n in names)


def _llama_tokenize() -> Path | None:
    env = os.environ.get("LLAMA_TOKENIZE")
    candidates = [Path(env)] if env else []
    candidates.append(LLAMA / "build" / "bin" / "llama-tokenize")
    return next((p for p in candidates if p.is_file()), None)


def test_gguf_tokenization_matches_hf(
    exported: dict[str, dict[str, Any]],
    tiny_dir: Path,
    trained_lora: dict[str, Any],
    tiny_tokenizer: Any,
    tmp_path: Path,
) -> None:
    tool = _llama_tokenize()
    if tool is None:
        pytest.skip(f"llama-tokenize not built under {LLAMA} (bash infra/llama-cpp.sh) and LLAMA_TOKENIZE unset")
    gguf = storage.get_file(_export(exported, tiny_dir, "lora", trained_lora)["ggufKey"], tmp_path / "m.gguf")
    msgs = [{"role": "system", "content": "Route it."}, {"role": "user", "content": "hi, my invoice 123 is wrong!"}]
    prompt = data.render(tiny_tokenizer, msgs, add_generation_prompt=True)
    hf_ids = data.tokenize_text(tiny_tokenizer, prompt)
    proc = subprocess.run(
        [str(tool), "-m", str(gguf), "-p", prompt, "--ids", "--no-bos", "--log-disable"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("[")][-1]
    gguf_ids = [int(x) for x in line.strip("[]").split(",") if x.strip()]
    assert gguf_ids == hf_ids


def test_parity_prompt_is_the_first_eval_prompt_as_training_tokenizes_it(tiny_tokenizer: Any, tmp_path: Path) -> None:
    msgs = [
        {"role": "system", "content": "Route it."},
        {"role": "user", "content": "hi, my invoice 123 is wrong!"},
        {"role": "assistant", "content": "billing"},
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("\n" + json.dumps({"messages": msgs}) + "\n" + json.dumps({"messages": msgs[1:]}) + "\n")
    out = export.parity_prompt(tiny_tokenizer, path)
    expected = data.tokenize_text(tiny_tokenizer, data.render(tiny_tokenizer, msgs[:2], add_generation_prompt=True))
    assert out == {"promptTokenIds": expected}
    assert tiny_tokenizer.decode(expected).startswith("<|startoftext|><|im_start|>system\nRoute it.")
    # What the device benchmark cannot render the same way is reported, not compared.
    path.write_text(json.dumps({"messages": msgs, "tools": [{"type": "function", "function": {"name": "f"}}]}) + "\n")
    assert "tools" in export.parity_prompt(tiny_tokenizer, path)["parityUnchecked"]
    path.write_text(json.dumps({"messages": [{"role": "tool", "content": "x"}, *msgs[1:]]}) + "\n")
    assert "other than system, user and assistant" in export.parity_prompt(tiny_tokenizer, path)["parityUnchecked"]
