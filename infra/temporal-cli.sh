#!/usr/bin/env bash
# Ensures the Temporal CLI (its dev server) is available as <repo>/.tools/bin/temporal.
# Uses `temporal` from PATH when present; otherwise builds the pinned release with `go install`
# into a cache shared by every clone on this machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="v1.5.1" # newest tag whose go.mod has no `replace` directive (go install refuses those)
CACHE="${EDGETUNE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgetune}"
mkdir -p "$ROOT/.tools/bin"
LINK="$ROOT/.tools/bin/temporal"

if command -v temporal >/dev/null 2>&1 && [ "$(command -v temporal)" != "$LINK" ]; then
  ln -sfn "$(command -v temporal)" "$LINK"
  exit 0
fi
BIN="$CACHE/temporal-$VERSION/temporal"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 || { echo "temporal-cli: neither 'temporal' nor 'go' is on PATH; install Go 1.22+ or the Temporal CLI" >&2; exit 1; }
  echo "temporal-cli: building Temporal CLI $VERSION with go install (first run only, a few minutes)..." >&2
  TMP="$CACHE/temporal-$VERSION.tmp-$$"
  mkdir -p "$TMP"
  GOBIN="$TMP" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$VERSION"
  mkdir -p "$CACHE/temporal-$VERSION"
  mv "$TMP/temporal" "$BIN"
  rm -rf "$TMP"
fi
ln -sfn "$BIN" "$LINK"
