#!/usr/bin/env bash
# Builds the llama.cpp tools edgetune calls (llama-quantize, llama-bench, llama-imatrix,
# llama-tokenize, llama-perplexity) from the exact llama.cpp release node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle), once per machine, into a cache dir,
# and links <repo>/.tools/llama.cpp to it.
#
#   bash infra/llama-cpp.sh          # idempotent; a second run takes ~0 s
#
# Env: EDGETUNE_TOOLS_DIR (cache root, default ${XDG_CACHE_HOME:-$HOME/.cache}/edgetune),
#      LLAMA_CPP_BUNDLE (override the bundle path), LLAMA_CPP_JOBS (default nproc),
#      LLAMA_CPP_NATIVE (ON|OFF, default ON: tune for this CPU, which is what a benchmark pool wants),
#      LLAMA_CPP_AMX (ON|OFF, default OFF: ggml's AMX matmul segfaults on some Sapphire Rapids VMs,
#      ggml-org/llama.cpp#20824; it also is not what the x86 laptops we profile have).
# Progress goes to stderr; the last line of stdout is the built directory.
set -euo pipefail

log() { printf '[llama-cpp] %s\n' "$*" >&2; }
die() { printf '[llama-cpp] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${EDGETUNE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgetune}"
TARGETS=(llama-quantize llama-bench llama-imatrix llama-tokenize llama-perplexity)

# ---- locate the bundle node-llama-cpp ships
LLAMA_DIR=""
if [[ -n "${LLAMA_CPP_BUNDLE:-}" ]]; then
  LLAMA_DIR="$(dirname "$LLAMA_CPP_BUNDLE")"
  BUNDLE="$LLAMA_CPP_BUNDLE"
else
  for d in "$REPO/node_modules/node-llama-cpp/llama" "$REPO/workers/device-agent/node_modules/node-llama-cpp/llama"; do
    if [[ -f "$d/gitRelease.bundle" ]]; then LLAMA_DIR="$d"; break; fi
  done
  [[ -n "$LLAMA_DIR" ]] || die "node-llama-cpp's llama.cpp bundle not found under $REPO/node_modules/node-llama-cpp/llama/ — run 'npm install' at the repo root first"
  BUNDLE="$LLAMA_DIR/gitRelease.bundle"
fi
[[ -f "$BUNDLE" ]] || die "bundle not found: $BUNDLE"

TAG=""
if [[ -f "$LLAMA_DIR/llama.cpp.info.json" ]]; then
  TAG="$(sed -n 's/.*"tag"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$LLAMA_DIR/llama.cpp.info.json" | head -n1)"
fi
[[ -n "$TAG" ]] || TAG="unknown"
[[ "$TAG" =~ ^[A-Za-z0-9._-]+$ ]] || die "unexpected tag in llama.cpp.info.json: $TAG"
SUM="$(sha256sum "$BUNDLE" | cut -c1-12)"
DIR="$TOOLS/llama.cpp-$TAG-$SUM"
LINK="$REPO/.tools/llama.cpp"
NATIVE="${LLAMA_CPP_NATIVE:-ON}"
AMX="${LLAMA_CPP_AMX:-OFF}"
EXTRA_FLAGS=""
if [[ "$AMX" != "ON" && "$(uname -m)" == "x86_64" ]] && echo | ${CC:-cc} -mno-amx-int8 -E - >/dev/null 2>&1; then
  EXTRA_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
# What the stamp records: a change of build settings rebuilds.
CONFIG="Release static native=$NATIVE amx=$AMX"

link() {
  mkdir -p "$(dirname "$LINK")"
  if [[ -e "$LINK" && ! -L "$LINK" ]]; then
    die "$LINK exists and is not a symlink; move it away (LLAMA_CPP_DIR can point elsewhere)"
  fi
  if [[ "$(readlink "$LINK" 2>/dev/null || true)" != "$DIR" ]]; then
    ln -sfn "$DIR" "$LINK.tmp-$$"
    mv -Tf "$LINK.tmp-$$" "$LINK"
    log "linked $LINK -> $DIR"
  fi
}

built() {
  [[ -f "$DIR/.edgetune-built" ]] || return 1
  [[ "$(sed -n 2p "$DIR/.edgetune-built")" == "$CONFIG" ]] || return 1
  local t
  for t in "${TARGETS[@]}"; do [[ -x "$DIR/build/bin/$t" ]] || return 1; done
}

if built; then
  link
  log "up to date: $(cat "$DIR/EDGETUNE_LLAMA_CPP_VERSION")"
  echo "$DIR"
  exit 0
fi

mkdir -p "$TOOLS"
# One builder at a time per cache dir (two workers starting together must not race).
exec 9>"$TOOLS/.llama.cpp-$TAG-$SUM.lock"
if command -v flock >/dev/null && ! flock -n 9; then
  log "another build is running; waiting for it" && flock 9
fi
if built; then link; echo "$DIR"; exit 0; fi

command -v cmake >/dev/null || die "cmake not found (apt-get install cmake build-essential)"
command -v git >/dev/null || die "git not found"

START=$(date +%s)

# ---- source: clone into a temp dir, then rename, so a half-done clone never looks complete
if [[ ! -f "$DIR/CMakeLists.txt" || ! -d "$DIR/.git" ]]; then
  rm -rf "$DIR" "$DIR.clone-tmp"
  log "cloning $BUNDLE ($TAG) into $DIR"
  git -c advice.detachedHead=false clone --quiet "$BUNDLE" "$DIR.clone-tmp" >&2
  mv "$DIR.clone-tmp" "$DIR"
fi
COMMIT="$(git -C "$DIR" rev-parse HEAD)"

# ---- build. The stamp is written only after success; an interrupted build has no stamp and is
# resumed (cmake is incremental) on the next run.
rm -f "$DIR/.edgetune-built"
JOBS="${LLAMA_CPP_JOBS:-$(nproc)}"
log "configuring ($CONFIG)"
cmake -S "$DIR" -B "$DIR/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE="$NATIVE" \
  -DCMAKE_C_FLAGS="$EXTRA_FLAGS" -DCMAKE_CXX_FLAGS="$EXTRA_FLAGS" \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_TOOLS=ON >"$DIR/build.log" 2>&1 || { tail -n 30 "$DIR/build.log" >&2; die "cmake configure failed (log: $DIR/build.log)"; }
log "building ${TARGETS[*]} with -j$JOBS (log: $DIR/build.log)"
cmake --build "$DIR/build" --config Release -j"$JOBS" --target "${TARGETS[@]}" >>"$DIR/build.log" 2>&1 \
  || { tail -n 30 "$DIR/build.log" >&2; die "build failed (log: $DIR/build.log)"; }
for t in "${TARGETS[@]}"; do [[ -x "$DIR/build/bin/$t" ]] || die "build finished but $t is missing"; done

printf '%s %s\n' "$TAG" "$COMMIT" >"$DIR/EDGETUNE_LLAMA_CPP_VERSION"
printf '%s\n%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CONFIG" >"$DIR/.edgetune-built"
log "built $TAG ($COMMIT) in $(( $(date +%s) - START )) s"
link
echo "$DIR"
