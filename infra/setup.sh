#!/usr/bin/env bash
# Installs everything the platform needs, idempotently: npm packages, the trainer's Python
# virtualenv, llama.cpp tools, the Temporal CLI, the web build (and Chromium for tests with
# --with-browser). A second run on a set-up machine takes seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WITH_BROWSER=0
[ "${1:-}" = "--with-browser" ] && WITH_BROWSER=1
export NEXT_TELEMETRY_DISABLED=1

step() { printf '\n==> %s\n' "$*" >&2; }

# Node packages (reinstalled when package-lock.json changed).
bash infra/npm-install.sh

# The Python virtualenv downloads while the native tools compile.
step "trainer virtualenv (background)"
bash workers/trainer/setup.sh > "$ROOT/.tools-venv.log" 2>&1 &
VENV_PID=$!

step "llama.cpp tools"
bash infra/llama-cpp.sh
step "Temporal CLI"
bash infra/temporal-cli.sh
step "S3 server (versitygw)"
bash infra/versitygw.sh
step "Stripe API mock (stripe-mock)"
bash infra/stripe-mock.sh

if [ "$WITH_BROWSER" = 1 ]; then
  step "API fuzzer (schemathesis)"
  bash infra/fuzz/setup.sh
fi

if [ "$WITH_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "Chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: run 'sudo apt-get install chromium' (needed by the e2e tests)" >&2
    exit 1
  fi
fi

step "web build"
bash infra/build-web.sh

if ! wait "$VENV_PID"; then
  cat "$ROOT/.tools-venv.log" >&2
  echo "trainer virtualenv setup failed (log above)" >&2
  exit 1
fi
rm -f "$ROOT/.tools-venv.log"
step "setup complete"
