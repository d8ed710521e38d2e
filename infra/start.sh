#!/usr/bin/env bash
# npm start: install what is missing, then run the whole platform in the foreground.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/infra/setup.sh"
cd "$ROOT"
exec node --import tsx infra/start.ts
