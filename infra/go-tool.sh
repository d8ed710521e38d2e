#!/usr/bin/env bash
# Ensures a Go-built tool is available as <repo>/.tools/bin/<name>:
#   go-tool.sh <name> <go package> <version>
# Uses <name> from PATH when present; otherwise builds the pinned release with `go install` into
# a cache shared by every clone on this machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NAME="$1" PACKAGE="$2" VERSION="$3"
CACHE="${EDGETUNE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgetune}"
mkdir -p "$ROOT/.tools/bin"
LINK="$ROOT/.tools/bin/$NAME"

if command -v "$NAME" >/dev/null 2>&1 && [ "$(command -v "$NAME")" != "$LINK" ]; then
  ln -sfn "$(command -v "$NAME")" "$LINK"
  exit 0
fi
BIN="$CACHE/$NAME-$VERSION/$NAME"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null 2>&1 || { echo "$NAME: neither '$NAME' nor 'go' is on PATH; install Go 1.22+" >&2; exit 1; }
  echo "$NAME: building $NAME $VERSION with go install (first run only, a few minutes)..." >&2
  TMP="$CACHE/$NAME-$VERSION.tmp-$$"
  mkdir -p "$TMP"
  GOBIN="$TMP" GOFLAGS=-mod=mod go install "$PACKAGE@$VERSION"
  mkdir -p "$CACHE/$NAME-$VERSION"
  mv "$TMP/$NAME" "$BIN"
  rm -rf "$TMP"
fi
ln -sfn "$BIN" "$LINK"
