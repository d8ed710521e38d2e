#!/usr/bin/env bash
# Runs a TypeScript entry point of the repo with tsx (used by `npm run admin`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$ROOT/node_modules/.bin/tsx" ] || (cd "$ROOT" && npm install --no-audit --no-fund >&2)
export EDGETUNE_ROOT="$ROOT"
exec "$ROOT/node_modules/.bin/tsx" "$@"
