#!/usr/bin/env bash
# Installs the npm packages when package-lock.json changed since the last install (a stamp
# decides). A lock file serializes concurrent callers (npm start, npm test, npm run bench:*):
# two npm installs in one node_modules corrupt it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
exec 9>"$ROOT/.npm-install.lock"
flock 9
LOCK_SUM="$(sha256sum package-lock.json 2>/dev/null | cut -c1-64 || echo none)"
if [ ! -f node_modules/.edgetune-stamp ] || [ "$(cat node_modules/.edgetune-stamp)" != "$LOCK_SUM" ]; then
  printf '\n==> npm packages\n' >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  echo "$LOCK_SUM" > node_modules/.edgetune-stamp
fi
