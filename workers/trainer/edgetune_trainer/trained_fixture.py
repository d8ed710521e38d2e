"""A fine-tuned lfm2-tiny, exported by the export path, with its eval split and calibration text.

Quantization error only shows against a model that has learned something: a random model's
next-token distributions are near uniform and every quantization looks perfect. `npm run
bench:quant` measures the importance matrix's effect on this model (full fine-tuning on the
synthetic routing task, the catalog's lfm2-tiny settings), which trains in about a minute on a
laptop CPU.

    STORAGE_URL=file:///abs/dir python -m edgetune_trainer.trained_fixture --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import export, models, storage, synthetic, train

BASE_REF = {"id": "lfm2-tiny", "storagePrefix": "models/lfm2-tiny", "hubId": None, "builtin": True, "contextLength": 2048}
SETTINGS: dict[str, Any] = {
    "method": "full",
    "objective": "sft",
    "epochs": 3,
    "learningRate": 5e-4,
    "batchSize": 8,
    "loraRank": 16,
    "loraAlpha": 32,
    "maxSeqLen": 256,
    "seed": 42,
}


def build(out_dir: str | Path) -> dict[str, Any]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage.check_config()
    base = models.resolve_base_model(BASE_REF)
    train_rows, eval_rows = synthetic.make_dataset(300, 60, seed=42)
    synthetic.write_jsonl(train_rows, out / "train.jsonl")
    synthetic.write_jsonl(eval_rows, out / "eval.jsonl")
    # The calibration text as the orchestrator writes it: each conversation's turns.
    (out / "calibration.txt").write_text("".join("\n".join(m["content"] for m in r["messages"]) + "\n\n" for r in train_rows))
    trained = train.train(base_model_dir=base, train_path=out / "train.jsonl", hyperparameters=SETTINGS, output_prefix="bench/trained")
    exported = export.export_gguf(base_model_dir=base, trained_prefix=trained["trainedPrefix"], method="full", output_prefix="bench/export")
    storage.get_file(exported["ggufKey"], out / "lfm2-tiny-trained-f16.gguf")
    summary = {"gguf": str(out / "lfm2-tiny-trained-f16.gguf"), "eval": str(out / "eval.jsonl"), "calibration": str(out / "calibration.txt"), "finalLoss": trained["finalLoss"]}
    (out / "fixture.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fine-tune lfm2-tiny on the synthetic task and export it (bench:quant's quality fixture)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    print(json.dumps(build(args.out)))


if __name__ == "__main__":
    main()
