#!/usr/bin/env bash
# Create or update workers/trainer/.venv from requirements.txt (+ requirements-dev.txt).
# Idempotent: pip runs only when the sha256 of the requirement files differs from the stamp.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$(cat "$HERE/requirements.txt" "$HERE/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "trainer: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
echo "trainer: installing Python requirements (first run downloads torch; this takes a while)" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q \
  -r "$HERE/requirements.txt" -r "$HERE/requirements-dev.txt" >&2
echo "$want" > "$STAMP"
