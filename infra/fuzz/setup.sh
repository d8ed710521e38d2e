#!/usr/bin/env bash
# The API fuzzer's virtualenv (.tools/fuzz-venv, schemathesis from PyPI, pinned), made once for npm test.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.tools/fuzz-venv"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/schemathesis" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then exit 0; fi
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt" >&2
echo "$want" > "$STAMP"
