#!/usr/bin/env bash
# Ensures versitygw, the S3-compatible server the test run starts (POSIX backend), is available
# as <repo>/.tools/bin/versitygw. Uses `versitygw` from PATH when present; otherwise builds the
# pinned release with `go install` into a cache shared by every clone on this machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="v1.8.0"
CACHE="${EDGETUNE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgetune}"
mkdir -p "$ROOT/.tools/bin"
LINK="$ROOT/.tools/bin/versitygw"

if command -v versitygw >/dev/null 2>&1 && [ "$(command -v versitygw)" != "$LINK" ]; then
  ln -sfn "$(command -v versitygw)" "$LINK"
  exit 0
fi
BIN="$CACHE/versitygw-$VERSION/versitygw"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 || { echo "versitygw: neither 'versitygw' nor 'go' is on PATH; install Go 1.22+" >&2; exit 1; }
  echo "versitygw: building versitygw $VERSION with go install (first run only, a few minutes)..." >&2
  TMP="$CACHE/versitygw-$VERSION.tmp-$$"
  mkdir -p "$TMP"
  GOBIN="$TMP" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
  mkdir -p "$CACHE/versitygw-$VERSION"
  mv "$TMP/versitygw" "$BIN"
  rm -rf "$TMP"
fi
ln -sfn "$BIN" "$LINK"
