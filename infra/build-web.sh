#!/usr/bin/env bash
# `next build` of apps/web, skipped when no source it depends on changed since the last build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SUM="$( (find apps/web packages -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name '*.json' -o -name '*.mjs' \) \
  -not -path '*/node_modules/*' -not -path '*/.next*' -print0 | sort -z | xargs -0 sha256sum; sha256sum package-lock.json) | sha256sum | cut -c1-64)"
STAMP="apps/web/${EDGETUNE_NEXT_DIST_DIR:-.next}/edgetune-stamp"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ]; then
  echo "web build is up to date" >&2
  exit 0
fi
(cd apps/web && NEXT_TELEMETRY_DISABLED=1 ../../node_modules/.bin/next build)
echo "$SUM" > "$STAMP"
