#!/usr/bin/env bash
# npm test: install what is missing (Chromium included), then run every suite.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/infra/setup.sh" --with-browser
cd "$ROOT"
exec node --import tsx infra/test.ts
