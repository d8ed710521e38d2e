#!/usr/bin/env bash
# Runs a TypeScript entry point of the repo with tsx (used by `npm run admin`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
bash "$ROOT/infra/npm-install.sh"
export EDGETUNE_ROOT="$ROOT"
exec "$ROOT/node_modules/.bin/tsx" "$@"
