#!/usr/bin/env bash
# Test fixture for the device-agent tests: the built-in lfm2-tiny model as a F16 GGUF (made by
# the trainer's own generator and converter) and the synthetic task's eval split.
#
#   bash workers/device-agent/scripts/make-fixture.sh /tmp/edgetune-fixture
#   export EDGETUNE_TEST_GGUF=/tmp/edgetune-fixture/lfm2-tiny-f16.gguf
#   export EDGETUNE_TEST_EVAL_JSONL=/tmp/edgetune-fixture/data/eval.jsonl
#
# Env: PYTHON (default: the trainer venv), LLAMA_CPP_DIR (default <repo>/.tools/llama.cpp).
set -euo pipefail
OUT="${1:?usage: make-fixture.sh OUT_DIR}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
PY="${PYTHON:-$REPO/workers/trainer/.venv/bin/python}"
[[ -x "$PY" ]] || { echo "python not found at $PY (run workers/trainer/setup.sh or set PYTHON)" >&2; exit 1; }
export LLAMA_CPP_DIR="${LLAMA_CPP_DIR:-$REPO/.tools/llama.cpp}"
export PYTHONPATH="$REPO/workers/trainer${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
if [[ ! -f "$OUT/lfm2-tiny-f16.gguf" ]]; then
  "$PY" -m edgetune_trainer.tiny_model --out "$OUT/hf" >&2
  "$PY" -m edgetune_trainer.gguf_convert "$OUT/hf" --outfile "$OUT/lfm2-tiny-f16.gguf.tmp" --outtype f16 >&2
  mv "$OUT/lfm2-tiny-f16.gguf.tmp" "$OUT/lfm2-tiny-f16.gguf"
fi
[[ -f "$OUT/data/eval.jsonl" ]] || "$PY" -m edgetune_trainer.synthetic --out "$OUT/data" --train 300 --eval 60 >&2
echo "EDGETUNE_TEST_GGUF=$OUT/lfm2-tiny-f16.gguf"
echo "EDGETUNE_TEST_EVAL_JSONL=$OUT/data/eval.jsonl"
